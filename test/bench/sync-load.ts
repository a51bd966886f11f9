// The sync bench's steady load and its lag checker. A timer loop issues writes at a fixed rate, alternating
// legacy and unified, one in INSERT_EVERY an insert and the rest title updates, going round each side's rows.
// Every write stores a title that no other write uses, and the two sides update disjoint rows, so
// last-writer-wins never discards a write and each one must arrive. Only when the round comes back to a row
// whose last write has not arrived yet (a long outage) does the new write replace it: the sync applies the
// row's latest state, so the older title would never be seen; it is counted as superseded, without a lag.
// Every CHECK_MS the checker reads the rows of the acknowledged writes on the other side (one query per
// side, by id); a write's lag is the time from its acknowledgement to the end of the first read that
// returned its title, so it is at most about CHECK_MS plus one read too long.
import { setTimeout as sleep } from 'node:timers/promises'
import type { DatabaseHandle } from '../../services/db/database.ts'
import type { Side } from '../../services/sync/changes.ts'

const TICK_MS = 5
const CHECK_MS = 20
const INSERT_EVERY = 4
// The most waiting writes the checker reads per side and round. While the sync is stopped thousands wait;
// reading them all every round would load the server the sync is catching up on. Half are the oldest, as
// the sync applies changes in about the order they were made; the other half is a window that moves
// through the rest, so that writes which never arrive cannot hide the newer ones.
const CHECK_AT_MOST = 1_000

export interface LoadSide {
  side: Side
  /** Where this side's writes go. */
  writer: DatabaseHandle
  /** The other side's database, where the checker looks for them. */
  peer: DatabaseHandle
  /** The rows this side updates; disjoint from the other side's. */
  updateIds: number[]
  /** Rows on both sides whose other columns the inserts copy. */
  templateIds: number[]
}

export interface LoadResult {
  /** Acknowledged writes. */
  writes: number
  failed: number
  firstError: string | null
  /** From the start to the last acknowledgement. */
  seconds: number
  /** Per acknowledged write: when it was acknowledged (performance.now()) and its lag in ms. */
  samples: Array<{ ackAt: number, lagMs: number }>
  /** Writes not seen on the other side when draining gave up; their samples hold a lower bound. */
  unseen: number
  /** Writes replaced by a later write to the same row before they arrived. */
  superseded: number
}

interface SideState extends LoadSide {
  /** Acknowledged writes not yet seen on the other side: row id → the title written, and when. */
  waiting: Map<number, { title: string, ackAt: number }>
  /** Rows with a write not yet acknowledged, which the next update must not touch. */
  busy: Set<number>
  cursor: number
  count: number
  /** Where the checker's moving window starts. */
  window: number
}

const WRITES: Record<Side, { update: string, insert: string, check: string }> = {
  legacy: {
    update: 'UPDATE legacy.items SET title = $2, updated_at = now() WHERE id = $1',
    insert: `INSERT INTO legacy.items (depop_id, seller_id, title, description, category, condition, size, brand, price, image_url, listing_url, embedding)
      SELECT $3, seller_id, $1, description, category, condition, size, brand, price, image_url, listing_url, embedding
      FROM legacy.items WHERE id = $2 RETURNING id::text AS id`,
    check: 'SELECT legacy_id::text AS id, title FROM unified.garments WHERE legacy_id = ANY($1::bigint[])'
  },
  unified: {
    update: 'UPDATE unified.garments SET title = $2, updated_at = now() WHERE legacy_id = $1',
    insert: `INSERT INTO unified.garments (title, description, category, condition, size, brand, story, price, embedding)
      SELECT $1, description, category, condition, size, brand, story, price, embedding
      FROM unified.garments WHERE legacy_id = $2 RETURNING legacy_id::text AS id`,
    check: 'SELECT id::text AS id, title FROM legacy.items WHERE id = ANY($1::bigint[])'
  }
}

export class SteadyLoad {
  readonly #sides: SideState[]
  readonly #rate: number
  readonly #runId: string
  readonly #inFlight = new Set<Promise<void>>()
  readonly #samples: Array<{ ackAt: number, lagMs: number }> = []
  #started = 0
  #lastAck = 0
  #issued = 0
  #failed = 0
  #superseded = 0
  #firstError: string | null = null
  #issuing = false
  #checking = false
  #pacer: Promise<void> = Promise.resolve()
  #checker: Promise<void> = Promise.resolve()

  /** runId keeps titles and depop ids unique across the loads of one run. */
  constructor (sides: LoadSide[], opts: { rate: number, runId: string }) {
    if (sides.some((s) => s.updateIds.length === 0 || s.templateIds.length === 0)) throw new RangeError('each side needs rows to update and to copy')
    this.#sides = sides.map((s) => ({ ...s, waiting: new Map(), busy: new Set(), cursor: 0, count: 0, window: 0 }))
    this.#rate = opts.rate
    this.#runId = opts.runId
  }

