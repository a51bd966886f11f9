// The v2.0 item as the v2.0 API shows it. Both the legacy service and the unified service's v2.0-compatible
// endpoints present items through this one function, with its fixed key order, which is what makes their
// answers byte-identical for the same data.

export interface V2Item {
  id: number
  depop_id: string
  title: string
  description: string
  category: string
  condition: string
  size: string | null
  brand: string | null
  price: number
  image_url: string | null
  listing_url: string | null
  created_at: string
  updated_at: string
}

/** The fields of a v2.0 item, however it is stored. `price` is Postgres numeric text, such as "12.50". */
export interface V2ItemFields {
  id: number
  depopId: string
  title: string
  description: string
  category: string
  condition: string
  size: string | null
  brand: string | null
  price: string
  imageUrl: string | null
  listingUrl: string | null
  createdAt: Date
  updatedAt: Date
}

export function presentV2Item (f: V2ItemFields): V2Item {
  return {
    id: f.id,
    depop_id: f.depopId,
    title: f.title,
    description: f.description,
    category: f.category,
    condition: f.condition,
    size: f.size,
    brand: f.brand,
    price: Number(f.price),
    image_url: f.imageUrl,
    listing_url: f.listingUrl,
    created_at: f.createdAt.toISOString(),
    updated_at: f.updatedAt.toISOString()
  }
}
