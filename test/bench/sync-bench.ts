// The two-way sync on real Postgres: two fresh databases on the server (legacy and unified), a small
// catalogue seeded and backfilled, and the follower in this process. It measures:
// - throughput in each direction: with the follower stopped, bulk inserts and then bulk updates of distinct
//   rows on one side; then the follower starts and is timed until its position covers the last change;
// - end-to-end lag under a steady load of writes on both sides (sync-load.ts);
// - catch-up: the same load goes on while the follower is stopped for an outage, then it is timed from its
//   restart until both directions' lag (the age of the oldest change not yet applied) is under a second.
// Finally the load stops, the sync applies the rest, and verify compares the two sides. The databases are
// dropped at the end, whatever happened; opts.signal (Ctrl-C in data-bench.ts) ends the run early.
import { cpus, loadavg } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { Registry } from 'prom-client'
import { connectPostgres, type DatabaseHandle } from '../../services/db/database.ts'
import { migrateUp } from '../../services/db/migrate.ts'
import { loadLegacyCatalogue } from '../../services/catalogue/load.ts'
import { backfill } from '../../services/migrate/backfill.ts'
import { TemplateStoryGenerator } from '../../services/migrate/story.ts'
import { verify } from '../../services/migrate/verify.ts'
import { lagSeconds, readPosition, type Position, type Side } from '../../services/sync/changes.ts'
import { directionsBetween } from '../../services/sync/directions.ts'
import { DEFAULT_BATCH, follow } from '../../services/sync/follower.ts'
import type { Direction } from '../../services/sync/sync-batch.ts'
import { SyncMetrics } from '../../services/sync/sync-metrics.ts'
import { SteadyLoad, type LoadResult } from './sync-load.ts'

export interface SyncBenchOptions {
  /** Catalogue items seeded on legacy and backfilled. */
  items: number
  /** Per direction: this many inserts, then this many updates (each of a different row). */
  changes: number
  /** Writes per second of the steady load, both sides together. */
  rate: number
  /** How long the steady load runs for the lag figures. */
  steadySeconds: number
  /** How long the follower is stopped while the load goes on. */
  outageSeconds: number
  print?: (line: string) => void
  signal?: AbortSignal
}

type Sizes = Omit<SyncBenchOptions, 'print' | 'signal'>
export const DEFAULT_SYNC_BENCH: Readonly<Sizes> = Object.freeze({ items: 2_000, changes: 10_000, rate: 500, steadySeconds: 30, outageSeconds: 60 })
export const QUICK_SYNC_BENCH: Readonly<Sizes> = Object.freeze({ items: 1_000, changes: 2_000, rate: 500, steadySeconds: 5, outageSeconds: 5 })

const BULK_CHUNK = 1_000
const LAG_TARGET_S = 1
/** Load before the follower stops, and after it has caught up, in the outage phase. */
const AROUND_OUTAGE_MS = 5_000
/** How long the sync may take to apply what is left once the load has stopped. */
const SETTLE_MS = 600_000
const quiet = { info () {}, warn () {}, error () {} }

interface Bench {
  opts: SyncBenchOptions
  print: (line: string) => void
  wait: (ms: number) => Promise<void>
  legacy: DatabaseHandle
  unified: DatabaseHandle
  /** The directions over the follower's own pools. */
  sync: Direction[]
  /** The same directions over the bench's pools, to read positions and lag. */
  watch: Direction[]
  follower?: Follower | undefined
  load?: SteadyLoad | undefined
  results: Record<string, number>
}

