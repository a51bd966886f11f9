// The one mapping between a legacy item and a garment, used by the backfill, the verification and the
// sync in both directions. Change it here and everything that copies data changes with it.
import { createHash } from 'node:crypto'
import type { LegacyItem, NewLegacyItem } from '../../drizzle/legacy/schema.ts'
import type { Garment, NewGarment } from '../../drizzle/unified/schema.ts'
import type { V2ItemFields } from '../shared/v2-item.ts'
import type { StoryGenerator } from './story.ts'

export const DEPOP = 'depop'

/**
 * A legacy item with its embedding in whatever form the caller moves it: number[] through drizzle, or
 * pgvector's own text through raw SQL (the bulk paths, which copy it without parsing).
 */
export type LegacyItemWith<E> = Omit<LegacyItem, 'embedding'> & { embedding: E | null }
export type GarmentWith<E> = Omit<NewGarment, 'embedding'> & { embedding: E | null }

export function garmentFromLegacyItem<E = number[]> (item: LegacyItemWith<E>, stories: StoryGenerator): GarmentWith<E> {
  return {
    legacyId: item.id,
    externalId: item.depopId,
    source: DEPOP,
    originalUrl: item.listingUrl,
    originalImageUrl: item.imageUrl,
    title: item.title,
    description: item.description,
    category: item.category,
    condition: item.condition,
    size: item.size,
    brand: item.brand,
    story: stories.generate(item),
    provenance: { source: DEPOP, externalId: item.depopId, listingUrl: item.listingUrl },
    exchangeType: 'sell',
    price: item.price,
    currency: 'AUD',
    styleAttributes: { category: item.category, condition: item.condition, ...(item.brand !== null ? { brand: item.brand } : {}) },
    // Copied as stored, never re-computed.
    embedding: item.embedding,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt
  }
}

/** The v2.0 fields of an item, any of them, as a write names them. */
export type LegacyItemChanges<E> = Partial<Pick<LegacyItemWith<E>, 'depopId' | 'title' | 'description' | 'category' | 'condition' | 'size' |
  'brand' | 'price' | 'imageUrl' | 'listingUrl' | 'embedding' | 'createdAt' | 'updatedAt'>>

/**
 * What a change to an item's v2.0 fields means for its garment: the same correspondence as
 * garmentFromLegacyItem, for the fields given. A garment keeps what only the new side has (story,
 * provenance, exchange type, counters).
 */
export function garmentChangesOf<E> (v: LegacyItemChanges<E>): Partial<GarmentWith<E>> {
  const g: Partial<GarmentWith<E>> = {}
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
  if (v.createdAt !== undefined) g.createdAt = v.createdAt
  if (v.updatedAt !== undefined) g.updatedAt = v.updatedAt
  return g
}

/** How a garment reads through the v2.0 API. A garment created on the new side has no Depop id of its own. */
export function v2FieldsOfGarment (g: Pick<Garment, 'legacyId' | 'externalId' | 'title' | 'description' | 'category' | 'condition' | 'size' | 'brand' | 'price' | 'originalImageUrl' | 'originalUrl' | 'createdAt' | 'updatedAt'>): V2ItemFields {
  return {
    id: g.legacyId,
    depopId: g.externalId ?? `local-${g.legacyId}`,
    title: g.title,
    description: g.description,
    category: g.category,
    condition: g.condition,
    size: g.size,
    brand: g.brand,
    price: g.price ?? '0.00',
    imageUrl: g.originalImageUrl,
    listingUrl: g.originalUrl,
    createdAt: g.createdAt,
    updatedAt: g.updatedAt
  }
}

export function v2FieldsOfLegacyItem (i: Pick<LegacyItem, 'id' | 'depopId' | 'title' | 'description' | 'category' | 'condition' | 'size' | 'brand' | 'price' | 'imageUrl' | 'listingUrl' | 'createdAt' | 'updatedAt'>): V2ItemFields {
  return {
    id: i.id,
    depopId: i.depopId,
    title: i.title,
    description: i.description,
    category: i.category,
    condition: i.condition,
    size: i.size,
    brand: i.brand,
    price: i.price,
    imageUrl: i.imageUrl,
    listingUrl: i.listingUrl,
    createdAt: i.createdAt,
    updatedAt: i.updatedAt
  }
}

/** A legacy row for a garment written on the new side (the reverse direction of the sync). */
export function legacyItemFromGarment (g: Garment): NewLegacyItem {
  const v = v2FieldsOfGarment(g)
  return {
    id: v.id,
    depopId: v.depopId,
    title: v.title,
    description: v.description,
    category: v.category,
    condition: v.condition,
    size: v.size,
    brand: v.brand,
    price: v.price,
    imageUrl: v.imageUrl,
    listingUrl: v.listingUrl,
    embedding: g.embedding,
    createdAt: v.createdAt,
    updatedAt: v.updatedAt
  }
}

/**
 * The checksum of the mapped fields of one row, the same whichever side it is computed on: the v2.0 view
 * of the row plus the embedding as pgvector prints it. pgvector prints the shortest text that reads back
 * to the same float32, so equal text means equal bits.
 */
export function rowChecksum (v: V2ItemFields, embeddingText: string | null): string {
  const h = createHash('sha256')
  h.update(JSON.stringify([v.id, v.depopId, v.title, v.description, v.category, v.condition, v.size, v.brand, Number(v.price).toFixed(2), v.imageUrl, v.listingUrl, v.createdAt.getTime(), v.updatedAt.getTime()]))
  h.update('\0')
  h.update(embeddingText ?? 'null')
  return h.digest('hex')
}
