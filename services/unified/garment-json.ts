// A garment as the v3.5 API shows it: snake_case keys, the price as a number, never the embedding or the
// search vector.
import type { Garment, Provenance, Story } from '../../drizzle/unified/schema.ts'

export type GarmentRow = Omit<Garment, 'embedding' | 'search'>

export interface GarmentJson {
  id: string
  legacy_id: number
  owner_id: string | null
  external_id: string | null
  source: string
  original_url: string | null
  original_image_url: string | null
  title: string
  description: string
  category: string
  condition: string
  size: string | null
  brand: string | null
  story: Story
  provenance: Provenance
  exchange_type: string
  price: number | null
  currency: string
  style_attributes: Record<string, unknown>
  view_count: number
  save_count: number
  status: string
  created_at: string
  updated_at: string
}

export function presentGarment (g: GarmentRow): GarmentJson {
  return {
    id: g.id,
    legacy_id: g.legacyId,
    owner_id: g.ownerId,
    external_id: g.externalId,
    source: g.source,
    original_url: g.originalUrl,
    original_image_url: g.originalImageUrl,
    title: g.title,
    description: g.description,
    category: g.category,
    condition: g.condition,
    size: g.size,
    brand: g.brand,
    story: g.story,
    provenance: g.provenance,
    exchange_type: g.exchangeType,
    price: g.price === null ? null : Number(g.price),
    currency: g.currency,
    style_attributes: g.styleAttributes,
    view_count: g.viewCount,
    save_count: g.saveCount,
    status: g.status,
    created_at: g.createdAt.toISOString(),
    updated_at: g.updatedAt.toISOString()
  }
}