export async function runSyncBench (adminUrl: string, opts: SyncBenchOptions): Promise<Record<string, number>> {
  for (const key of ['items', 'changes', 'rate', 'steadySeconds', 'outageSeconds'] as const) {
    if (!Number.isFinite(opts[key]) || opts[key] <= 0) throw new RangeError(`sync bench: ${key} must be a positive number, got ${opts[key]}`)
  }
  const print = opts.print ?? console.log
  const stamp = Date.now()
  const names: Record<Side, string> = { legacy: `sy_sync_legacy_${stamp}`, unified: `sy_sync_unified_${stamp}` }
  const server = await connectPostgres(adminUrl, { max: 1 })
  const handles: DatabaseHandle[] = []
  const open = async (side: Side, role: string) => {
    const url = new URL(adminUrl)
    url.pathname = `/${names[side]}`
    const h = await connectPostgres(url.toString(), { max: 10, applicationName: `sync-bench ${role}` })
    handles.push(h)
    return h
  }
  let b: Bench | undefined
  try {
    for (const name of Object.values(names)) await server.query(`CREATE DATABASE ${name}`)
    const legacy = await open('legacy', 'writes')
    const unified = await open('unified', 'writes')
    // The follower has pools of its own, as it would in its own process.
    const sync = directionsBetween(await open('legacy', 'follower'), await open('unified', 'follower'))
    b = { opts, print, wait: (ms) => sleep(ms, undefined, { signal: opts.signal }), legacy, unified, sync, watch: directionsBetween(legacy, unified), results: {} }
    await migrateUp(legacy, 'legacy')
    await migrateUp(unified, 'unified')
    await loadLegacyCatalogue(legacy, { seed: 20240501, count: opts.items })
    await backfill(legacy, unified, { stories: new TemplateStoryGenerator() })
    const cpu = cpus()
    print(`sync: legacy and unified in two databases on the same server, the follower in this process (batches of ${DEFAULT_BATCH}), ` +
      `${opts.items.toLocaleString('en')} items backfilled; ${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}) shared by Postgres, the follower ` +
      `and the load, load average ${loadavg()[0]!.toFixed(1)} at the start`)
    await throughput(b)
    await steadyLag(b)
    await outage(b)
    await stopFollower(b)
    await compareSides(b)
    return b.results
  } finally {
    await b?.load?.close().catch(() => {})
    await b?.follower?.stop().catch(() => {})
    await Promise.all(handles.map((h) => h.close().catch(() => {})))
    for (const name of Object.values(names)) {
      await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err: Error) => print(`could not drop the database ${name} (${err.message}): drop it by hand`))
    }
    await server.close()
  }
}

async function throughput (b: Bench): Promise<void> {
  const { changes } = b.opts
  for (const kind of ['inserts', 'updates'] as const) {
    for (const [i, side] of (['legacy', 'unified'] as const).entries()) {
      const dir = b.watch[i]!
      if (kind === 'inserts') await bulkInsert(dir.source, side, changes, b.opts.items)
      else await bulkUpdate(dir.source, side, changes)
      const head = await lastChange(dir.source, side)
      const started = performance.now()
      b.follower = startFollower(b.sync)
      await untilPosition(b, dir, head)
      const seconds = (performance.now() - started) / 1000
      await stopFollower(b)
      const rate = Math.round(changes / seconds)
      b.results[`sync_${kind}_${dir.name}_rows_per_s`] = rate
      b.print(`sync throughput, ${changes.toLocaleString('en')} ${kind} on ${side}, ${dir.from} → ${dir.to}: ${seconds.toFixed(1)} s ` +
        `(${rate.toLocaleString('en')} rows/s)  (target: well over ${Math.round(b.opts.rate / 2)} rows/s, the steady load's rate each way)`)
    }
  }
}

async function steadyLag (b: Bench): Promise<void> {
  b.follower = startFollower(b.sync)
  await b.wait(1_000)
  b.load = await newLoad(b)
  b.load.start()
  await b.wait(b.opts.steadySeconds * 1000)
  await b.load.stop()
  await settle(b)
  const r = await b.load.drain(5_000)
  const lags = r.samples.map((x) => x.lagMs)
  const [p50, p99, max] = [quantile(lags, 0.5), quantile(lags, 0.99), quantile(lags, 1)]
  Object.assign(b.results, { sync_lag_p50_ms: Math.round(p50), sync_lag_p99_ms: Math.round(p99), sync_lag_max_ms: Math.round(max), sync_write_rate: Math.round(r.writes / r.seconds) })
  b.print(`sync lag end to end under ${b.opts.rate} writes/s for ${b.opts.steadySeconds} s (both sides, 1 in 4 an insert): p50 ${ms(p50)}, p99 ${ms(p99)}, ` +
    `max ${ms(max)} over ${r.writes.toLocaleString('en')} writes at ${Math.round(r.writes / r.seconds)} writes/s${problems(r)}  (target: p99 < 1 s)`)
}

