// One batch of one direction: read the next changes, read the current state of the rows they name on the
// source, and in one transaction on the target: lock those rows, resolve each (last writer wins), write
// the winners, and move the position. Applying state rather than deltas makes a batch safe to apply twice
// (after a crash between the target's commit and anything else) and folds several changes to a row into
// one. A row that cannot be written is parked in the dead-letter table, in a savepoint, and the rest go on.
import type { DatabaseHandle } from '../db/database.ts'
import { getTableColumns } from 'drizzle-orm'
import { garments } from '../../drizzle/unified/schema.ts'
import { garmentChangesOf, garmentFromLegacyItem, rowChecksum, v2FieldsOfLegacyItem } from '../migrate/mapping.ts'
import { readGarmentsByLegacyIds, readLegacyByIds, type EmbeddingText, type V2Row } from '../migrate/rows.ts'
import type { StoryGenerator } from '../migrate/story.ts'
import type { LegacyItemWith } from '../migrate/mapping.ts'
import { readChanges, readPosition, writePosition, type Change, type DirectionName, type Position, type Side } from './changes.ts'
import { resolve, type Resolution, type Version } from './resolve.ts'

export interface Direction {
  readonly name: DirectionName
  readonly from: Side
  readonly to: Side
  readonly source: DatabaseHandle
  readonly target: DatabaseHandle
}

export interface BatchResult {
  changes: number
  rows: number
  applied: number
  outcomes: Record<Resolution, number>
  parked: Array<{ rowId: number, reason: string }>
  position: Position
}

/** Per side: its rows as v2.0 views with versions, the tombstone table, and how to write or delete a row. */
interface SideRows { row: V2Row, legacy?: LegacyItemWith<EmbeddingText> }

