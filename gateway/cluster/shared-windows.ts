// The rules' windows summed over every replica. Each replica counts its answers (and shadow comparisons) in
// per-second buckets, and every flush_interval_ms adds what it counted since the last flush to Redis: one
// hash per route and second (field k is counter k of the traffic window's slot layout; "c" and "m" are
// shadow comparisons and mismatches), expiring a minute after the window, and one hash per route of
// cumulative requests. The evaluating replica reads the window back before each evaluation: seconds older
// than a few flushes are final and kept, so each evaluation reads only the newest seconds again.
// While Redis is away the rules read this replica's own windows, and what could not be flushed is dropped
// once it has left the window: memory stays bounded.
import { SlotCounters } from '../metrics/slot-counters.ts'
import { countInto, SLOT_WIDTH, TrafficWindow } from '../metrics/traffic-window.ts'
import type { BackendId } from '../config/schema.ts'
import type { RuleWindows, ShadowWindows } from '../rules/rule-evaluator.ts'
import type { RedisLink } from './redis-link.ts'

const COMPARED = SLOT_WIDTH
const MISMATCHED = SLOT_WIDTH + 1
const WIDTH = SLOT_WIDTH + 2
/** Seconds after which every replica has flushed a second (flushes are well under a second apart). */
const SETTLED_SECONDS = 5

export interface SharedWindowsOptions {
  link: RedisLink
  routes: readonly string[]
  /** The longest window any reader needs, in seconds. */
  seconds: number
  now?: () => number
}

interface LocalWindows { traffic: RuleWindows, shadow: ShadowWindows | null }
const NO_WINDOWS: LocalWindows = {
  traffic: { totals: () => ({ legacy: 0, new: 0, legacyErrors: 0, newErrors: 0 }), latencies: () => [] },
  shadow: null
}

interface Snapshot {
  traffic: TrafficWindow
  shadow: Map<string, SlotCounters>
  cumulative: Map<string, { legacy: number, new: number }>
}

export class SharedWindows {
  readonly #o: SharedWindowsOptions
  readonly #now: () => number
  /** Counted here and not yet flushed: route → second → counters. */
  #pending = new Map<string, Map<number, Float64Array>>()
  /** Settled seconds already read: "route\0second" → counters (null: nothing was counted). */
  readonly #settled = new Map<string, Float64Array | null>()
  #snapshot: Snapshot | null = null
  #flushing: Promise<void> | null = null
  #local: LocalWindows = NO_WINDOWS

  constructor (opts: SharedWindowsOptions) {
    this.#o = opts
    this.#now = opts.now ?? Date.now
  }

  /** This replica's own windows: what the rules read while Redis is away. */
  readLocally (local: LocalWindows): void {
    this.#local = local
  }

  /** The traffic window's tap: one answer of this replica. */
  record (route: string, nowMs: number, backend: BackendId, error: boolean, latency?: number): void {
    countInto(this.#slot(route, nowMs), 0, backend, error, latency)
  }

  /** One shadow comparison of this replica. */
  recordComparison (route: string, mismatched: boolean): void {
    const slot = this.#slot(route, this.#now())
    slot[COMPARED]!++
    if (mismatched) slot[MISMATCHED]!++
  }

  /** Adds what was counted since the last flush to Redis; on failure keeps it (within the window) for the next. */
  flush (): Promise<void> {
    this.#flushing ??= this.#flush().finally(() => { this.#flushing = null })
    return this.#flushing
  }

  /** While Redis is away: forgets what has left the window, so that an outage of any length holds bounded memory. */
  prune (): void {
    const batch = this.#pending
    this.#pending = new Map()
    this.#requeue(batch)
  }

