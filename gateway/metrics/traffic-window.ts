// Per-route request counts, error counts and latency histograms of each backend over a sliding window of
// one-second slots: the admin API's "traffic share over the last minute", and what the rollback rules read.
// Memory is fixed by the window's length and the number of routes. The clock is injected so tests need no
// sleeps.
import type { BackendId } from '../config/schema.ts'
import { SlotCounters } from './slot-counters.ts'

export interface WindowTotals { legacy: number, new: number, legacyErrors: number, newErrors: number }

/** Upper bounds of the latency buckets, in seconds: about 1.5x apart, from 0.5 ms to a minute. */
export const LATENCY_BOUNDS = [
  0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,
  0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60
]
const BUCKETS = LATENCY_BOUNDS.length + 1 // the last one is everything above a minute
const COUNTS = 4 // legacy, new, legacy errors, new errors
/** The counters of one route's second: legacy, new, legacy errors, new errors, then each backend's latency buckets. */
export const SLOT_WIDTH = COUNTS + 2 * BUCKETS

/** Counts one answer into the slot of `values` that starts at `base`. */
export function countInto (values: Uint32Array | Float64Array, base: number, backend: BackendId, error: boolean, latency?: number): void {
  const b = backend === 'legacy' ? 0 : 1
  values[base + b]!++
  if (error) values[base + 2 + b]!++
  if (latency !== undefined) values[base + COUNTS + b * BUCKETS + bucketOf(latency)]!++
}

export type Tap = (route: string, nowMs: number, backend: BackendId, error: boolean, latency?: number) => void

/** One route: its window of slots, and its requests since the start. */
interface Ring { slots: SlotCounters, total: { legacy: number, new: number } }

export class TrafficWindow {
  readonly seconds: number
  readonly #now: () => number
  readonly #rings = new Map<string, Ring>()

  readonly #tap: Tap | undefined

  /** `tap` is told of every answer as well, with the time it was counted at (with REDIS_URL: the counters shared with the other replicas). */
  constructor (opts: { seconds?: number, now?: () => number, tap?: Tap } = {}) {
    this.seconds = opts.seconds ?? 60
    this.#now = opts.now ?? Date.now
    this.#tap = opts.tap
  }

  /** `latency` in seconds; an error is a 5xx answer or an upstream failure. */
  record (route: string, backend: BackendId, error: boolean, latency?: number): void {
    const ring = this.#ring(route)
    ring.total[backend]++
    const now = this.#now()
    countInto(ring.slots.values, ring.slots.current(now), backend, error, latency)
    this.#tap?.(route, now, backend, error, latency)
  }

  /**
   * Adds whole counters to the second that starts at `atMs` (index k of `counts` to counter k of the slot
   * layout), and to the cumulative requests: how every replica's counters are summed into one window.
   */
  add (route: string, atMs: number, counts: ArrayLike<number>): void {
    const ring = this.#ring(route)
    const base = ring.slots.current(atMs)
    const values = ring.slots.values
    for (let k = 0; k < SLOT_WIDTH && k < counts.length; k++) values[base + k]! += counts[k]!
  }

  /** Sets the cumulative requests of a route (every replica's, summed elsewhere). */
  setCumulative (route: string, total: { legacy: number, new: number }): void {
    this.#ring(route).total = { ...total }
  }

  #ring (route: string): Ring {
    let ring = this.#rings.get(route)
    if (ring === undefined) {
      ring = { slots: new SlotCounters(this.seconds, SLOT_WIDTH), total: { legacy: 0, new: 0 } }
      this.#rings.set(route, ring)
    }
    return ring
  }

  /** Requests each backend has answered on a route since the start: what a step plan counts. */
  cumulative (route: string): { legacy: number, new: number } {
    return { ...(this.#rings.get(route)?.total ?? { legacy: 0, new: 0 }) }
  }

  /** Over the last `seconds` (the whole window by default), the current second included. */
  totals (route: string, seconds = this.seconds): WindowTotals {
    const t: WindowTotals = { legacy: 0, new: 0, legacyErrors: 0, newErrors: 0 }
    this.#each(route, seconds, (values, base) => {
      t.legacy += values[base]!
      t.new += values[base + 1]!
      t.legacyErrors += values[base + 2]!
      t.newErrors += values[base + 3]!
    })
    return t
  }

  /** The latency histogram of a backend over the last `seconds`: counts per bucket of LATENCY_BOUNDS. */
  latencies (route: string, backend: BackendId, seconds = this.seconds): number[] {
    const counts = new Array<number>(BUCKETS).fill(0)
    const offset = COUNTS + (backend === 'legacy' ? 0 : BUCKETS)
    this.#each(route, seconds, (values, base) => {
      for (let k = 0; k < BUCKETS; k++) counts[k]! += values[base + offset + k]!
    })
    return counts
  }

  #each (route: string, seconds: number, fn: (values: Uint32Array, base: number) => void): void {
    const ring = this.#rings.get(route)
    if (ring === undefined) return
    ring.slots.each(this.#now(), seconds, (base) => fn(ring.slots.values, base))
  }
}

function bucketOf (seconds: number): number {
  let lo = 0
  let hi = LATENCY_BOUNDS.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (seconds <= LATENCY_BOUNDS[mid]!) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * The q-quantile (0 < q < 1) of a histogram from `latencies`, interpolated linearly inside its bucket as
 * Prometheus's histogram_quantile does; null for an empty histogram. Above the last bound it is the bound.
 */
export function latencyQuantile (counts: readonly number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0)
  if (total === 0) return null
  const rank = q * total
  let seen = 0
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k]!
    if (seen + c >= rank && c > 0) {
      if (k >= LATENCY_BOUNDS.length) return LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1]!
      const lower = k === 0 ? 0 : LATENCY_BOUNDS[k - 1]!
      return lower + (LATENCY_BOUNDS[k]! - lower) * ((rank - seen) / c)
    }
    seen += c
  }
  return LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1]!
}
