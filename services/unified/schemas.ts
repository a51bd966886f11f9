// The v3.5 API's request and response schemas. They validate the input, say in their descriptions what a
// field expects (the error messages quote them), and make Fastify serialize responses in a fixed key order.
import { EMBEDDING_DIMENSIONS } from '../../drizzle/legacy/schema.ts'
import { EXCHANGE_TYPES, GARMENT_STATUSES } from '../../drizzle/unified/schema.ts'

export const DEFAULT_LIMIT = 20
export const MAX_LIMIT = 100
export const DEFAULT_K = 10
export const MAX_K = 100
/** numeric(10, 2) holds up to this. */
export const MAX_PRICE = 99_999_999.99
const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
// pgvector stores float32: anything beyond its range cannot be stored.
const FLOAT32_MAX = 3.4e38

const Uuid = (what: string) => ({ type: 'string', pattern: UUID_PATTERN, description: `${what} (a UUID)` }) as const
const Text = (description: string, maxLength = 1000) => ({ type: 'string', minLength: 1, maxLength, description }) as const
const NullableText = (description: string, maxLength = 2000) => ({ type: ['string', 'null'], maxLength, description }) as const
const ExchangeType = { type: 'string', enum: EXCHANGE_TYPES, description: `one of ${EXCHANGE_TYPES.join(', ')}` } as const
// decimalPlaces is the v2.0 contract's own keyword (services/shared/v2-validation.ts), enforced here as well.
const Price = { type: ['number', 'null'], minimum: 0, maximum: MAX_PRICE, decimalPlaces: 2, description: `a number from 0 to ${MAX_PRICE} with at most 2 decimals, or null` } as const
const PriceBound = (what: string) => ({ type: 'number', minimum: 0, description: `${what}, a number of 0 or more` }) as const

export const GarmentParams = {
  type: 'object',
  required: ['id'],
  properties: { id: Uuid('a garment id') }
} as const

export const ListGarmentsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    category: Text('a category, such as tops'),
    min_price: PriceBound('the lowest price'),
    max_price: PriceBound('the highest price'),
    exchange_type: ExchangeType,
    q: Text('words to search titles, descriptions, brands and categories for', 500),
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `an integer from 1 to ${MAX_LIMIT}` },
    cursor: { type: 'string', minLength: 1, maxLength: 1000, description: 'the next_cursor of the previous page' }
  }
} as const

export const DiscoveryQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['garment_id'],
  properties: {
    garment_id: Uuid('the id of the garment to find similar ones to'),
    k: { type: 'integer', minimum: 1, maximum: MAX_K, default: DEFAULT_K, description: `an integer from 1 to ${MAX_K}` },
    category: Text('a category, such as tops'),
    max_price: PriceBound('the highest price'),
    exchange_type: ExchangeType
  }
} as const

const Story = {
  type: 'object',
  required: ['text'],
  additionalProperties: true,
  description: 'an object such as {"text": "Bought in Osaka in 2019...", "headline": "A denim jacket with a past"}',
  properties: {
    text: Text('the story, in words', 10_000),
    headline: { type: 'string', maxLength: 500, description: 'a one-line headline' }
  }
} as const

const Provenance = {
  type: 'object',
  required: ['source'],
  additionalProperties: true,
  description: 'an object such as {"source": "native"}',
  properties: { source: Text('where the garment comes from', 200) }
} as const

const Embedding = {
  type: ['array', 'null'],
  minItems: EMBEDDING_DIMENSIONS,
  maxItems: EMBEDDING_DIMENSIONS,
  description: `${EMBEDDING_DIMENSIONS} finite numbers, or null`,
  items: { type: 'number', minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX, description: `a number from ${-FLOAT32_MAX} to ${FLOAT32_MAX}` }
} as const

const garmentFields = {
  title: Text('a title of 1 to 500 characters', 500),
  description: { type: 'string', maxLength: 10_000, description: 'a description of up to 10000 characters' },
  category: Text('a category, such as tops', 200),
  condition: Text('a condition, such as used_good', 200),
  size: NullableText('a size, or null', 100),
  brand: NullableText('a brand, or null', 200),
  story: Story,
  provenance: Provenance,
  exchange_type: ExchangeType,
  price: Price,
  currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'an ISO 4217 currency code of three capital letters, such as AUD' },
  style_attributes: { type: 'object', additionalProperties: true, description: 'an object of style attributes, such as {"colour": "indigo"}' },
  embedding: Embedding,
  original_url: NullableText('a URL, or null'),
  original_image_url: NullableText('a URL, or null'),
  owner_id: { type: ['string', 'null'], pattern: UUID_PATTERN, description: 'the id of a user (a UUID), or null' },
  status: { type: 'string', enum: GARMENT_STATUSES, description: `one of ${GARMENT_STATUSES.join(', ')}` }
} as const

export const CreateGarmentBody = {
  type: 'object',
  description: 'a JSON object such as {"title": "Denim jacket", "category": "outerwear", "condition": "used_good", "story": {"text": "..."}, "price": 40}',
  required: ['title', 'category', 'condition', 'story'],
  additionalProperties: false,
  properties: {
    ...garmentFields,
    exchange_type: { ...ExchangeType, default: 'sell' },
    currency: { ...garmentFields.currency, default: 'AUD' }
  }
} as const

export const PatchGarmentBody = {
  type: 'object',
  description: 'a JSON object with at least one field to change, such as {"price": 35}',
  minProperties: 1,
  additionalProperties: false,
  properties: garmentFields
} as const

const AnyObject = { type: 'object', additionalProperties: true } as const
const NullableString = { type: ['string', 'null'] } as const

export const GarmentSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    legacy_id: { type: 'integer' },
    owner_id: NullableString,
    external_id: NullableString,
    source: { type: 'string' },
    original_url: NullableString,
    original_image_url: NullableString,
    title: { type: 'string' },
    description: { type: 'string' },
    category: { type: 'string' },
    condition: { type: 'string' },
    size: NullableString,
    brand: NullableString,
    story: AnyObject,
    provenance: AnyObject,
    exchange_type: { type: 'string' },
    price: { type: ['number', 'null'] },
    currency: { type: 'string' },
    style_attributes: AnyObject,
    view_count: { type: 'integer' },
    save_count: { type: 'integer' },
    status: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' }
  }
} as const

export const ErrorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' }
  }
} as const

export const responses = {
  garment: GarmentSchema,
  garmentPage: {
    type: 'object',
    properties: {
      garments: { type: 'array', items: GarmentSchema },
      next_cursor: NullableString
    }
  },
  discovery: {
    type: 'object',
    properties: {
      results: {
        type: 'array',
        items: { type: 'object', properties: { garment: GarmentSchema, score: { type: 'number' } } }
      }
    }
  },
  error: ErrorSchema
} as const
