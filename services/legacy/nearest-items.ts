// The k nearest items to a query embedding by cosine distance, answered from the HNSW index
// (items_embedding_hnsw_idx). pgvector uses the index only for `ORDER BY embedding <=> $q LIMIT k`: the
// score is computed in the select list, never ordered on, and ties are broken by id afterwards, in
// byScoreThenId, because PostgreSQL 15 gives up the index scan for `ORDER BY embedding <=> $q, id` (later
// versions put an incremental sort on top of it).
import { and, eq, isNotNull, ne, sql } from 'drizzle-orm'
import { items } from '../../drizzle/legacy/schema.ts'
import type { DatabaseHandle } from '../db/database.ts'
import { v2Columns } from './item-columns.ts'

export interface NearestItemsQuery {
  vector: number[]
  k: number
  category?: string | undefined
  /** Searching by an item leaves that item out. */
  excludeId?: number | undefined
}

// pgvector's defaults and limits for hnsw.ef_search.
const DEFAULT_EF_SEARCH = 40
const MAX_EF_SEARCH = 1000
const FILTERED_EF_SEARCH = 100

/**
 * An HNSW scan yields at most ef_search candidates, and a category filter is applied after the scan, so
 * ef_search must cover k and, when filtering, leave room for the rows the filter drops. (pgvector 0.8's
 * iterative scans would remove the guesswork; this works on every version that has HNSW.)
 */
export function efSearchFor (q: Pick<NearestItemsQuery, 'k' | 'category'>): number {
  if (q.category === undefined) return Math.min(MAX_EF_SEARCH, Math.max(DEFAULT_EF_SEARCH, q.k))
  return Math.min(MAX_EF_SEARCH, Math.max(FILTERED_EF_SEARCH, 4 * q.k))
}

/** Run inside the transaction that runs the query: SET LOCAL ends with it. */
export async function applySearchSettings (tx: DatabaseHandle, q: Pick<NearestItemsQuery, 'k' | 'category'>): Promise<void> {
  // SET takes no bind parameters; the value is an integer computed here.
  await tx.query(`SET LOCAL hnsw.ef_search = ${efSearchFor(q)}`)
}

export function nearestItemsQuery (db: DatabaseHandle['db'], q: NearestItemsQuery) {
  // A pgvector text literal; JSON's number syntax is what it parses.
  const literal = JSON.stringify(q.vector)
  return db
    .select({ ...v2Columns, score: sql<number>`1 - (${items.embedding} <=> ${literal}::vector)`.mapWith(Number) })
    .from(items)
    .where(and(
      isNotNull(items.embedding),
      q.category === undefined ? undefined : eq(items.category, q.category),
      q.excludeId === undefined ? undefined : ne(items.id, q.excludeId)
    ))
    .orderBy(sql`${items.embedding} <=> ${literal}::vector`)
    .limit(q.k)
}

/**
 * Best first, equal scores by id: the query orders by distance alone, which leaves ties in any order.
 * Which of several items tied at the k-th place make the cut is still the query's choice.
 */
export function byScoreThenId (a: { score: number, id: number }, b: { score: number, id: number }): number {
  return (b.score - a.score) || (a.id - b.id)
}
