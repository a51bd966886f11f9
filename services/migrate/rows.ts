// Raw, keyset-paginated readers of the rows the migration job moves and compares. They read the embedding
// as pgvector's text and the timestamps as epoch milliseconds, so nothing is lost or re-parsed on the way,
// whatever the driver (node-postgres or PGlite) would otherwise make of those types.
import type { DatabaseHandle } from '../db/database.ts'
import { v2FieldsOfGarment, type LegacyItemWith } from './mapping.ts'
import type { V2ItemFields } from '../shared/v2-item.ts'

export type EmbeddingText = string

interface RawLegacy {
  id: string | number
  depop_id: string
  seller_id: string | number | null
  title: string
  description: string
  category: string
  condition: string
  size: string | null
  brand: string | null
  price: string
  image_url: string | null
  listing_url: string | null
  embedding: string | null
  created_ms: string | number
  updated_ms: string | number
}

const LEGACY_COLUMNS = `id, depop_id, seller_id, title, description, category, condition, size, brand, price::text AS price,
  image_url, listing_url, embedding::text AS embedding,
  (extract(epoch from created_at) * 1000)::float8 AS created_ms, (extract(epoch from updated_at) * 1000)::float8 AS updated_ms`

export async function readLegacyBatch (db: DatabaseHandle, afterId: number, limit: number): Promise<Array<LegacyItemWith<EmbeddingText>>> {
  return (await db.query<RawLegacy>(`SELECT ${LEGACY_COLUMNS} FROM legacy.items WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit])).map(legacyItemOf)
}

/** The current rows of these ids; an id without a row is absent from the result. */
export async function readLegacyByIds (db: DatabaseHandle, ids: number[]): Promise<Array<LegacyItemWith<EmbeddingText>>> {
  return (await db.query<RawLegacy>(`SELECT ${LEGACY_COLUMNS} FROM legacy.items WHERE id = ANY($1::bigint[]) ORDER BY id`, [ids])).map(legacyItemOf)
}

function legacyItemOf (r: RawLegacy): LegacyItemWith<EmbeddingText> {
  return {
    id: Number(r.id),
    depopId: r.depop_id,
    sellerId: r.seller_id === null ? null : Number(r.seller_id),
    title: r.title,
    description: r.description,
    category: r.category,
    condition: r.condition,
    size: r.size,
    brand: r.brand,
    price: r.price,
    imageUrl: r.image_url,
    listingUrl: r.listing_url,
    embedding: r.embedding,
    createdAt: new Date(Number(r.created_ms)),
    updatedAt: new Date(Number(r.updated_ms))
  }
}

interface RawGarmentV2 {
  legacy_id: string | number
  external_id: string | null
  title: string
  description: string
  category: string
  condition: string
  size: string | null
  brand: string | null
  price: string | null
  original_image_url: string | null
  original_url: string | null
  embedding: string | null
  created_ms: string | number
  updated_ms: string | number
}

export interface V2Row { fields: V2ItemFields, embedding: EmbeddingText | null }

const GARMENT_V2_COLUMNS = `legacy_id, external_id, title, description, category, condition, size, brand,
  price::text AS price, original_image_url, original_url, embedding::text AS embedding,
  (extract(epoch from created_at) * 1000)::float8 AS created_ms, (extract(epoch from updated_at) * 1000)::float8 AS updated_ms`

/** Every garment, in v2.0 id order, as the v2.0 API reads it. */
export async function readGarmentBatch (db: DatabaseHandle, afterLegacyId: number, limit: number): Promise<V2Row[]> {
  return (await db.query<RawGarmentV2>(`SELECT ${GARMENT_V2_COLUMNS} FROM unified.garments
    WHERE legacy_id > $1 ORDER BY legacy_id LIMIT $2`, [afterLegacyId, limit])).map(v2RowOf)
}

/** The current garments of these v2.0 ids, as the v2.0 API reads them; an id without a garment is absent. */
export async function readGarmentsByLegacyIds (db: DatabaseHandle, ids: number[]): Promise<V2Row[]> {
  return (await db.query<RawGarmentV2>(`SELECT ${GARMENT_V2_COLUMNS} FROM unified.garments WHERE legacy_id = ANY($1::bigint[]) ORDER BY legacy_id`, [ids])).map(v2RowOf)
}

function v2RowOf (r: RawGarmentV2): V2Row {
  return ({
    fields: v2FieldsOfGarment({
      legacyId: Number(r.legacy_id),
      externalId: r.external_id,
      title: r.title,
      description: r.description,
      category: r.category,
      condition: r.condition,
      size: r.size,
      brand: r.brand,
      price: r.price,
      originalImageUrl: r.original_image_url,
      originalUrl: r.original_url,
      createdAt: new Date(Number(r.created_ms)),
      updatedAt: new Date(Number(r.updated_ms))
    }),
    embedding: r.embedding
  })
}
