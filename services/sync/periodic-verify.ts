// The sync's own check that it works: while `sync --follow` runs, verify (services/migrate/verify.ts) runs
// every interval and what it finds becomes metrics (switchyard_sync_verify_*), so that an alert, not a
// person remembering to run `switchyard-migrate verify`, says when the two sides stopped holding the same rows.
//
// - Never two at once: the next run is scheduled `intervalMs` after the previous one ended, so a run that
//   takes longer than the interval delays the next instead of overlapping it.
// - Bounded cost: each side is read at most `rowsPerSecond` rows per second (verify reads 2,000-row keyset
//   batches; each read waits until the rows read so far fit the rate), one statement at a time, so reading
//   N rows takes about N / rowsPerSecond seconds and never more than one connection of each pool.
// - No false alarms from the sync's own lag: a row written while verify reads it is briefly different on the
//   two sides. The ids verify reports are read again, both sides at once, after `settleMs` (up to `rechecks`
//   times); only those that still differ count. Ids past verify's listing limit cannot be read again and
//   count as verify found them.
import { setTimeout as sleep } from 'node:timers/promises'
import type { DatabaseHandle } from '../db/database.ts'
import { rowChecksum, v2FieldsOfLegacyItem } from '../migrate/mapping.ts'
import { readGarmentsByLegacyIds, readLegacyByIds, type V2Row } from '../migrate/rows.ts'
import { verify, type VerifyResult } from '../migrate/verify.ts'
import type { FollowerLog } from './follower.ts'
import type { SyncMetrics, VerifyDifferenceKind } from './sync-metrics.ts'

export const DEFAULT_VERIFY_INTERVAL_S = 600
export const DEFAULT_VERIFY_ROWS_PER_SECOND = 5_000
export const DEFAULT_VERIFY_SETTLE_MS = 2_000
export const DEFAULT_VERIFY_RECHECKS = 3
const RECHECK_CHUNK = 1_000
const KINDS: VerifyDifferenceKind[] = ['missing', 'extra', 'different']

export interface PeriodicVerifyOptions {
  legacy: DatabaseHandle
  unified: DatabaseHandle
  metrics: SyncMetrics
  log: FollowerLog
  signal: AbortSignal
  /** Between the end of one run and the start of the next; the first run starts one interval after the start. */
  intervalMs: number
  /** The most rows read per second from each side. */
  rowsPerSecond?: number
  /** How long the sync is given to apply a change in flight before a differing row is read again. */
  settleMs?: number
  rechecks?: number
  /** How the run waits before a recheck (a timer by default); tests put the sync's catching up here. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>
  /** Called after each run, with what it found (null: the run failed). */
  onRun?: (outcome: VerifyOutcome | null) => void
}

export interface VerifyOutcome {
  /** The differences that remained after the rechecks. */
  found: Record<VerifyDifferenceKind, number>
  /** Ids of each kind that still differ (at most verify's listing limit). */
  ids: Record<VerifyDifferenceKind, number[]>
  /** What verify itself reported, before the rechecks. */
  first: Record<VerifyDifferenceKind, number>
  checked: number
  seconds: number
}

/** Runs verify every interval until the signal aborts. Never throws: a failed run is logged and counted. */
export async function verifyPeriodically (opts: PeriodicVerifyOptions): Promise<void> {
  while (!opts.signal.aborted) {
    await sleep(opts.intervalMs, undefined, { signal: opts.signal }).catch(() => {})
    if (opts.signal.aborted) break
    let outcome: VerifyOutcome | null = null
    try {
      outcome = await verifyOnce(opts)
    } catch (err) {
      if (opts.signal.aborted) break
      opts.metrics.verifyFailed()
      opts.log.warn({ err }, 'sync verify failed; the next run is scheduled as usual')
    }
    opts.onRun?.(outcome)
  }
}

