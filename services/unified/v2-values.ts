// What a v2.0 write means for a garment. The body is read exactly as the legacy service reads it
// (services/legacy/item-values.ts); this maps the resulting item fields onto the garment's columns, as
// garmentFromLegacyItem does for whole rows.
import type { NewGarment } from '../../drizzle/unified/schema.ts'
import type { LegacyItemValues } from '../legacy/item-values.ts'

export function garmentValuesOf (v: LegacyItemValues): Partial<NewGarment> {
  const g: Partial<NewGarment> = {}
  if (v.depopId !== undefined) g.externalId = v.depopId
  if (v.title !== undefined) g.title = v.title
  if (v.description !== undefined) g.description = v.description
  if (v.category !== undefined) g.category = v.category
  if (v.condition !== undefined) g.condition = v.condition
  if (v.size !== undefined) g.size = v.size
  if (v.brand !== undefined) g.brand = v.brand
  if (v.price !== undefined) g.price = v.price
  if (v.imageUrl !== undefined) g.originalImageUrl = v.imageUrl
  if (v.listingUrl !== undefined) g.originalUrl = v.listingUrl
  if (v.embedding !== undefined) g.embedding = v.embedding
  return g
}