  start (): void {
    this.#started = performance.now()
    this.#issuing = true
    this.#checking = true
    this.#pacer = this.#pace()
    this.#checker = this.#check()
  }

  /** Stops issuing writes and waits for those in flight. */
  async stop (): Promise<void> {
    this.#issuing = false
    await this.#pacer
    await Promise.all(this.#inFlight)
  }

  /** Stops writing and checking at once, as after a failure; what was measured is dropped. */
  async close (): Promise<void> {
    this.#issuing = false
    this.#checking = false
    await Promise.all([this.#pacer, this.#checker, ...this.#inFlight])
  }

  /** Waits until every acknowledged write has been seen on the other side, or timeoutMs has passed. */
  async drain (timeoutMs: number): Promise<LoadResult> {
    const deadline = performance.now() + timeoutMs
    while (this.#sides.some((s) => s.waiting.size > 0) && performance.now() < deadline) await sleep(CHECK_MS)
    this.#checking = false
    await this.#checker
    const end = performance.now()
    let unseen = 0
    for (const s of this.#sides) {
      for (const w of s.waiting.values()) this.#samples.push({ ackAt: w.ackAt, lagMs: end - w.ackAt })
      unseen += s.waiting.size
    }
    return {
      writes: this.#samples.length,
      failed: this.#failed,
      firstError: this.#firstError,
      seconds: (this.#lastAck - this.#started) / 1000,
      samples: this.#samples,
      unseen,
      superseded: this.#superseded
    }
  }

  async #pace (): Promise<void> {
    while (this.#issuing) {
      const due = Math.floor((performance.now() - this.#started) / 1000 * this.#rate)
      while (this.#issued < due) {
        const write = this.#write(this.#sides[this.#issued % this.#sides.length]!)
        this.#inFlight.add(write)
        write.finally(() => this.#inFlight.delete(write)).catch(() => {})
        this.#issued++
      }
      await sleep(TICK_MS)
    }
  }

  async #write (s: SideState): Promise<void> {
    const n = s.count++
    const title = `sync-bench ${this.#runId} ${s.side} ${n}`
    const template = s.templateIds[n % s.templateIds.length]!
    let id: number | undefined
    try {
      if (n % INSERT_EVERY === 0) {
        const params = s.side === 'legacy' ? [title, template, `sync-bench-${this.#runId}-${n}`] : [title, template]
        const [row] = await s.writer.query<{ id: string }>(WRITES[s.side].insert, params)
        if (row === undefined) throw new Error(`the ${s.side} row ${template} to copy is missing`)
        id = Number(row.id)
      } else {
        id = this.#nextUpdate(s)
        s.busy.add(id)
        if (s.waiting.delete(id)) this.#superseded++
        await s.writer.query(WRITES[s.side].update, [id, title])
        s.busy.delete(id)
      }
      this.#lastAck = performance.now()
      s.waiting.set(id, { title, ackAt: this.#lastAck })
    } catch (err) {
      if (id !== undefined) s.busy.delete(id)
      this.#failed++
      this.#firstError ??= `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`
    }
  }

  #nextUpdate (s: SideState): number {
    for (let tries = 0; tries < s.updateIds.length; tries++) {
      const id = s.updateIds[s.cursor]!
      s.cursor = (s.cursor + 1) % s.updateIds.length
      if (!s.busy.has(id)) return id
    }
    throw new Error(`every ${s.side} row to update has a write in flight: the database is far behind`)
  }

  async #check (): Promise<void> {
    while (this.#checking) {
      // A failed read is retried on the next round; it only delays what it would have seen.
      await Promise.all(this.#sides.map((s) => this.#checkSide(s).catch((err: Error) => { this.#firstError ??= `check: ${err.message}` })))
      await sleep(CHECK_MS)
    }
  }

  async #checkSide (s: SideState): Promise<void> {
    if (s.waiting.size === 0) return
    let ids = [...s.waiting.keys()]
    if (ids.length > CHECK_AT_MOST) {
      const half = CHECK_AT_MOST / 2
      const rest = ids.length - half
      s.window = (s.window + half) % rest
      ids = [...ids.slice(0, half), ...ids.slice(half + s.window, half + s.window + half)]
    }
    const rows = await s.peer.query<{ id: string, title: string }>(WRITES[s.side].check, [ids])
    const seenAt = performance.now()
    for (const r of rows) {
      const id = Number(r.id)
      const w = s.waiting.get(id)
      if (w === undefined || w.title !== r.title) continue
      this.#samples.push({ ackAt: w.ackAt, lagMs: seenAt - w.ackAt })
      s.waiting.delete(id)
    }
  }
}