/** One run: verify at the bounded rate, recheck what it reported, and record the result in the metrics. */
export async function verifyOnce (opts: Omit<PeriodicVerifyOptions, 'intervalMs'>): Promise<VerifyOutcome> {
  const started = performance.now()
  const rate = opts.rowsPerSecond ?? DEFAULT_VERIFY_ROWS_PER_SECOND
  const legacy = throttled(opts.legacy, rate, opts.signal)
  const unified = throttled(opts.unified, rate, opts.signal)
  const result = await verify(legacy, unified)
  const first = { ...result.counts }
  const ids = await recheck(result, legacy, unified, opts)
  const found = { missing: 0, extra: 0, different: 0 }
  for (const kind of KINDS) {
    // Ids verify counted but did not list could not be read again: they count as found.
    found[kind] = ids[kind].length + result.counts[kind] - result[kind].length
  }
  const seconds = (performance.now() - started) / 1000
  opts.metrics.verified(found, seconds, Date.now())
  const outcome = { found, ids, first, checked: result.checked, seconds }
  const summary = { ...found, checked: result.checked, seconds: Number(seconds.toFixed(3)) }
  if (found.missing + found.extra + found.different === 0) {
    opts.log.info({ ...summary, settled: first.missing + first.extra + first.different }, 'sync verify: both sides hold the same rows')
  } else {
    opts.log.error({ ...summary, ids: Object.fromEntries(KINDS.map((k) => [k, ids[k].slice(0, 20)])) },
      'sync verify found rows that differ between legacy and unified (see switchyard-migrate verify)')
  }
  return outcome
}

async function recheck (result: VerifyResult, legacy: DatabaseHandle, unified: DatabaseHandle, opts: Omit<PeriodicVerifyOptions, 'intervalMs'>): Promise<Record<VerifyDifferenceKind, number[]>> {
  let pending = [...new Set([...result.missing, ...result.extra, ...result.different])].sort((a, b) => a - b)
  let ids: Record<VerifyDifferenceKind, number[]> = { missing: [...result.missing], extra: [...result.extra], different: [...result.different] }
  const rechecks = opts.rechecks ?? DEFAULT_VERIFY_RECHECKS
  for (let i = 0; i < rechecks && pending.length > 0; i++) {
    await (opts.wait ?? waitFor)(opts.settleMs ?? DEFAULT_VERIFY_SETTLE_MS, opts.signal)
    ids = { missing: [], extra: [], different: [] }
    for (let at = 0; at < pending.length; at += RECHECK_CHUNK) {
      const chunk = pending.slice(at, at + RECHECK_CHUNK)
      const [left, right] = await Promise.all([readLegacyByIds(legacy, chunk), readGarmentsByLegacyIds(unified, chunk)])
      const legacyRows = new Map(left.map((r): [number, V2Row] => [r.id, { fields: v2FieldsOfLegacyItem(r), embedding: r.embedding }]))
      const unifiedRows = new Map(right.map((r): [number, V2Row] => [r.fields.id, r]))
      for (const id of chunk) {
        const a = legacyRows.get(id)
        const b = unifiedRows.get(id)
        if (a !== undefined && b === undefined) ids.missing.push(id)
        else if (a === undefined && b !== undefined) ids.extra.push(id)
        else if (a !== undefined && b !== undefined && rowChecksum(a.fields, a.embedding) !== rowChecksum(b.fields, b.embedding)) ids.different.push(id)
      }
    }
    pending = [...ids.missing, ...ids.extra, ...ids.different].sort((a, b) => a - b)
  }
  return ids
}

async function waitFor (ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal })
}

/**
 * The same database, with its reads spaced out so that no more than `rowsPerSecond` rows are read per second
 * since the run began. Verify only reads; the handle is not the run's to close.
 */
function throttled (db: DatabaseHandle, rowsPerSecond: number, signal: AbortSignal): DatabaseHandle {
  const started = performance.now()
  let rows = 0
  return {
    db: db.db,
    kind: db.kind,
    async query<T = Record<string, unknown>> (text: string, params?: unknown[]): Promise<T[]> {
      signal.throwIfAborted()
      const wait = started + (rows / rowsPerSecond) * 1000 - performance.now()
      if (wait > 0) await sleep(wait, undefined, { signal })
      const result = await db.query<T>(text, params)
      rows += result.length
      return result
    },
    transaction: (fn) => db.transaction(fn),
    copyFrom: (sql, source) => db.copyFrom(sql, source),
    close: async () => {}
  }
}
