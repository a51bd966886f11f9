// Loads the synthetic catalogue into the legacy tables, replacing whatever they held: the loader makes a
// fresh catalogue, so running it twice leaves one copy. It is one transaction, so a failed load leaves the
// previous catalogue in place, and readers wait for the new one rather than see it half loaded.
//
// Rows go in with COPY, and the HNSW index is dropped first and built once at the end: building it over the
// loaded table is many times faster than keeping it up to date row by row.
import type { DatabaseHandle } from '../db/database.ts'
import { copyRow, vectorLiteral } from './copy-text.ts'
import { type CatalogueItem, DEFAULT_COUNT, DEFAULT_SEED, generateCatalogue } from './generator.ts'
import { catalogueUsers, type CatalogueUser } from './users.ts'

export interface LoadOptions {
  seed?: number
  count?: number
  /** Items per COPY statement, and so between two progress reports. */
  batchSize?: number
  onProgress?: (done: number, total: number) => void
}

export interface LoadResult {
  items: number
  users: number
  /** The whole load. */
  ms: number
  /** Generating and copying the rows. */
  copyMs: number
  /** Building the HNSW index. */
  indexMs: number
}

export const DEFAULT_BATCH_SIZE = 1_000

// The index exactly as the legacy migration defines it (drizzle/legacy/migrations/0001_legacy_tables.sql).
const CREATE_HNSW_INDEX = 'CREATE INDEX "items_embedding_hnsw_idx" ON "legacy"."items" USING hnsw ("embedding" vector_cosine_ops)'
// pgvector builds the graph in maintenance_work_mem while it fits and goes on far more slowly on disk after
// that; the full catalogue's graph takes about 100 MB, over the default 64 MB. The memory is taken only as
// the graph grows, which PGlite's WebAssembly memory also allows. A server may also build with parallel workers.
const INDEX_BUILD_SETTINGS = ["SET LOCAL maintenance_work_mem = '512MB'"]
const SERVER_INDEX_BUILD_SETTINGS = ['SET LOCAL max_parallel_maintenance_workers = 4']

const USER_COLUMNS = 'id, username, email, created_at'
const ITEM_COLUMNS = 'id, depop_id, seller_id, title, description, category, condition, size, brand, price, image_url, listing_url, embedding, created_at, updated_at'

export async function loadLegacyCatalogue (handle: DatabaseHandle, opts: LoadOptions = {}): Promise<LoadResult> {
  const { seed = DEFAULT_SEED, count = DEFAULT_COUNT, batchSize = DEFAULT_BATCH_SIZE, onProgress } = opts
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a whole number ≥ 1, got ${batchSize}`)
  const items = generateCatalogue({ seed, count })[Symbol.iterator]()
  const users = catalogueUsers(seed)
  const started = performance.now()
  let copied = started
  let indexed = started

  await handle.transaction(async (tx) => {
    // A fresh catalogue is the legacy system's starting state, not a stream of changes for the sync to carry.
    await tx.query("SET LOCAL switchyard.sync_apply = 'on'")
    await tx.query('TRUNCATE legacy.items, legacy.users RESTART IDENTITY CASCADE')
    await tx.query('DROP INDEX IF EXISTS legacy.items_embedding_hnsw_idx')
    // FREEZE: the tables were emptied in this transaction, so the rows can be written already frozen, which
    // spares the first VACUUM a rewrite of every page.
    await tx.copyFrom(`COPY legacy.users (${USER_COLUMNS}) FROM STDIN WITH (FREEZE)`, users.map(userRow))
    onProgress?.(0, count)
    for (let done = 0; done < count;) {
      const n = Math.min(batchSize, count - done)
      await tx.copyFrom(`COPY legacy.items (${ITEM_COLUMNS}) FROM STDIN WITH (FREEZE)`, itemRows(items, n))
      done += n
      onProgress?.(done, count)
    }
    copied = performance.now()
    for (const setting of INDEX_BUILD_SETTINGS) await tx.query(setting)
    if (tx.kind === 'postgres') for (const setting of SERVER_INDEX_BUILD_SETTINGS) await tx.query(setting)
    await tx.query(CREATE_HNSW_INDEX)
    indexed = performance.now()
    await continueSequence(tx, 'legacy.users', users.length)
    await continueSequence(tx, 'legacy.items', count)
    await tx.query('ANALYZE legacy.users, legacy.items')
  })
  return {
    items: count,
    users: users.length,
    ms: Math.round(performance.now() - started),
    copyMs: Math.round(copied - started),
    indexMs: Math.round(indexed - copied)
  }
}

// COPY wrote the ids itself, which leaves the sequence behind them: the next insert must get last + 1.
async function continueSequence (tx: DatabaseHandle, table: string, last: number): Promise<void> {
  await tx.query("SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)", [table, Math.max(last, 1), last > 0])
}

function * itemRows (items: Iterator<CatalogueItem>, n: number): Generator<string> {
  for (let i = 0; i < n; i++) {
    const next = items.next()
    if (next.done === true) return
    yield itemRow(next.value)
  }
}

function userRow (u: CatalogueUser): string {
  return copyRow([u.id, u.username, u.email, u.createdAt])
}

function itemRow (i: CatalogueItem): string {
  return copyRow([i.id, i.depopId, i.sellerId, i.title, i.description, i.category, i.condition, i.size, i.brand,
    i.price, i.imageUrl, i.listingUrl, vectorLiteral(i.embedding), i.createdAt, i.updatedAt])
}