async function outage (b: Bench): Promise<void> {
  const { outageSeconds, rate } = b.opts
  b.load = await newLoad(b)
  b.load.start()
  await b.wait(AROUND_OUTAGE_MS)
  await stopFollower(b)
  await b.wait(outageSeconds * 1000)
  const backlog = await Promise.all(b.watch.map((d) => pending(d)))
  const restarted = performance.now()
  b.follower = startFollower(b.sync)
  const limitS = Math.max(120, outageSeconds * 5)
  const { at: caughtUp, lags } = await untilLagUnder(b, LAG_TARGET_S, limitS * 1000)
  if (caughtUp !== null) await b.wait(AROUND_OUTAGE_MS)
  await b.load.stop()
  const stopped = performance.now()
  await settle(b)
  const settleSeconds = (performance.now() - stopped) / 1000
  const r = await b.load.drain(5_000)
  const after = caughtUp === null ? [] : r.samples.filter((x) => x.ackAt > caughtUp).map((x) => x.lagMs)
  const catchUp = caughtUp === null ? Infinity : (caughtUp - restarted) / 1000
  Object.assign(b.results, {
    sync_outage_s: outageSeconds,
    sync_catchup_s: Number(catchUp.toFixed(1)),
    sync_catchup_backlog: backlog[0]! + backlog[1]!,
    sync_outage_write_rate: Math.round(r.writes / r.seconds),
    sync_after_catchup_p99_ms: Math.round(quantile(after, 0.99)),
    sync_settle_s: Number(settleSeconds.toFixed(1))
  })
  const outcome = caughtUp === null
    ? `not within ${limitS} s (lag then ${lags.map((l) => `${l.toFixed(1)} s`).join(' / ')})`
    : `${catchUp.toFixed(1)} s until the lag is under ${LAG_TARGET_S} s both ways, p99 lag of the writes after it ${ms(quantile(after, 0.99))}`
  b.print(`sync catch-up after a ${outageSeconds} s outage under ${rate} writes/s: ${outcome} (backlog at the restart ${backlog[0]!.toLocaleString('en')} + ` +
    `${backlog[1]!.toLocaleString('en')} changes, ${Math.round(r.writes / r.seconds)} writes/s; once the load stopped the rest took ${settleSeconds.toFixed(1)} s)${problems(r)}`)
}

async function compareSides (b: Bench): Promise<void> {
  const v = await verify(b.legacy, b.unified)
  b.results.sync_verify_ok = v.ok ? 1 : 0
  const first = (kind: 'missing' | 'extra' | 'different') => v[kind].length > 0 ? `; ${kind}: ${v[kind].slice(0, 5).join(', ')}${v.counts[kind] > 5 ? '…' : ''}` : ''
  b.print(`verify after the sync: ${v.ok ? 'both sides hold the same' : 'MISMATCH in'} ${v.legacyRows.toLocaleString('en')} / ${v.unifiedRows.toLocaleString('en')} rows` +
    `${v.ok ? '' : ` (${JSON.stringify(v.counts)}${first('missing')}${first('extra')}${first('different')})`}  (target: the same)`)
}

interface Follower {
  stop (): Promise<void>
  /** Failed batches and parked changes, as the follower logged them. */
  problems: string[]
}

function startFollower (directions: Direction[]): Follower {
  const abort = new AbortController()
  const problems: string[] = []
  const note = (o: object, msg: string) => { problems.push(`${msg} ${JSON.stringify(o)}`) }
  // A registry per start: the lag gauge must not show a value left from before a restart.
  const running = follow({ directions, stories: new TemplateStoryGenerator(), metrics: new SyncMetrics(new Registry()), log: { ...quiet, warn: note, error: note }, signal: abort.signal })
  return { problems, async stop () { abort.abort(); await running } }
}

/** The figures would not be the sync's if a batch failed or a change was parked. */
async function stopFollower (b: Bench): Promise<void> {
  const f = b.follower
  b.follower = undefined
  await f?.stop()
  if (f !== undefined && f.problems.length > 0) throw new Error(`the follower reported ${f.problems.length} problems, the first: ${f.problems[0]}`)
}

async function newLoad (b: Bench): Promise<SteadyLoad> {
  // Split by parity, so the two sides' updates never touch the same row; inserts copy catalogue rows.
  const ids = (await b.legacy.query<{ id: string }>('SELECT id FROM legacy.items ORDER BY id')).map((r) => Number(r.id))
  const templateIds = Array.from({ length: b.opts.items }, (_, i) => i + 1)
  return new SteadyLoad([
    { side: 'legacy', writer: b.legacy, peer: b.unified, updateIds: ids.filter((id) => id % 2 === 0), templateIds },
    { side: 'unified', writer: b.unified, peer: b.legacy, updateIds: ids.filter((id) => id % 2 === 1), templateIds }
  ], { rate: b.opts.rate, runId: `${Date.now()}` })
}

