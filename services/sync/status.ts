// What `sync status` shows for each direction, read from the databases (so it works whether or not a
// follower is running): position, rows applied, lag, changes waiting, parked changes and the last error.
import type { DatabaseHandle } from '../db/database.ts'
import { lagSeconds, readPosition, type DirectionName, type Side } from './changes.ts'
import { RATE_WINDOW_S } from './follower.ts'

// The follower writes its rate at least every RATE_WINDOW_S / 2 seconds while it runs.
const RATE_STALE_S = RATE_WINDOW_S

export interface DirectionStatus {
  direction: DirectionName
  position: { xid: string, seq: number }
  applied: number
  /** Rows applied per second over the follower's last RATE_WINDOW_S; 0 when no follower has reported lately. */
  rowsPerSecond: number
  /** Incoming changes older than the target's own version, which the target kept (last writer wins). */
  conflicts: number
  updatedAt: string | null
  lagSeconds: number
  pending: number
  parked: number
  latestParked: Array<{ rowId: number, reason: string, parkedAt: string }>
  lastError: string | null
  lastErrorAt: string | null
}

export async function directionStatus (source: DatabaseHandle, from: Side, target: DatabaseHandle, to: Side, direction: DirectionName): Promise<DirectionStatus> {
  const position = await readPosition(target, to, direction)
  const [pos] = await target.query<{ applied: string, conflicts: string, rows_per_second: number, fresh: boolean, updated_at: Date | string, last_error: string | null, last_error_at: Date | string | null }>(
    `SELECT applied::text, conflicts::text, rows_per_second, rate_at > now() - make_interval(secs => $2) AS fresh, updated_at, last_error, last_error_at
      FROM ${to}.sync_positions WHERE direction = $1`, [direction, RATE_STALE_S])
  const [{ pending } = { pending: 0 }] = await source.query<{ pending: number }>(
    `SELECT count(*)::int AS pending FROM ${from}.sync_changes WHERE (xid, seq) > ($1::xid8, $2::bigint)`, [position.xid, position.seq])
  const [{ parked } = { parked: 0 }] = await target.query<{ parked: number }>(
    `SELECT count(*)::int AS parked FROM ${to}.sync_dead_letters WHERE direction = $1 AND replayed_at IS NULL`, [direction])
  const latest = await target.query<{ row_id: string, reason: string, parked_at: Date | string }>(
    `SELECT row_id::text, reason, parked_at FROM ${to}.sync_dead_letters WHERE direction = $1 AND replayed_at IS NULL ORDER BY id DESC LIMIT 5`, [direction])
  return {
    direction,
    position,
    applied: Number(pos?.applied ?? 0),
    rowsPerSecond: pos?.fresh === true ? Number(pos.rows_per_second) : 0,
    conflicts: Number(pos?.conflicts ?? 0),
    updatedAt: iso(pos?.updated_at ?? null),
    lagSeconds: await lagSeconds(source, from, position),
    pending,
    parked,
    latestParked: latest.map((r) => ({ rowId: Number(r.row_id), reason: r.reason, parkedAt: iso(r.parked_at)! })),
    lastError: pos?.last_error ?? null,
    lastErrorAt: iso(pos?.last_error_at ?? null)
  }
}

function iso (v: Date | string | null): string | null {
  return v === null ? null : new Date(v).toISOString()
}
