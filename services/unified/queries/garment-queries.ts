// The v3.5 reads and writes of garments. The list, search and discovery builders return drizzle queries,
// so that a caller can run them or EXPLAIN them (`.toSQL()`).
import { and, desc, eq, gte, isNotNull, lte, ne, sql, type SQL } from 'drizzle-orm'
import { garments, type ExchangeType, type NewGarment } from '../../../drizzle/unified/schema.ts'
import type { Database } from '../../db/database.ts'
import type { GarmentRow } from '../garment-json.ts'
import { GARMENT_COLUMNS } from './columns.ts'

export interface GarmentFilters {
  category?: string | undefined
  minPrice?: number | undefined
  maxPrice?: number | undefined
  exchangeType?: ExchangeType | undefined
}

export function hasFilters (f: GarmentFilters): boolean {
  return f.category !== undefined || f.minPrice !== undefined || f.maxPrice !== undefined || f.exchangeType !== undefined
}

function filterConditions (f: GarmentFilters): SQL[] {
  const c: SQL[] = []
  if (f.category !== undefined) c.push(eq(garments.category, f.category))
  if (f.minPrice !== undefined) c.push(gte(garments.price, String(f.minPrice)))
  if (f.maxPrice !== undefined) c.push(lte(garments.price, String(f.maxPrice)))
  if (f.exchangeType !== undefined) c.push(eq(garments.exchangeType, f.exchangeType))
  return c
}

/** Newest first (created_at desc, id desc), starting strictly after `after` when given. */
export function listGarmentsQuery (db: Database, q: { filters: GarmentFilters, after?: { createdAt: Date, id: string } | undefined, limit: number }) {
  const where = filterConditions(q.filters)
  if (q.after !== undefined) {
    // A row comparison, which the (created_at, id) index answers in one range scan.
    where.push(sql`(${garments.createdAt}, ${garments.id}) < (${q.after.createdAt.toISOString()}::timestamptz, ${q.after.id}::uuid)`)
  }
  return db.select(GARMENT_COLUMNS).from(garments)
    .where(and(...where))
    .orderBy(desc(garments.createdAt), desc(garments.id))
    .limit(q.limit)
}

/**
 * Full-text matches of q, best first (ts_rank desc, then id desc), starting strictly after `after`. The rank
 * is ts_rank's real, which the cursor carries as the shortest decimal that reads back to the same real.
 */
export function searchGarmentsQuery (db: Database, q: { q: string, filters: GarmentFilters, after?: { rank: number, id: string } | undefined, limit: number }) {
  const query = sql`websearch_to_tsquery('english', ${q.q})`
  const rank = sql`ts_rank(${garments.search}, ${query})`
  const where = [sql`${garments.search} @@ ${query}`, ...filterConditions(q.filters)]
  if (q.after !== undefined) {
    where.push(sql`(${rank}, ${garments.id}) < (${String(q.after.rank)}::real, ${q.after.id}::uuid)`)
  }
  return db.select({ ...GARMENT_COLUMNS, rank: sql<number>`${rank}`.mapWith(Number) }).from(garments)
    .where(and(...where))
    .orderBy(desc(rank), desc(garments.id))
    .limit(q.limit)
}

export interface DiscoveryQuery {
  /** The garment's own embedding, as pgvector prints it. */
  embedding: string
  /** The garment itself, which is always its own nearest neighbour. */
  excludeId: string
  k: number
  filters: GarmentFilters
}

/**
 * The k garments nearest to an embedding by cosine distance, nearest first, ties by id. pgvector answers
 * from the HNSW index (garments_embedding_hnsw_idx) only for `ORDER BY embedding <=> $1 LIMIT k` with
 * nothing after the distance (PostgreSQL before 17 cannot finish a longer ORDER BY on top of an index
 * ordered by an operator), so the inner query is exactly that, and the outer one orders the k rows it found
 * by distance, then id. The caller turns the distance into a score; nothing orders on the score.
 */
export function discoveryQuery (db: Database, q: DiscoveryQuery) {
  const distance = sql`${garments.embedding} <=> ${q.embedding}::vector`
  const nearest = db.select({ ...GARMENT_COLUMNS, distance: sql<number>`${distance}`.mapWith(Number).as('distance') })
    .from(garments)
    .where(and(isNotNull(garments.embedding), ne(garments.id, q.excludeId), ...filterConditions(q.filters)))
    .orderBy(distance)
    .limit(q.k)
    .as('nearest')
  return db.select().from(nearest).orderBy(nearest.distance, nearest.id)
}

/** undefined: no such garment; null: it has no embedding. */
export async function embeddingTextOf (db: Database, id: string): Promise<string | null | undefined> {
  const [row] = await db.select({ embedding: sql<string | null>`${garments.embedding}::text` }).from(garments).where(eq(garments.id, id))
  return row === undefined ? undefined : row.embedding
}

export async function findGarment (db: Database, id: string): Promise<GarmentRow | undefined> {
  const [row] = await db.select(GARMENT_COLUMNS).from(garments).where(eq(garments.id, id))
  return row
}

/** The garment, locked until the transaction ends, for a read-check-write. */
export async function findGarmentForUpdate (db: Database, id: string): Promise<GarmentRow | undefined> {
  const [row] = await db.select(GARMENT_COLUMNS).from(garments).where(eq(garments.id, id)).for('update')
  return row
}

export async function insertGarment (db: Database, values: NewGarment): Promise<GarmentRow> {
  const [row] = await db.insert(garments).values(values).returning(GARMENT_COLUMNS)
  if (row === undefined) throw new Error('INSERT ... RETURNING returned no row')
  return row
}

export async function updateGarment (db: Database, id: string, values: Partial<NewGarment>): Promise<GarmentRow | undefined> {
  const [row] = await db.update(garments).set(values).where(eq(garments.id, id)).returning(GARMENT_COLUMNS)
  return row
}

export async function deleteGarment (db: Database, id: string): Promise<boolean> {
  const rows = await db.delete(garments).where(eq(garments.id, id)).returning({ id: garments.id })
  return rows.length > 0
}
