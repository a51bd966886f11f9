// The v2.0 API's reads and writes, on garments: a v2.0 item id is a garment's legacy_id. Each query mirrors
// its counterpart on the legacy tables (services/legacy/item-queries.ts and nearest-items.ts) in filter,
// order and arithmetic, so that both give the same answer for the same data.
import { and, asc, count, eq, isNotNull, ne, sql } from 'drizzle-orm'
import { garments, type NewGarment } from '../../../drizzle/unified/schema.ts'
import type { Database, DatabaseHandle } from '../../db/database.ts'
import { V2_COLUMNS } from './columns.ts'

export type V2GarmentRow = { [K in keyof typeof V2_COLUMNS]: (typeof garments.$inferSelect)[K] }

export async function listV2Items (db: Database, q: { limit: number, offset: number, category?: string | undefined }): Promise<{ rows: V2GarmentRow[], total: number }> {
  const where = q.category === undefined ? undefined : eq(garments.category, q.category)
  const rows = await db.select(V2_COLUMNS).from(garments).where(where).orderBy(asc(garments.legacyId)).limit(q.limit).offset(q.offset)
  const [counted] = await db.select({ total: count() }).from(garments).where(where)
  return { rows, total: counted?.total ?? 0 }
}

export async function findV2Item (db: Database, id: number): Promise<V2GarmentRow | undefined> {
  const [row] = await db.select(V2_COLUMNS).from(garments).where(eq(garments.legacyId, id))
  return row
}

export async function insertV2Garment (db: Database, values: NewGarment): Promise<V2GarmentRow> {
  const [row] = await db.insert(garments).values(values).returning(V2_COLUMNS)
  if (row === undefined) throw new Error('INSERT ... RETURNING returned no row')
  return row
}

export async function updateV2Garment (db: Database, id: number, values: Partial<NewGarment>): Promise<V2GarmentRow | undefined> {
  const [row] = await db.update(garments).set(values).where(eq(garments.legacyId, id)).returning(V2_COLUMNS)
  return row
}

export async function deleteV2Garment (db: Database, id: number): Promise<boolean> {
  const rows = await db.delete(garments).where(eq(garments.legacyId, id)).returning({ id: garments.id })
  return rows.length > 0
}

/** undefined: no such item; null: the item has no embedding. */
export async function v2EmbeddingOf (db: Database, id: number): Promise<number[] | null | undefined> {
  const [row] = await db.select({ embedding: garments.embedding }).from(garments).where(eq(garments.legacyId, id))
  return row?.embedding
}

/** A v2.0 id for a garment created through the v2.0 API, from the sequence that starts above legacy's ids. */
export async function nextV2Id (handle: DatabaseHandle): Promise<number> {
  const [row] = await handle.query<{ id: string }>("SELECT nextval('unified.v2_item_id_seq') AS id")
  if (row === undefined) throw new Error('nextval returned no row')
  return Number(row.id)
}

export interface NearestV2ItemsQuery {
  vector: number[]
  k: number
  category?: string | undefined
  /** Searching by an item leaves that item out. */
  excludeId?: number | undefined
}

/**
 * The k items nearest to an embedding by cosine distance, from garments_embedding_hnsw_idx, exactly as
 * services/legacy/nearest-items.ts asks the legacy table. pgvector uses the index only for
 * `ORDER BY embedding <=> $1 LIMIT k` with nothing after the distance (PostgreSQL before 17 gives the index
 * up for a longer ORDER BY), so ties are left to the caller (byScoreThenId), and the score is computed in the
 * select list, never ordered on.
 */
export function nearestV2ItemsQuery (db: Database, q: NearestV2ItemsQuery) {
  // A pgvector text literal; JSON's number syntax is what it parses.
  const literal = JSON.stringify(q.vector)
  return db
    .select({ ...V2_COLUMNS, score: sql<number>`1 - (${garments.embedding} <=> ${literal}::vector)`.mapWith(Number) })
    .from(garments)
    .where(and(
      isNotNull(garments.embedding),
      q.category === undefined ? undefined : eq(garments.category, q.category),
      q.excludeId === undefined ? undefined : ne(garments.legacyId, q.excludeId)
    ))
    .orderBy(sql`${garments.embedding} <=> ${literal}::vector`)
    .limit(q.k)
}
