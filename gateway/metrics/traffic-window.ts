// Per-route request and error counts over a sliding window of one-second buckets, for the admin API's
// "traffic share over the last minute". The clock is injected so tests need no sleeps.
import type { BackendId } from '../config/schema.ts'

export interface WindowTotals { legacy: number, new: number, legacyErrors: number, newErrors: number }

const SLOTS = 4 // legacy, new, legacy errors, new errors

export class TrafficWindow {
  readonly #seconds: number
  readonly #now: () => number
  readonly #counts = new Map<string, { stamps: Float64Array, values: Uint32Array }>()

  constructor (opts: { seconds?: number, now?: () => number } = {}) {
    this.#seconds = opts.seconds ?? 60
    this.#now = opts.now ?? Date.now
  }

  record (route: string, backend: BackendId, error: boolean): void {
    let ring = this.#counts.get(route)
    if (ring === undefined) {
      ring = { stamps: new Float64Array(this.#seconds).fill(-1), values: new Uint32Array(this.#seconds * SLOTS) }
      this.#counts.set(route, ring)
    }
    const second = Math.floor(this.#now() / 1000)
    const i = second % this.#seconds
    if (ring.stamps[i] !== second) {
      ring.stamps[i] = second
      ring.values.fill(0, i * SLOTS, i * SLOTS + SLOTS)
    }
    const base = i * SLOTS + (backend === 'legacy' ? 0 : 1)
    ring.values[base] = ring.values[base]! + 1
    if (error) ring.values[base + 2] = ring.values[base + 2]! + 1
  }

  totals (route: string): WindowTotals {
    const t: WindowTotals = { legacy: 0, new: 0, legacyErrors: 0, newErrors: 0 }
    const ring = this.#counts.get(route)
    if (ring === undefined) return t
    const now = Math.floor(this.#now() / 1000)
    for (let i = 0; i < this.#seconds; i++) {
      const stamp = ring.stamps[i]!
      if (stamp < 0 || now - stamp >= this.#seconds) continue
      const b = i * SLOTS
      t.legacy += ring.values[b]!
      t.new += ring.values[b + 1]!
      t.legacyErrors += ring.values[b + 2]!
      t.newErrors += ring.values[b + 3]!
    }
    return t
  }
}
