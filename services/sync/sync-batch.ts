// One batch of one direction: read the next changes, read the current state of the rows they name on the
// source, and in one transaction on the target: lock those rows, resolve each (last writer wins), write
// the winners, and move the position. Applying state rather than deltas makes a batch safe to apply twice
// (after a crash between the target's commit and anything else) and folds several changes to a row into
// one. The winners are written as a set (write-rows.ts); if the set fails, the rows are written one by one,
// each in a savepoint, and a row that cannot be written is parked in the dead-letter table while the rest go on.
import type { DatabaseHandle } from '../db/database.ts'
import { rowChecksum, v2FieldsOfLegacyItem } from '../migrate/mapping.ts'
import { readGarmentsByLegacyIds, readLegacyByIds, type V2Row } from '../migrate/rows.ts'
import type { StoryGenerator } from '../migrate/story.ts'
import { readChanges, readPosition, writePosition, type Change, type DirectionName, type Position, type Side } from './changes.ts'
import { resolve, type Resolution, type Version } from './resolve.ts'
import { deleteRows, writeRows, type SourceRow } from './write-rows.ts'

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
    const apply: Apply[] = []
    const requeue: Array<{ id: number, op: 'U' | 'D' }> = []
    for (const id of ids) {
      const src = incoming.get(id)
      const version: Version = src !== undefined ? versionOf(src.row) : { at: incomingTombs.get(id) ?? 0, checksum: '' }
      const cur = current.get(id)
      const tomb = currentTombs.get(id)
      const targetVersion: Version | null = cur !== undefined ? versionOf(cur.row) : tomb !== undefined ? { at: tomb, checksum: '' } : null
      const outcome = src === undefined && cur === undefined ? 'same' : resolve(version, targetVersion)
      result.outcomes[outcome]++
      // The target's version is newer, but its own change may already have crossed (a write stamped
      // earlier than the incoming one's, committed later): queue it again so the other side takes it, or
      // the two could stay different. The next pass finds them equal, so this cannot loop.
      if (outcome === 'keep_target') requeue.push({ id, op: cur !== undefined ? 'U' : 'D' })
      if (outcome === 'apply') apply.push({ id, src, at: version.at })
    }
    if (requeue.length > 0) {
      await tx.query(`INSERT INTO ${dir.to}.sync_changes (op, row_id) SELECT * FROM unnest($1::text[], $2::bigint[])`,
        [requeue.map((r) => r.op), requeue.map((r) => r.id)])
    }
    const existing = new Set(current.keys())
    // The whole set in a few statements; if one row cannot be written, the set is undone and the rows go
    // one at a time, each in its own savepoint, so that only the ones that fail are parked.
    await tx.query('SAVEPOINT sync_set')
    try {
      await applyAll(tx, dir.to, apply, existing, opts.stories)
      await tx.query('RELEASE SAVEPOINT sync_set')
      result.applied += apply.length
    } catch {
      await tx.query('ROLLBACK TO SAVEPOINT sync_set')
      for (const a of apply) {
        await tx.query('SAVEPOINT sync_row')
        try {
          await applyAll(tx, dir.to, [a], existing, opts.stories)
          await tx.query('RELEASE SAVEPOINT sync_row')
          result.applied++
        } catch (err) {
          await tx.query('ROLLBACK TO SAVEPOINT sync_row')
          const reason = `${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}`
          const change = latest.get(a.id)!
          await tx.query(`INSERT INTO ${dir.to}.sync_dead_letters (direction, row_id, op, source_xid, source_seq, reason, payload)
            VALUES ($1, $2, $3, $4::xid8, $5, $6, $7::jsonb)`,
          [dir.name, a.id, change.op, change.xid, change.seq, reason, JSON.stringify(a.src?.row.fields ?? null)])
          result.parked.push({ rowId: a.id, reason })
        }
      }
    }
    await writePosition(tx, dir.to, dir.name, { xid: last.xid, seq: last.seq }, { applied: result.applied, conflicts: result.outcomes.keep_target })
  })
  result.position = { xid: last.xid, seq: last.seq }
  return result
}

function versionOf (row: V2Row): Version {
  return { at: row.fields.updatedAt.getTime(), checksum: rowChecksum(row.fields, row.embedding) }
}

async function readSide (db: DatabaseHandle, side: Side, ids: number[]): Promise<Map<number, SourceRow>> {
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

/** A row the incoming version wins: written from its source row, or deleted (no source row) as of `at`. */
interface Apply { id: number, src: SourceRow | undefined, at: number }

async function applyAll (tx: DatabaseHandle, side: Side, apply: Apply[], existing: ReadonlySet<number>, stories: StoryGenerator): Promise<void> {
  await deleteRows(tx, side, apply.filter((a) => a.src === undefined).map((a) => ({ id: a.id, at: a.at })))
  await writeRows(tx, side, apply.flatMap((a) => a.src !== undefined ? [a.src] : []), existing, stories)
}