export async function syncBatch (dir: Direction, opts: { limit: number, stories: StoryGenerator }): Promise<BatchResult> {
  const position = await readPosition(dir.target, dir.to, dir.name)
  const changes = await readChanges(dir.source, dir.from, position, opts.limit)
  const result: BatchResult = { changes: changes.length, rows: 0, applied: 0, outcomes: { apply: 0, same: 0, keep_target: 0 }, parked: [], position }
  if (changes.length === 0) return result
  const last = changes[changes.length - 1]!
  const latest = new Map<number, Change>()
  for (const c of changes) latest.set(c.rowId, c)
  const ids = [...latest.keys()]
  result.rows = ids.length

  const incoming = await readSide(dir.source, dir.from, ids)
  const incomingTombs = await readTombstones(dir.source, dir.from, ids)

  await dir.target.transaction(async (tx) => {
    await tx.query("SET LOCAL switchyard.sync_apply = 'on'")
    await lockRows(tx, dir.to, ids)
    const current = await readSide(tx, dir.to, ids)
    const currentTombs = await readTombstones(tx, dir.to, ids)
    for (const id of ids) {
      const src = incoming.get(id)
      const version: Version = src !== undefined ? versionOf(src.row) : { at: incomingTombs.get(id) ?? 0, checksum: '' }
      const cur = current.get(id)
      const tomb = currentTombs.get(id)
      const targetVersion: Version | null = cur !== undefined ? versionOf(cur.row) : tomb !== undefined ? { at: tomb, checksum: '' } : null
      const outcome = src === undefined && cur === undefined ? 'same' : resolve(version, targetVersion)
      result.outcomes[outcome]++
      if (outcome === 'keep_target') {
        // The target's version is newer, but its own change may already have crossed (a write stamped
        // earlier than the incoming one's, committed later): queue it again so the other side takes it,
        // or the two could stay different. The next pass finds them equal, so this cannot loop.
        await tx.query(`INSERT INTO ${dir.to}.sync_changes (op, row_id) VALUES ($1, $2)`, [cur !== undefined ? 'U' : 'D', id])
        continue
      }
      if (outcome !== 'apply') continue
      await tx.query('SAVEPOINT sync_row')
      try {
        if (src === undefined) await deleteRow(tx, dir.to, id, version.at)
        else await writeRow(tx, dir.to, src, cur !== undefined, opts.stories)
        await tx.query('RELEASE SAVEPOINT sync_row')
        result.applied++
      } catch (err) {
        await tx.query('ROLLBACK TO SAVEPOINT sync_row')
        const reason = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`
        const change = latest.get(id)!
        await tx.query(`INSERT INTO ${dir.to}.sync_dead_letters (direction, row_id, op, source_xid, source_seq, reason, payload)
          VALUES ($1, $2, $3, $4::xid8, $5, $6, $7::jsonb)`,
        [dir.name, id, change.op, change.xid, change.seq, reason, JSON.stringify(src?.row.fields ?? null)])
        result.parked.push({ rowId: id, reason })
      }
    }
    await writePosition(tx, dir.to, dir.name, { xid: last.xid, seq: last.seq }, result.applied)
  })
  result.position = { xid: last.xid, seq: last.seq }
  return result
}

function versionOf (row: V2Row): Version {
  return { at: row.fields.updatedAt.getTime(), checksum: rowChecksum(row.fields, row.embedding) }
}

async function readSide (db: DatabaseHandle, side: Side, ids: number[]): Promise<Map<number, SideRows>> {
  if (side === 'legacy') {
    const items = await readLegacyByIds(db, ids)
    return new Map(items.map((i) => [i.id, { row: { fields: v2FieldsOfLegacyItem(i), embedding: i.embedding }, legacy: i }]))
  }
  const rows = await readGarmentsByLegacyIds(db, ids)
  return new Map(rows.map((r) => [r.fields.id, { row: r }]))
}

async function readTombstones (db: DatabaseHandle, side: Side, ids: number[]): Promise<Map<number, number>> {
  const table = side === 'legacy' ? 'legacy.item_tombstones' : 'unified.garment_tombstones'
  const rows = await db.query<{ row_id: string, at: number }>(
    `SELECT row_id::text, (extract(epoch from deleted_at) * 1000)::float8 AS at FROM ${table} WHERE row_id = ANY($1::bigint[])`, [ids])
  return new Map(rows.map((r) => [Number(r.row_id), Number(r.at)]))
}

async function lockRows (tx: DatabaseHandle, side: Side, ids: number[]): Promise<void> {
  if (side === 'legacy') await tx.query('SELECT id FROM legacy.items WHERE id = ANY($1::bigint[]) FOR UPDATE', [ids])
  else await tx.query('SELECT legacy_id FROM unified.garments WHERE legacy_id = ANY($1::bigint[]) FOR UPDATE', [ids])
}

async function deleteRow (tx: DatabaseHandle, side: Side, id: number, deletedAt: number): Promise<void> {
  const [table, key, tombs] = side === 'legacy' ? ['legacy.items', 'id', 'legacy.item_tombstones'] : ['unified.garments', 'legacy_id', 'unified.garment_tombstones']
  await tx.query(`DELETE FROM ${table} WHERE ${key} = $1`, [id])
  // The tombstone carries the source's time, so later comparisons use when the delete really happened.
  await tx.query(`INSERT INTO ${tombs} (row_id, deleted_at) VALUES ($1, to_timestamp($2::float8 / 1000))
    ON CONFLICT (row_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at`, [id, deletedAt])
}

async function writeRow (tx: DatabaseHandle, side: Side, src: SideRows, exists: boolean, stories: StoryGenerator): Promise<void> {
  const f = src.row.fields
  if (side === 'legacy') {
    await tx.query(`INSERT INTO legacy.items (id, depop_id, title, description, category, condition, size, brand, price, image_url, listing_url, embedding, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10, $11, $12::vector, $13::timestamptz, $14::timestamptz)
      ON CONFLICT (id) DO UPDATE SET depop_id = EXCLUDED.depop_id, title = EXCLUDED.title, description = EXCLUDED.description,
        category = EXCLUDED.category, condition = EXCLUDED.condition, size = EXCLUDED.size, brand = EXCLUDED.brand, price = EXCLUDED.price,
        image_url = EXCLUDED.image_url, listing_url = EXCLUDED.listing_url, embedding = EXCLUDED.embedding,
        created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at`,
    [f.id, f.depopId, f.title, f.description, f.category, f.condition, f.size, f.brand, f.price, f.imageUrl, f.listingUrl, src.row.embedding, f.createdAt.toISOString(), f.updatedAt.toISOString()])
    return
  }
  if (exists) {
    // An existing garment keeps what only the new side has; the mapping says which columns v2.0 fields own.
    const changes = garmentChangesOf<EmbeddingText>({
      depopId: f.depopId,
      title: f.title,
      description: f.description,
      category: f.category,
      condition: f.condition,
      size: f.size,
      brand: f.brand,
      price: f.price,
      imageUrl: f.imageUrl,
      listingUrl: f.listingUrl,
      embedding: src.row.embedding,
      createdAt: f.createdAt,
      updatedAt: f.updatedAt
    })
    const columns = getTableColumns(garments) as Record<string, { name: string, getSQLType: () => string }>
    const entries = Object.entries(changes)
    const set = entries.map(([key], i) => `${columns[key]!.name} = $${i + 2}::${columns[key]!.getSQLType()}`)
    await tx.query(`UPDATE unified.garments SET ${set.join(', ')} WHERE legacy_id = $1`,
      [f.id, ...entries.map(([, v]) => v instanceof Date ? v.toISOString() : v)])
    return
  }
  const g = garmentFromLegacyItem(src.legacy!, stories)
  await tx.query(`INSERT INTO unified.garments (legacy_id, external_id, source, original_url, original_image_url, title, description, category,
      condition, size, brand, story, provenance, exchange_type, price, currency, style_attributes, embedding, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14, $15::numeric, $16, $17::jsonb, $18::vector, $19::timestamptz, $20::timestamptz)`,
  [g.legacyId, g.externalId, g.source, g.originalUrl, g.originalImageUrl, g.title, g.description, g.category, g.condition, g.size, g.brand,
    JSON.stringify(g.story), JSON.stringify(g.provenance), g.exchangeType, g.price, g.currency, JSON.stringify(g.styleAttributes), g.embedding,
    g.createdAt?.toISOString(), g.updatedAt?.toISOString()])
}