/** n new rows on one side, copying the other columns of the catalogue's rows, in chunks of BULK_CHUNK. */
async function bulkInsert (db: DatabaseHandle, side: Side, n: number, items: number): Promise<void> {
  for (let done = 0; done < n; done += BULK_CHUNK) {
    const count = Math.min(BULK_CHUNK, n - done)
    if (side === 'legacy') {
      await db.query(`INSERT INTO legacy.items (depop_id, seller_id, title, description, category, condition, size, brand, price, image_url, listing_url, embedding)
        SELECT 'sync-bench-' || $1::text || '-' || g, i.seller_id, i.title, i.description, i.category, i.condition, i.size, i.brand, i.price,
          i.image_url, i.listing_url, i.embedding
        FROM generate_series(1, $2::int) g JOIN legacy.items i ON i.id = 1 + (g + $1::int) % $3::int`, [done, count, items])
    } else {
      await db.query(`INSERT INTO unified.garments (title, description, category, condition, size, brand, story, price, embedding)
        SELECT i.title, i.description, i.category, i.condition, i.size, i.brand, i.story, i.price, i.embedding
        FROM generate_series(1, $2::int) g JOIN unified.garments i ON i.legacy_id = 1 + (g + $1::int) % $3::int`, [done, count, items])
    }
  }
}

/** Updates the first n rows by id, each once, in chunks of BULK_CHUNK. */
async function bulkUpdate (db: DatabaseHandle, side: Side, n: number): Promise<void> {
  const [table, key] = side === 'legacy' ? ['legacy.items', 'id'] : ['unified.garments', 'legacy_id']
  const ids = (await db.query<{ id: string }>(`SELECT ${key} AS id FROM ${table} ORDER BY ${key} LIMIT $1`, [n])).map((r) => r.id)
  if (ids.length < n) throw new Error(`${table} has ${ids.length} rows, fewer than the ${n} to update`)
  for (let i = 0; i < ids.length; i += BULK_CHUNK) {
    await db.query(`UPDATE ${table} SET title = title || '.', updated_at = now() WHERE ${key} = ANY($1::bigint[])`, [ids.slice(i, i + BULK_CHUNK)])
  }
}

async function lastChange (db: DatabaseHandle, side: Side): Promise<Position | null> {
  const [row] = await db.query<{ xid: string, seq: string }>(`SELECT xid::text AS xid, seq::text AS seq FROM ${side}.sync_changes
    ORDER BY sync_changes.xid DESC, sync_changes.seq DESC LIMIT 1`)
  return row === undefined ? null : { xid: row.xid, seq: Number(row.seq) }
}

async function untilPosition (b: Bench, dir: Direction, head: Position | null, timeoutMs = SETTLE_MS): Promise<void> {
  if (head === null) return
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const p = await readPosition(dir.target, dir.to, dir.name)
    if (BigInt(p.xid) > BigInt(head.xid) || (p.xid === head.xid && p.seq >= head.seq)) return
    if (performance.now() > deadline) throw new Error(`${dir.name} did not catch up within ${timeoutMs / 1000} s`)
    await b.wait(10)
  }
}

/** Waits until the follower has applied every change made so far, in both directions. */
async function settle (b: Bench): Promise<void> {
  const heads = await Promise.all(b.watch.map((d) => lastChange(d.source, d.from)))
  await Promise.all(b.watch.map((d, i) => untilPosition(b, d, heads[i]!)))
}

/**
 * When both directions' lag was first under the limit (the start of the reading that showed it), or null
 * with the last lags read if that did not happen within timeoutMs.
 */
async function untilLagUnder (b: Bench, seconds: number, timeoutMs: number): Promise<{ at: number | null, lags: number[] }> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const at = performance.now()
    const lags = await currentLags(b)
    if (lags.every((l) => l < seconds)) return { at, lags }
    if (at > deadline) return { at: null, lags }
    await b.wait(100)
  }
}

/** The lag as the follower's gauge and `sync status` define it, read from the databases. */
function currentLags (b: Bench): Promise<number[]> {
  return Promise.all(b.watch.map(async (d) => lagSeconds(d.source, d.from, await readPosition(d.target, d.to, d.name))))
}

async function pending (d: Direction): Promise<number> {
  const p = await readPosition(d.target, d.to, d.name)
  const [row] = await d.source.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${d.from}.sync_changes WHERE (xid, seq) > ($1::xid8, $2::bigint)`, [p.xid, p.seq])
  return row?.n ?? 0
}

function problems (r: LoadResult): string {
  const notes = []
  if (r.failed > 0) notes.push(`${r.failed} writes failed (${r.firstError ?? ''})`)
  else if (r.firstError !== null) notes.push(r.firstError)
  if (r.unseen > 0) notes.push(`${r.unseen} writes never arrived`)
  if (r.superseded > 0) notes.push(`${r.superseded} writes superseded before they arrived`)
  return notes.length > 0 ? ` [${notes.join('; ')}]` : ''
}

const ms = (x: number) => Number.isNaN(x) ? 'n/a' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`
const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, c) => a - c); return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]! }
