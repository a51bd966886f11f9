// A steady stream of inserts, updates and deletes on one side of the sync, the way clients of that side's
// service would write, at a fixed rate. Each write is remembered with the time the database gave it
// (updated_at, or the tombstone's deleted_at), so that a test can say what both sides must hold once the
// sync has caught up: for each row, its latest write. The stream stops on the test's teardown.
import { setTimeout as sleep } from 'node:timers/promises'
import type { DatabaseHandle } from '../../services/db/database.ts'
import { Prng } from '../../services/catalogue/prng.ts'

interface Teardown { teardown (fn: () => unknown): void }

export type Side = 'legacy' | 'unified'

/** One committed write: the row's v2.0 id, its time in epoch milliseconds, and the title it left (null: deleted). */
export interface Write { id: number, at: number, title: string | null }

export interface WriterOptions {
  /** Writes per second. */
  rate: number
  seed: number
  /** Makes this writer's Depop ids and titles unique. */
  tag: string
  /** Shares of inserts and updates (0.4 and 0.5 by default); the rest are deletes. */
  mix?: { insert: number, update: number }
  /**
   * The ids updates and deletes pick from; every row this writer inserts is added. Two writers given the
   * same array touch each other's rows, on their own side, so their writes conflict.
   */
  pool?: number[]
}

export interface Writer {
  readonly writes: Write[]
  readonly errors: Error[]
  readonly counts: { insert: number, update: number, delete: number, missed: number }
  stop (): Promise<void>
}

const CATEGORIES = ['tops', 'jackets', 'dresses', 'shoes', 'bags']
// One insert in twenty is a transaction of several rows, so that a batch of the sync can end inside it.
const MULTI_ROW = 5

export function startWriter (t: Teardown, db: DatabaseHandle, side: Side, opts: WriterOptions): Writer {
  const rng = new Prng(opts.seed, side === 'legacy' ? 1 : 2)
  const mix = opts.mix ?? { insert: 0.4, update: 0.5 }
  const pool = opts.pool ?? []
  const writes: Write[] = []
  const errors: Error[] = []
  const counts = { insert: 0, update: 0, delete: 0, missed: 0 }
  const table = side === 'legacy' ? 'legacy.items' : 'unified.garments'
  const key = side === 'legacy' ? 'id' : 'legacy_id'
  const tombstones = side === 'legacy' ? 'legacy.item_tombstones' : 'unified.garment_tombstones'
  const at = '(extract(epoch from updated_at) * 1000)::float8 AS at'
  let n = 0

  const insertOne = async (q: DatabaseHandle): Promise<Write> => {
    const i = ++n
    const title = `${opts.tag} ${side} #${i}`
    const embedding = rng.chance(0.25) ? `[${Array.from({ length: 768 }, () => (rng.float() * 2 - 1).toFixed(5)).join(',')}]` : null
    const params = [title, rng.pick(CATEGORIES), rng.pick(['new', 'like new', 'good']), (1 + rng.int(20_000) / 100).toFixed(2), embedding]
    const [row] = side === 'legacy'
      ? await q.query<{ id: string, at: number }>(`INSERT INTO legacy.items (title, category, condition, price, embedding, depop_id)
          VALUES ($1, $2, $3, $4, $5::vector, $6) RETURNING id::text, ${at}`, [...params, `${opts.tag}-${i}`])
      : await q.query<{ id: string, at: number }>(`INSERT INTO unified.garments (title, category, condition, price, embedding)
          VALUES ($1, $2, $3, $4, $5::vector) RETURNING legacy_id::text AS id, ${at}`, params)
    return { id: Number(row!.id), at: Number(row!.at), title }
  }

  const insert = async (): Promise<void> => {
    const rows = rng.chance(0.05)
      ? await db.transaction(async (tx) => {
        const made: Write[] = []
        for (let i = 0; i < MULTI_ROW; i++) made.push(await insertOne(tx))
        return made
      })
      : [await insertOne(db)]
    for (const w of rows) {
      writes.push(w)
      pool.push(w.id)
    }
    counts.insert += rows.length
  }

  const update = async (id: number): Promise<void> => {
    const title = `${opts.tag} ${side} edit #${++n}`
    const [row] = await db.query<{ at: number }>(`UPDATE ${table} SET title = $2, updated_at = now() WHERE ${key} = $1 RETURNING ${at}`, [id, title])
    if (row === undefined) { counts.missed++; return }
    writes.push({ id, at: Number(row.at), title })
    counts.update++
  }

  const remove = async (id: number): Promise<void> => {
    const deletedAt = await db.transaction(async (tx) => {
      if ((await tx.query(`DELETE FROM ${table} WHERE ${key} = $1 RETURNING ${key}`, [id])).length === 0) return null
      const [tomb] = await tx.query<{ at: number }>(`SELECT (extract(epoch from deleted_at) * 1000)::float8 AS at FROM ${tombstones} WHERE row_id = $1`, [id])
      return Number(tomb!.at)
    })
    if (deletedAt === null) { counts.missed++; return }
    writes.push({ id, at: deletedAt, title: null })
    counts.delete++
  }

  const state = { stopped: false }
  const loop = (async () => {
    const every = 1000 / opts.rate
    let due = performance.now()
    while (!state.stopped) {
      // A database slower than the rate is written to as fast as it answers, without bursts to catch up.
      due = Math.max(due + every, performance.now() - every)
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      if (state.stopped) break
      const r = rng.float()
      try {
        if (pool.length === 0 || r < mix.insert) await insert()
        else if (r < mix.insert + mix.update) await update(rng.pick(pool))
        else await remove(rng.pick(pool))
      } catch (err) {
        errors.push(err as Error)
      }
    }
  })()
  const stop = async (): Promise<void> => {
    state.stopped = true
    await loop
  }
  t.teardown(stop)
  return { writes, errors, counts, stop }
}

/**
 * What the rows these writes touched must hold once the sync has caught up, by its rule (last writer wins):
 * for each row, the titles its latest write may have left. A row beats a delete made at the same instant;
 * between two rows written at the same instant the sync picks one by checksum, so either is allowed.
 */
export function expectedTitles (writes: Write[]): Map<number, Array<string | null>> {
  const latest = new Map<number, Write[]>()
  for (const w of writes) {
    const seen = latest.get(w.id)
    if (seen === undefined || w.at > seen[0]!.at) latest.set(w.id, [w])
    else if (w.at === seen[0]!.at) seen.push(w)
  }
  return new Map([...latest].map(([id, ws]) => {
    const rows = ws.filter((w) => w.title !== null).map((w) => w.title)
    return [id, rows.length > 0 ? rows : [null]]
  }))
}

/** The rows of `side` that differ from what `writes` say they must hold, described one per line. */
export async function differencesFromWrites (db: DatabaseHandle, side: Side, writes: Write[]): Promise<string[]> {
  const expected = expectedTitles(writes)
  const ids = [...expected.keys()]
  const sql = side === 'legacy'
    ? 'SELECT id::text AS id, title FROM legacy.items WHERE id = ANY($1::bigint[])'
    : 'SELECT legacy_id::text AS id, title FROM unified.garments WHERE legacy_id = ANY($1::bigint[])'
  const actual = new Map((await db.query<{ id: string, title: string }>(sql, [ids])).map((r) => [Number(r.id), r.title]))
  const differences: string[] = []
  for (const [id, titles] of expected) {
    const found = actual.get(id) ?? null
    if (!titles.includes(found)) differences.push(`${side} row ${id}: expected ${titles.map((x) => JSON.stringify(x)).join(' or ')}, found ${JSON.stringify(found)}`)
  }
  return differences
}
