// rollback: undoes what the backfill wrote, that is every garment that came from legacy (a v2.0 id below
// the new side's range), and forgets the checkpoint. Garments created on the new side are left alone.
import type { DatabaseHandle } from '../db/database.ts'
import { V2_ID_START } from '../../drizzle/unified/schema.ts'
import { BACKFILL_JOB } from './backfill.ts'

export async function rollbackBackfill (unified: DatabaseHandle): Promise<{ deleted: number }> {
  return unified.transaction(async (tx) => {
    const [{ deleted } = { deleted: 0 }] = await tx.query<{ deleted: number }>(
      'WITH gone AS (DELETE FROM unified.garments WHERE legacy_id < $1 RETURNING 1) SELECT count(*)::int AS deleted FROM gone', [V2_ID_START])
    await tx.query('DELETE FROM unified.migration_checkpoints WHERE job = $1', [BACKFILL_JOB])
    return { deleted }
  })
}
