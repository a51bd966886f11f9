// The garments' HNSW index, dropped before a bulk load and built once after it. The definition is the
// migration's own (drizzle/unified/migrations), so a rebuilt index is the same index.
import type { DatabaseHandle } from '../db/database.ts'

const NAME = 'garments_embedding_hnsw_idx'
const DEFINITION = `CREATE INDEX IF NOT EXISTS "${NAME}" ON "unified"."garments" USING hnsw ("embedding" vector_cosine_ops)`

export async function dropEmbeddingIndex (db: DatabaseHandle): Promise<void> {
  await db.query(`DROP INDEX IF EXISTS "unified"."${NAME}"`)
}

/** Builds the index if it is missing; returns whether it built it. */
export async function buildEmbeddingIndex (db: DatabaseHandle): Promise<boolean> {
  const [exists] = await db.query('SELECT 1 FROM pg_indexes WHERE schemaname = \'unified\' AND indexname = $1', [NAME])
  if (exists !== undefined) return false
  await db.transaction(async (tx) => {
    if (tx.kind === 'postgres') {
      // HNSW builds fastest when the graph fits in maintenance_work_mem, and pgvector builds in parallel.
      await tx.query("SET LOCAL maintenance_work_mem = '512MB'")
      await tx.query('SET LOCAL max_parallel_maintenance_workers = 2')
    }
    await tx.query(DEFINITION)
  })
  await db.query('ANALYZE unified.garments')
  return true
}
