// sync --follow: both directions, each in its own loop, until stopped. A batch that fails (a database
// unreachable, a lost connection) is retried with exponential backoff; nothing is lost because the position
// only moves with a committed batch. Parked changes are reported loudly: in the log, the metrics and status.
import { setTimeout as sleep } from 'node:timers/promises'
import type { StoryGenerator } from '../migrate/story.ts'
import { lagSeconds, pruneChanges, readPosition, recordError, recordRate } from './changes.ts'
import { syncBatch, type Direction } from './sync-batch.ts'
import type { SyncMetrics } from './sync-metrics.ts'

export const DEFAULT_BATCH = 500
export const DEFAULT_IDLE_MS = 100
export const DEFAULT_MAX_BACKOFF_MS = 5_000
const PRUNE_EVERY = 20
/** The rate `sync status` shows is over this window, written to the target about once a second. */
export const RATE_WINDOW_S = 10
const RATE_EVERY_MS = 1_000

export interface FollowerLog {
  info (o: object, msg: string): void
  warn (o: object, msg: string): void
  error (o: object, msg: string): void
}

export interface FollowOptions {
  directions: Direction[]
  stories: StoryGenerator
  metrics: SyncMetrics
  log: FollowerLog
  signal: AbortSignal
  batchSize?: number
  idleMs?: number
  maxBackoffMs?: number
}

export async function follow (opts: FollowOptions): Promise<void> {
  await Promise.all(opts.directions.map((d) => followOne(d, opts)))
}

async function followOne (dir: Direction, opts: FollowOptions): Promise<void> {
  const idle = opts.idleMs ?? DEFAULT_IDLE_MS
  const maxBackoff = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS
  let backoff = idle
  let batches = 0
  let failing = false
  let lastLag = 0
  let lastSuccess = Date.now()
  const rate = new RateWindow(RATE_WINDOW_S, Date.now())
  let rateWritten = { at: 0, value: -1 }
  while (!opts.signal.aborted) {
    try {
      const r = await syncBatch(dir, { limit: opts.batchSize ?? DEFAULT_BATCH, stories: opts.stories })
      opts.metrics.record(dir.name, r.outcomes, r.applied, r.parked.length)
      rate.add(Date.now(), r.applied)
      const now = Date.now()
      if (now - rateWritten.at >= RATE_EVERY_MS) {
        const value = rate.perSecond(now)
        // Written while it changes, and every few seconds even when steady, so that status can tell a
        // running follower from one whose last figure is stale.
        if (value !== rateWritten.value || now - rateWritten.at >= RATE_WINDOW_S * 500) {
          rateWritten = { at: now, value }
          await recordRate(dir.target, dir.to, dir.name, value)
        }
      }
      for (const p of r.parked) opts.log.error({ direction: dir.name, rowId: p.rowId, reason: p.reason }, 'sync parked a change it could not apply (see sync status, then sync replay)')
      if (failing) opts.log.info({ direction: dir.name }, 'sync recovered')
      failing = false
      backoff = idle
      lastLag = await lagSeconds(dir.source, dir.from, r.position)
      lastSuccess = Date.now()
      opts.metrics.setLag(dir.name, lastLag)
      if (++batches % PRUNE_EVERY === 0) await pruneChanges(dir.source, dir.from, await readPosition(dir.target, dir.to, dir.name))
      if (r.changes === 0) await sleep(idle, undefined, { signal: opts.signal }).catch(() => {})
    } catch (err) {
      if (opts.signal.aborted) break
      failing = true
      opts.metrics.errors.inc({ direction: dir.name })
      opts.metrics.lastError.set({ direction: dir.name }, Date.now() / 1000)
      const measured = await lagWhileFailing(dir)
      if (measured === null) opts.metrics.setLagGrowing(dir.name, lastLag, lastSuccess)
      else opts.metrics.setLagGrowing(dir.name, measured, Date.now())
      const message = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`
      opts.log.warn({ direction: dir.name, err, retryInMs: backoff }, 'sync batch failed; retrying')
      await recordError(dir.target, dir.to, dir.name, message).catch(() => {})
      await sleep(backoff, undefined, { signal: opts.signal }).catch(() => {})
      backoff = Math.min(backoff * 2, maxBackoff)
    }
  }
}

// The lag while batches fail, from the databases; null when either is the one that is down (the lag is
// then counted from the last success). Never throws: this runs on the error path, which must go on retrying.
async function lagWhileFailing (dir: Direction): Promise<number | null> {
  try {
    return await lagSeconds(dir.source, dir.from, await readPosition(dir.target, dir.to, dir.name))
  } catch {
    return null
  }
}

/** Rows applied per second over the last `seconds`, in one-second buckets: bounded, whatever the batch rate. */
export class RateWindow {
  private readonly buckets: number[]
  private readonly stamps: number[]

  constructor (private readonly seconds: number, private readonly startedAt: number) {
    this.buckets = new Array<number>(seconds).fill(0)
    this.stamps = new Array<number>(seconds).fill(-1)
  }

  add (at: number, rows: number): void {
    const second = Math.floor(at / 1000)
    const i = second % this.seconds
    if (this.stamps[i] !== second) {
      this.stamps[i] = second
      this.buckets[i] = 0
    }
    this.buckets[i]! += rows
  }

  perSecond (now: number): number {
    const second = Math.floor(now / 1000)
    let rows = 0
    for (let i = 0; i < this.seconds; i++) {
      if (this.stamps[i]! > second - this.seconds) rows += this.buckets[i]!
    }
    // A follower that started less than a window ago is measured over the time it has run.
    const span = Math.min(this.seconds, Math.max(1, (now - this.startedAt) / 1000))
    return Math.round(rows / span)
  }
}
