// The columns the v2.0 API shows, and the one way a row of them becomes a response item. The embedding is
// left out: no v2.0 answer contains it, and it is the bulk of a row.
import { items } from '../../drizzle/legacy/schema.ts'
import { v2FieldsOfLegacyItem } from '../migrate/mapping.ts'
import { presentV2Item, type V2Item } from '../shared/v2-item.ts'

export const v2Columns = {
  id: items.id,
  depopId: items.depopId,
  title: items.title,
  description: items.description,
  category: items.category,
  condition: items.condition,
  size: items.size,
  brand: items.brand,
  price: items.price,
  imageUrl: items.imageUrl,
  listingUrl: items.listingUrl,
  createdAt: items.createdAt,
  updatedAt: items.updatedAt
}

export type V2Row = Parameters<typeof v2FieldsOfLegacyItem>[0]

export function presentRow (row: V2Row): V2Item {
  return presentV2Item(v2FieldsOfLegacyItem(row))
}
