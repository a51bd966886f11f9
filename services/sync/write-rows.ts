// The sync's writes to a target, a set at a time: one statement for every row of a batch that is new on
// the target, one for every row it already has, one for the deletes. The rows travel as one JSON array
// read by jsonb_to_recordset, so a batch of 500 rows with their 768-dimension embeddings is a single
// parameter rather than 10,000. The same functions write a single row when a batch falls back to row by
// row to find the change that cannot be applied.
import { getTableColumns } from 'drizzle-orm'
import { garments } from '../../drizzle/unified/schema.ts'
import { garmentChangesOf, garmentFromLegacyItem, type LegacyItemWith } from '../migrate/mapping.ts'
import { upsertGarments } from '../migrate/backfill.ts'
import type { EmbeddingText, V2Row } from '../migrate/rows.ts'
import type { StoryGenerator } from '../migrate/story.ts'
import type { DatabaseHandle } from '../db/database.ts'
import { presentV2Item } from '../shared/v2-item.ts'
import type { Side } from './changes.ts'

/** A source row as the sync reads it: its v2.0 view, and, from legacy, the item itself. */
export interface SourceRow { row: V2Row, legacy?: LegacyItemWith<EmbeddingText> }

const LEGACY_COLUMNS = ['id', 'depop_id', 'title', 'description', 'category', 'condition', 'size', 'brand', 'price', 'image_url',
  'listing_url', 'embedding', 'created_at', 'updated_at'] as const
const LEGACY_TYPES: Record<string, string> = { id: 'bigint', price: 'numeric', embedding: 'text', created_at: 'timestamptz', updated_at: 'timestamptz' }

/**
 * Writes these rows to the target side. `existing` holds the ids the target already has: an existing
 * garment keeps what only the new side has (story, provenance, counters), and gets only the columns the
 * mapping says v2.0 fields own.
 */
export async function writeRows (tx: DatabaseHandle, side: Side, rows: SourceRow[], existing: ReadonlySet<number>, stories: StoryGenerator): Promise<void> {
  if (rows.length === 0) return
  if (side === 'legacy') {
    await upsertItems(tx, rows.map((r) => r.row))
    return
  }
  const updates = rows.filter((r) => existing.has(r.row.fields.id))
  const inserts = rows.filter((r) => !existing.has(r.row.fields.id))
  if (updates.length > 0) await updateGarments(tx, updates.map((r) => r.row))
  if (inserts.length > 0) await upsertGarments(tx, inserts.map((r) => garmentFromLegacyItem(r.legacy!, stories)))
}

/** Deletes these rows and leaves tombstones stamped with the source's time of the delete. */
export async function deleteRows (tx: DatabaseHandle, side: Side, deletes: Array<{ id: number, at: number }>): Promise<void> {
  if (deletes.length === 0) return
  const [table, key, tombs] = side === 'legacy' ? ['legacy.items', 'id', 'legacy.item_tombstones'] : ['unified.garments', 'legacy_id', 'unified.garment_tombstones']
  const ids = deletes.map((d) => d.id)
  await tx.query(`DELETE FROM ${table} WHERE ${key} = ANY($1::bigint[])`, [ids])
  await tx.query(`INSERT INTO ${tombs} (row_id, deleted_at)
    SELECT id, to_timestamp(at / 1000) FROM unnest($1::bigint[], $2::float8[]) AS d(id, at)
    ON CONFLICT (row_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at`, [ids, deletes.map((d) => d.at)])
}

async function upsertItems (tx: DatabaseHandle, rows: V2Row[]): Promise<void> {
  // The v2.0 presentation names legacy's columns; the price stays the exact text of the numeric.
  const records = rows.map(({ fields, embedding }) => ({ ...presentV2Item(fields), price: fields.price, embedding }))
  const select = LEGACY_COLUMNS.map((c) => c === 'embedding' ? 'x.embedding::vector' : `x.${c}`)
  await tx.query(`INSERT INTO legacy.items (${LEGACY_COLUMNS.join(', ')})
    SELECT ${select.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS x(${recordType(LEGACY_COLUMNS, (c) => LEGACY_TYPES[c] ?? 'text')})
    ON CONFLICT (id) DO UPDATE SET ${LEGACY_COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  [JSON.stringify(records)])
}

async function updateGarments (tx: DatabaseHandle, rows: V2Row[]): Promise<void> {
  const columns = getTableColumns(garments) as Record<string, { name: string, getSQLType: () => string }>
  let names: string[] = []
  const records = rows.map(({ fields: f, embedding }) => {
    const changes = garmentChangesOf<EmbeddingText>({ ...f, embedding })
    names = Object.keys(changes).map((key) => columns[key]!.name)
    return Object.fromEntries([['legacy_id', f.id], ...Object.entries(changes).map(([key, v]) => [columns[key]!.name, v instanceof Date ? v.toISOString() : v])])
  })
  const types = Object.fromEntries(Object.values(columns).map((c) => [c.name, c.getSQLType()]))
  // The embedding travels as pgvector's text and is cast in the SET; every other column is read as its own type.
  const typeOf = (c: string): string => c === 'embedding' ? 'text' : types[c]!
  await tx.query(`UPDATE unified.garments AS g SET ${names.map((c) => `${c} = x.${c}${c === 'embedding' ? '::vector' : ''}`).join(', ')}
    FROM jsonb_to_recordset($1::jsonb) AS x(${recordType(['legacy_id', ...names], typeOf)})
    WHERE g.legacy_id = x.legacy_id`, [JSON.stringify(records)])
}

function recordType (columns: readonly string[], typeOf: (column: string) => string): string {
  return columns.map((c) => `${c} ${typeOf(c)}`).join(', ')
}
