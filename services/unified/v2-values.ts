// What a v2.0 write means for a garment. The body is read exactly as the legacy service reads it
// (services/legacy/item-values.ts); the correspondence with the garment's columns is the migration's own
// (services/migrate/mapping.ts), shared with the backfill and the sync.
import type { NewGarment } from '../../drizzle/unified/schema.ts'
import type { LegacyItemValues } from '../legacy/item-values.ts'
import { garmentChangesOf } from '../migrate/mapping.ts'

export function garmentValuesOf (v: LegacyItemValues): Partial<NewGarment> {
  return garmentChangesOf<number[]>(v) as Partial<NewGarment>
}
