// What the service reads of a garment: every column but the embedding (3 KB a row, never shown) and the
// search vector (derived).
import { garments } from '../../../drizzle/unified/schema.ts'

export const GARMENT_COLUMNS = {
  id: garments.id,
  legacyId: garments.legacyId,
  ownerId: garments.ownerId,
  externalId: garments.externalId,
  source: garments.source,
  originalUrl: garments.originalUrl,
  originalImageUrl: garments.originalImageUrl,
  title: garments.title,
  description: garments.description,
  category: garments.category,
  condition: garments.condition,
  size: garments.size,
  brand: garments.brand,
  story: garments.story,
  provenance: garments.provenance,
  exchangeType: garments.exchangeType,
  price: garments.price,
  currency: garments.currency,
  styleAttributes: garments.styleAttributes,
  viewCount: garments.viewCount,
  saveCount: garments.saveCount,
  status: garments.status,
  createdAt: garments.createdAt,
  updatedAt: garments.updatedAt
}

/** The columns the v2.0 view of a garment is made of (v2FieldsOfGarment). */
export const V2_COLUMNS = {
  legacyId: garments.legacyId,
  externalId: garments.externalId,
  title: garments.title,
  description: garments.description,
  category: garments.category,
  condition: garments.condition,
  size: garments.size,
  brand: garments.brand,
  price: garments.price,
  originalImageUrl: garments.originalImageUrl,
  originalUrl: garments.originalUrl,
  createdAt: garments.createdAt,
  updatedAt: garments.updatedAt
}
