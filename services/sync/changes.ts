// Reading a side's change log and a direction's position. Only transactions older than the reading
// snapshot's xmin are read: every one of them has ended, so nothing can later appear behind the position.
// The position is (xid, seq), so a batch may end in the middle of a large transaction and resume there.
import type { DatabaseHandle } from '../db/database.ts'

export type Side = 'legacy' | 'unified'
export type DirectionName = 'legacy_to_unified' | 'unified_to_legacy'

export interface Change { seq: number, xid: string, op: 'I' | 'U' | 'D', rowId: number }
export interface Position { xid: string, seq: number }

export const START: Position = Object.freeze({ xid: '0', seq: 0 })

// The ORDER BY names the table's columns: the select list casts them to text, and ordering by those output
// columns would sort '10' before '9' and move the position past changes not yet read.
export async function readChanges (source: DatabaseHandle, side: Side, after: Position, limit: number): Promise<Change[]> {
  const rows = await source.query<{ seq: string, xid: string, op: 'I' | 'U' | 'D', row_id: string }>(
    `SELECT seq::text, xid::text, op, row_id::text FROM ${side}.sync_changes
      WHERE (xid, seq) > ($1::xid8, $2::bigint) AND xid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY sync_changes.xid, sync_changes.seq LIMIT $3`, [after.xid, after.seq, limit])
  return rows.map((r) => ({ seq: Number(r.seq), xid: r.xid, op: r.op, rowId: Number(r.row_id) }))
}

export async function readPosition (target: DatabaseHandle, side: Side, direction: DirectionName): Promise<Position> {
  const [row] = await target.query<{ xid: string, seq: string }>(`SELECT xid::text, seq::text FROM ${side}.sync_positions WHERE direction = $1`, [direction])
  return row === undefined ? START : { xid: row.xid, seq: Number(row.seq) }
}

/** Moves the position, in the transaction that applied the batch, and adds its counts to the totals. */
export async function writePosition (tx: DatabaseHandle, side: Side, direction: DirectionName, p: Position, counts: { applied: number, conflicts: number }): Promise<void> {
  await tx.query(`INSERT INTO ${side}.sync_positions (direction, xid, seq, applied, conflicts, updated_at) VALUES ($1, $2::xid8, $3, $4, $5, now())
    ON CONFLICT (direction) DO UPDATE SET xid = EXCLUDED.xid, seq = EXCLUDED.seq, applied = ${side}.sync_positions.applied + EXCLUDED.applied,
      conflicts = ${side}.sync_positions.conflicts + EXCLUDED.conflicts, updated_at = now(), last_error = NULL, last_error_at = NULL`,
  [direction, p.xid, p.seq, counts.applied, counts.conflicts])
}

/** Best effort, like recordError: the follower's recent rate of rows applied, for `sync status`. */
export async function recordRate (target: DatabaseHandle, side: Side, direction: DirectionName, rowsPerSecond: number): Promise<void> {
  await target.query(`UPDATE ${side}.sync_positions SET rows_per_second = $2, rate_at = now() WHERE direction = $1`, [direction, rowsPerSecond])
}

/** Best effort: the database may be the one that is down. */
export async function recordError (target: DatabaseHandle, side: Side, direction: DirectionName, message: string): Promise<void> {
  await target.query(`INSERT INTO ${side}.sync_positions (direction, xid, seq, last_error, last_error_at) VALUES ($1, '0'::xid8, 0, $2, now())
    ON CONFLICT (direction) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at`, [direction, message.slice(0, 2000)])
}

/**
 * Seconds since the oldest change not yet applied was made, 0 when none is waiting: it grows while the sync
 * is stopped or behind.
 */
export async function lagSeconds (source: DatabaseHandle, side: Side, after: Position): Promise<number> {
  const [row] = await source.query<{ lag: number | null }>(
    `SELECT extract(epoch from clock_timestamp() - min(changed_at))::float8 AS lag FROM ${side}.sync_changes
      WHERE (xid, seq) > ($1::xid8, $2::bigint)`, [after.xid, after.seq])
  return Math.max(0, Number(row?.lag ?? 0))
}

/** Changes at or before a position that the target has committed are no longer needed. */
export async function pruneChanges (source: DatabaseHandle, side: Side, upTo: Position): Promise<void> {
  await source.query(`DELETE FROM ${side}.sync_changes WHERE (xid, seq) <= ($1::xid8, $2::bigint)`, [upTo.xid, upTo.seq])
}