  /** Counted here and not yet flushed, in route-seconds: bounded by the routes times the window. */
  get unflushed (): number {
    let n = 0
    for (const seconds of this.#pending.values()) n += seconds.size
    return n
  }

  /** Flushes, then reads every replica's window; on failure the readers fall back to this replica's own. */
  async refresh (): Promise<void> {
    try {
      await this.flush()
      this.#snapshot = await this.#read()
    } catch {
      this.#snapshot = null
    }
  }

  /** Whether the readers see every replica (the last refresh worked) or only this one. */
  get shared (): boolean { return this.#snapshot !== null }

  /** What the rules read. */
  readonly traffic: RuleWindows = {
    totals: (route, seconds) => (this.#snapshot?.traffic ?? this.#local.traffic).totals(route, seconds),
    latencies: (route, backend, seconds) => (this.#snapshot?.traffic ?? this.#local.traffic).latencies(route, backend, seconds)
  }

  readonly shadow: ShadowWindows = {
    mismatchRate: (route, seconds) => {
      if (this.#snapshot === null) return this.#local.shadow?.mismatchRate(route, seconds) ?? null
      const slots = this.#snapshot.shadow.get(route)
      let compared = 0
      let mismatched = 0
      slots?.each(this.#now(), seconds ?? this.#o.seconds, (base) => {
        compared += slots.values[base]!
        mismatched += slots.values[base + 1]!
      })
      return { rate: compared === 0 ? null : mismatched / compared, compared, mismatched }
    }
  }

  /** Requests every replica has answered per route since the counters began: what step plans count. */
  cumulative (route: string): { legacy: number, new: number } {
    return { ...(this.#snapshot?.cumulative.get(route) ?? { legacy: 0, new: 0 }) }
  }

  #slot (route: string, nowMs: number): Float64Array {
    const second = Math.floor(nowMs / 1000)
    let seconds = this.#pending.get(route)
    if (seconds === undefined) {
      seconds = new Map()
      this.#pending.set(route, seconds)
    }
    let slot = seconds.get(second)
    if (slot === undefined) {
      slot = new Float64Array(WIDTH)
      seconds.set(second, slot)
    }
    return slot
  }

  async #flush (): Promise<void> {
    const batch = this.#pending
    if (batch.size === 0) return
    this.#pending = new Map()
    const ttl = this.#o.seconds + 60
    const link = this.#o.link
    try {
      await link.run(async (r) => {
        const p = r.multi()
        for (const [route, seconds] of batch) {
          const cum = { legacy: 0, new: 0 }
          for (const [second, slot] of seconds) {
            const key = link.key('w', route, String(second))
            for (let k = 0; k < WIDTH; k++) {
              if (slot[k] !== 0) p.hincrby(key, fieldName(k), slot[k]!)
            }
            p.expire(key, ttl)
            cum.legacy += slot[0]!
            cum.new += slot[1]!
          }
          if (cum.legacy > 0) p.hincrby(link.key('cum', route), 'legacy', cum.legacy)
          if (cum.new > 0) p.hincrby(link.key('cum', route), 'new', cum.new)
        }
        const results = await p.exec()
        const failed = results?.find(([err]) => err !== null)
        if (failed !== undefined) throw failed[0]
      })
    } catch (err) {
      this.#requeue(batch)
      throw err
    }
  }

  /** Puts back what could not be flushed, merged with what was counted meanwhile, minus what left the window. */
  #requeue (batch: Map<string, Map<number, Float64Array>>): void {
    const oldest = Math.floor(this.#now() / 1000) - this.#o.seconds
    for (const [route, seconds] of batch) {
      for (const [second, slot] of seconds) {
        if (second <= oldest) continue
        let current = this.#pending.get(route)
        if (current === undefined) {
          current = new Map()
          this.#pending.set(route, current)
        }
        const mine = current.get(second)
        if (mine === undefined) current.set(second, slot)
        else for (let k = 0; k < WIDTH; k++) mine[k]! += slot[k]!
      }
    }
  }

  async #read (): Promise<Snapshot> {
    const link = this.#o.link
    const now = this.#now()
    const current = Math.floor(now / 1000)
    const span = this.#o.seconds
    const settledBefore = current - SETTLED_SECONDS
    const wanted: Array<{ route: string, second: number }> = []
    for (const route of this.#o.routes) {
      for (let s = current - span + 1; s <= current; s++) {
        if (!this.#settled.has(`${route}\0${s}`)) wanted.push({ route, second: s })
      }
    }
    const answers = await link.run(async (r) => {
      const p = r.pipeline()
      for (const w of wanted) p.hgetall(link.key('w', w.route, String(w.second)))
      for (const route of this.#o.routes) p.hgetall(link.key('cum', route))
      return await p.exec()
    })
    const fresh = new Map<string, Float64Array | null>()
    wanted.forEach((w, i) => {
      const [err, hash] = answers![i]!
      if (err !== null) throw err
      const slot = toSlot(hash as Record<string, string>)
      fresh.set(`${w.route}\0${w.second}`, slot)
      if (w.second <= settledBefore) this.#settled.set(`${w.route}\0${w.second}`, slot)
    })
    // Forget settled seconds that have left the window.
    for (const key of this.#settled.keys()) {
      if (Number(key.slice(key.indexOf('\0') + 1)) <= current - span) this.#settled.delete(key)
    }
    const traffic = new TrafficWindow({ seconds: span, now: this.#now })
    const shadow = new Map<string, SlotCounters>()
    const cumulative = new Map<string, { legacy: number, new: number }>()
    this.#o.routes.forEach((route, i) => {
      const compare = new SlotCounters(span, 2)
      for (let s = current - span + 1; s <= current; s++) {
        const key = `${route}\0${s}`
        const slot = fresh.has(key) ? fresh.get(key)! : this.#settled.get(key) ?? null
        if (slot === null) continue
        traffic.add(route, s * 1000, slot)
        const base = compare.current(s * 1000)
        compare.values[base] = slot[COMPARED]!
        compare.values[base + 1] = slot[MISMATCHED]!
      }
      shadow.set(route, compare)
      const [err, cum] = answers![wanted.length + i]!
      if (err !== null) throw err
      const c = cum as Record<string, string>
      cumulative.set(route, { legacy: Number(c.legacy ?? 0), new: Number(c.new ?? 0) })
    })
    return { traffic, shadow, cumulative }
  }
}

function fieldName (k: number): string {
  return k === COMPARED ? 'c' : k === MISMATCHED ? 'm' : String(k)
}

function toSlot (hash: Record<string, string>): Float64Array | null {
  const fields = Object.entries(hash)
  if (fields.length === 0) return null
  const slot = new Float64Array(WIDTH)
  for (const [field, value] of fields) {
    const k = field === 'c' ? COMPARED : field === 'm' ? MISMATCHED : Number(field)
    if (Number.isInteger(k) && k >= 0 && k < WIDTH) slot[k] = Number(value)
  }
  return slot
}
