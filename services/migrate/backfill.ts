// Backfill: legacy.items → unified.garments. Batched, keyed by the legacy id (an upsert, so re-running is
// harmless), and resumable: each batch and the checkpoint that covers it commit in one transaction, so a
// job killed at any point resumes after its last committed batch. A fresh load (no garment from legacy
// yet) drops the HNSW index first and builds it once at the end, which is several times faster than
// maintaining it row by row.
import type { DatabaseHandle } from '../db/database.ts'
import { garmentFromLegacyItem, type GarmentWith } from './mapping.ts'
import { readLegacyBatch, type EmbeddingText } from './rows.ts'
import type { StoryGenerator } from './story.ts'
import { buildEmbeddingIndex, dropEmbeddingIndex } from './garment-index.ts'
import { V2_ID_START } from '../../drizzle/unified/schema.ts'

export const BACKFILL_JOB = 'backfill'
export const DEFAULT_BATCH_SIZE = 500

export interface BackfillOptions {
  stories: StoryGenerator
  batchSize?: number
  onProgress?: (done: number, total: number) => void
  /** Called after each committed batch; a test uses it to stop the job half way, as a crash would. */
  afterBatch?: (position: number) => void | Promise<void>
  now?: () => number
}

export interface BackfillResult {
  rows: number
  resumedFrom: number
  total: number
  indexRebuilt: boolean
  ms: { copy: number, index: number, total: number }
}

const COLUMNS = ['legacy_id', 'external_id', 'source', 'original_url', 'original_image_url', 'title', 'description', 'category',
  'condition', 'size', 'brand', 'story', 'provenance', 'exchange_type', 'price', 'currency', 'style_attributes', 'embedding',
  'created_at', 'updated_at'] as const
const CASTS: Record<string, string> = { story: '::jsonb', provenance: '::jsonb', style_attributes: '::jsonb', price: '::numeric', embedding: '::vector', created_at: '::timestamptz', updated_at: '::timestamptz' }
const UPDATED = COLUMNS.filter((c) => c !== 'legacy_id')

export async function backfill (legacy: DatabaseHandle, unified: DatabaseHandle, opts: BackfillOptions): Promise<BackfillResult> {
  const now = opts.now ?? Date.now
  const started = now()
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE
  const [checkpoint] = await unified.query<{ position: string | number, finished: boolean }>(
    'SELECT position, finished_at IS NOT NULL AS finished FROM unified.migration_checkpoints WHERE job = $1', [BACKFILL_JOB])
  // A finished pass starts over (the upsert makes that safe, and it picks up what changed); an unfinished one resumes.
  const resumedFrom = checkpoint !== undefined && !checkpoint.finished ? Number(checkpoint.position) : 0
  await unified.query(`INSERT INTO unified.migration_checkpoints (job, position, rows, started_at, updated_at, finished_at)
    VALUES ($1, $2, 0, now(), now(), NULL)
    ON CONFLICT (job) DO UPDATE SET position = EXCLUDED.position, finished_at = NULL, updated_at = now(),
      rows = CASE WHEN $2 = 0 THEN 0 ELSE unified.migration_checkpoints.rows END,
      started_at = CASE WHEN $2 = 0 THEN now() ELSE unified.migration_checkpoints.started_at END`, [BACKFILL_JOB, resumedFrom])

  const [{ total } = { total: 0 }] = await legacy.query<{ total: number }>('SELECT count(*)::int AS total FROM legacy.items')
  const [{ done } = { done: 0 }] = await legacy.query<{ done: number }>('SELECT count(*)::int AS done FROM legacy.items WHERE id <= $1', [resumedFrom])
  const [{ present } = { present: 0 }] = await unified.query<{ present: number }>(
    'SELECT count(*)::int AS present FROM unified.garments WHERE legacy_id < $1', [V2_ID_START])
  const fresh = present === 0
  if (fresh) await dropEmbeddingIndex(unified)

  let position = resumedFrom
  let rows = 0
  let copied = done
  opts.onProgress?.(copied, total)
  for (;;) {
    const batch = await readLegacyBatch(legacy, position, batchSize)
    if (batch.length === 0) break
    const garments = batch.map((item) => garmentFromLegacyItem(item, opts.stories))
    position = batch[batch.length - 1]!.id
    await unified.transaction(async (tx) => {
      // The backfill copies state, not changes: its writes are not captured for the sync to send back.
      await tx.query("SET LOCAL switchyard.sync_apply = 'on'")
      await upsertGarments(tx, garments)
      await tx.query('UPDATE unified.migration_checkpoints SET position = $2, rows = rows + $3, updated_at = now() WHERE job = $1',
        [BACKFILL_JOB, position, batch.length])
    })
    rows += batch.length
    copied += batch.length
    opts.onProgress?.(copied, total)
    await opts.afterBatch?.(position)
  }
  const copyDone = now()
  // A resumed job may find the index dropped by the run that was killed: build whatever is missing.
  const indexRebuilt = await buildEmbeddingIndex(unified)
  await unified.query('UPDATE unified.migration_checkpoints SET finished_at = now(), updated_at = now() WHERE job = $1', [BACKFILL_JOB])
  const end = now()
  return { rows, resumedFrom, total, indexRebuilt, ms: { copy: copyDone - started, index: end - copyDone, total: end - started } }
}

/**
 * One multi-row upsert. A garment changed on the new side after the legacy row (a later updated_at) is
 * kept: the last writer wins, as in the sync.
 */
export async function upsertGarments (db: DatabaseHandle, garments: Array<GarmentWith<EmbeddingText>>): Promise<void> {
  const params: unknown[] = []
  const tuples = garments.map((g) => {
    const values = [
      g.legacyId, g.externalId, g.source, g.originalUrl, g.originalImageUrl, g.title, g.description, g.category,
      g.condition, g.size, g.brand, JSON.stringify(g.story), JSON.stringify(g.provenance), g.exchangeType, g.price,
      g.currency, JSON.stringify(g.styleAttributes), g.embedding, g.createdAt?.toISOString(), g.updatedAt?.toISOString()
    ]
    const base = params.length
    params.push(...values)
    return `(${COLUMNS.map((c, i) => `$${base + i + 1}${CASTS[c] ?? ''}`).join(', ')})`
  })
  await db.query(`INSERT INTO unified.garments (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}
    ON CONFLICT (legacy_id) DO UPDATE SET ${UPDATED.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
    WHERE unified.garments.updated_at <= EXCLUDED.updated_at`, params)
}
