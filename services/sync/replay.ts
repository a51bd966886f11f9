// sync replay: parked changes go back into the source's change log, to be applied again by the follower
// with the rows' current state. The change is queued before the letter is marked, so a crash in between
// can queue it twice (harmless: applying state twice is the same as once) but never lose it.
import type { DatabaseHandle } from '../db/database.ts'
import type { DirectionName, Side } from './changes.ts'

export async function replayDeadLetters (source: DatabaseHandle, from: Side, target: DatabaseHandle, to: Side, direction: DirectionName): Promise<number> {
  const letters = await target.query<{ id: string, row_id: string, op: string }>(
    `SELECT id::text, row_id::text, op FROM ${to}.sync_dead_letters WHERE direction = $1 AND replayed_at IS NULL ORDER BY id`, [direction])
  for (const l of letters) {
    await source.query(`INSERT INTO ${from}.sync_changes (op, row_id) VALUES ($1, $2)`, [l.op, l.row_id])
    await target.query(`UPDATE ${to}.sync_dead_letters SET replayed_at = now() WHERE id = $1`, [l.id])
  }
  return letters.length
}
