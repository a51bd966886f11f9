// The session settings a kNN query on the HNSW index needs. An HNSW scan yields at most hnsw.ef_search
// candidates (40 by default) and filters are applied to them afterwards, so a larger k, or a filter that
// drops rows, would silently get fewer than k answers. pgvector 0.8 can scan on until enough rows pass
// (iterative scans); older versions only have a larger ef_search to offer.
import type { DatabaseHandle } from '../../db/database.ts'

const DEFAULT_EF_SEARCH = 40
const FILTERED_EF_SEARCH = 100
const MAX_EF_SEARCH = 1000

export interface KnnSettings {
  /** pgvector 0.8 or later: hnsw.iterative_scan exists. */
  readonly iterativeScans: boolean
}

export function efSearchFor (k: number, filtered: boolean): number {
  if (!filtered) return Math.min(MAX_EF_SEARCH, Math.max(DEFAULT_EF_SEARCH, k))
  return Math.min(MAX_EF_SEARCH, Math.max(FILTERED_EF_SEARCH, 4 * k))
}

/** Run inside the transaction that runs the query: SET LOCAL ends with it. */
export async function applyKnnSettings (tx: DatabaseHandle, settings: KnnSettings, q: { k: number, filtered: boolean }): Promise<void> {
  // SET takes no bind parameters; the value is an integer computed here.
  await tx.query(`SET LOCAL hnsw.ef_search = ${efSearchFor(q.k, q.filtered)}`)
  // strict_order keeps the answers in exact distance order, as without a filter.
  if (q.filtered && settings.iterativeScans) await tx.query('SET LOCAL hnsw.iterative_scan = strict_order')
}

/** What the database's pgvector can do; asked once, when the service starts. */
export async function detectKnnSettings (handle: DatabaseHandle): Promise<KnnSettings> {
  const rows = await handle.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
  const [major = 0, minor = 0] = (rows[0]?.extversion ?? '0.0').split('.').map(Number)
  return Object.freeze({ iterativeScans: major > 0 || minor >= 8 })
}
