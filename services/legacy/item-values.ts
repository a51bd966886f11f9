// What a v2.0 write body means for a legacy row: only the fields sent, so that PUT merges.
import type { NewLegacyItem } from '../../drizzle/legacy/schema.ts'
import type { V2CreateItemBody, V2UpdateItemBody } from '../shared/v2-schemas.ts'

export type LegacyItemValues = Partial<Omit<NewLegacyItem, 'id' | 'sellerId' | 'createdAt' | 'updatedAt'>>

export function legacyValuesOf (body: V2UpdateItemBody): LegacyItemValues {
  const v: LegacyItemValues = {}
  if (body.depop_id !== undefined) v.depopId = body.depop_id
  if (body.title !== undefined) v.title = body.title
  if (body.description !== undefined) v.description = body.description
  if (body.category !== undefined) v.category = body.category
  if (body.condition !== undefined) v.condition = body.condition
  if (body.size !== undefined) v.size = body.size
  if (body.brand !== undefined) v.brand = body.brand
  // The schema allows at most 2 decimals, so this is exact; numeric(10, 2) takes the text as is.
  if (body.price !== undefined) v.price = body.price.toFixed(2)
  if (body.image_url !== undefined) v.imageUrl = body.image_url
  if (body.listing_url !== undefined) v.listingUrl = body.listing_url
  if (body.embedding !== undefined) v.embedding = body.embedding
  return v
}

export function newLegacyItemOf (body: V2CreateItemBody, at: Date): NewLegacyItem {
  return { ...legacyValuesOf(body), depopId: body.depop_id, title: body.title, category: body.category, condition: body.condition, price: body.price.toFixed(2), createdAt: at, updatedAt: at }
}
