// The v2.0 API's contract as JSON schemas: what each endpoint accepts and the exact shape it answers. The
// legacy service and the unified service's v2.0-compatible endpoints register these same objects, so they
// validate alike and serialize alike (the response schemas fix the key order and the number types).
//
// Every `description` is the "expected ..." half of a 400 message, so it is written for the client.
import { EMBEDDING_DIMENSIONS } from '../../drizzle/legacy/schema.ts'

export const V2_EMBEDDING_DIMENSIONS = EMBEDDING_DIMENSIONS
export const V2_DEFAULT_LIMIT = 20
export const V2_MAX_LIMIT = 100
export const V2_DEFAULT_K = 10
export const V2_MAX_K = 100
export const V2_MAX_DEPOP_ID_LENGTH = 64
// numeric(10, 2)
export const V2_MAX_PRICE = 99999999.99
// Ids are bigserial, read as JavaScript numbers.
const MAX_ID = Number.MAX_SAFE_INTEGER

const nullableText = (description: string) => ({ type: ['string', 'null'], description } as const)

export const V2ErrorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', description: 'a stable SY_ERR_* code' },
    error: { type: 'string' },
    message: { type: 'string', description: 'what is wrong and how to fix it' }
  }
} as const

export const V2ItemSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    depop_id: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    category: { type: 'string' },
    condition: { type: 'string' },
    size: { type: ['string', 'null'] },
    brand: { type: ['string', 'null'] },
    price: { type: 'number' },
    image_url: { type: ['string', 'null'] },
    listing_url: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' }
  }
} as const

export const V2ItemListSchema = {
  type: 'object',
  properties: {
    items: { type: 'array', items: V2ItemSchema },
    total: { type: 'integer' },
    limit: { type: 'integer' },
    offset: { type: 'integer' }
  }
} as const

export const V2SearchResultsSchema = {
  type: 'object',
  properties: {
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          item: V2ItemSchema,
          score: { type: 'number', description: '1 - cosine distance: 1 is the same direction' }
        }
      }
    }
  }
} as const

export const V2HealthSchema = {
  type: 'object',
  properties: { status: { type: 'string' } }
} as const

export const V2ItemIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'integer', minimum: 1, maximum: MAX_ID, description: 'an item id (a positive integer)' }
  }
} as const

export const V2ListItemsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: V2_MAX_LIMIT, default: V2_DEFAULT_LIMIT, description: `an integer from 1 to ${V2_MAX_LIMIT}` },
    offset: { type: 'integer', minimum: 0, maximum: MAX_ID, default: 0, description: 'an integer of 0 or more' },
    category: { type: 'string', minLength: 1, description: 'a category name, matched exactly' }
  }
} as const

const embedding = {
  type: 'array',
  minItems: V2_EMBEDDING_DIMENSIONS,
  maxItems: V2_EMBEDDING_DIMENSIONS,
  items: { type: 'number', description: 'a finite number' },
  description: `an array of exactly ${V2_EMBEDDING_DIMENSIONS} finite numbers`
} as const

// The fields a client may write; POST requires some of them, PUT any non-empty subset.
const itemFields = {
  depop_id: { type: 'string', minLength: 1, maxLength: V2_MAX_DEPOP_ID_LENGTH, description: `the Depop listing id, 1 to ${V2_MAX_DEPOP_ID_LENGTH} characters` },
  title: { type: 'string', minLength: 1, description: 'a non-empty string' },
  description: { type: 'string', description: 'a string' },
  category: { type: 'string', minLength: 1, description: 'a non-empty string' },
  condition: { type: 'string', minLength: 1, description: 'a non-empty string' },
  size: nullableText('a string or null'),
  brand: nullableText('a string or null'),
  // decimalPlaces is this contract's own keyword (v2-validation.ts): multipleOf 0.01 is inexact on doubles.
  price: { type: 'number', minimum: 0, maximum: V2_MAX_PRICE, decimalPlaces: 2, description: `a number from 0 to ${V2_MAX_PRICE} with at most 2 decimals` },
  image_url: nullableText('a string or null'),
  listing_url: nullableText('a string or null'),
  embedding: { ...embedding, type: ['array', 'null'], description: `${embedding.description}, or null` }
} as const

export const V2CreateItemBodySchema = {
  type: 'object',
  description: 'a JSON object with depop_id, title, category, condition and price',
  required: ['depop_id', 'title', 'category', 'condition', 'price'],
  additionalProperties: false,
  properties: itemFields
} as const

export const V2UpdateItemBodySchema = {
  type: 'object',
  description: 'a JSON object with the fields to change',
  minProperties: 1,
  additionalProperties: false,
  properties: itemFields
} as const

export const V2SearchByImageBodySchema = {
  type: 'object',
  description: `a JSON object such as {"embedding": [${V2_EMBEDDING_DIMENSIONS} numbers], "k": 10} or {"item_id": 42}`,
  additionalProperties: false,
  // The 400 for both or neither is worded from these branches (v2-validation.ts).
  oneOf: [{ required: ['embedding'] }, { required: ['item_id'] }],
  properties: {
    embedding,
    item_id: { type: 'integer', minimum: 1, maximum: MAX_ID, description: 'an item id (a positive integer)' },
    k: { type: 'integer', minimum: 1, maximum: V2_MAX_K, default: V2_DEFAULT_K, description: `an integer from 1 to ${V2_MAX_K}` },
    category: { type: 'string', minLength: 1, description: 'a category name, matched exactly' }
  }
} as const

const errorResponses = { 400: V2ErrorSchema, 404: V2ErrorSchema, 409: V2ErrorSchema, 413: V2ErrorSchema, 415: V2ErrorSchema, 500: V2ErrorSchema } as const

/** The full Fastify schema of each v2.0 endpoint; register a route with `{ schema: v2RouteSchemas.x }`. */
export const v2RouteSchemas = {
  listItems: { querystring: V2ListItemsQuerySchema, response: { 200: V2ItemListSchema, ...errorResponses } },
  getItem: { params: V2ItemIdParamsSchema, response: { 200: V2ItemSchema, ...errorResponses } },
  createItem: { body: V2CreateItemBodySchema, response: { 201: V2ItemSchema, ...errorResponses } },
  updateItem: { params: V2ItemIdParamsSchema, body: V2UpdateItemBodySchema, response: { 200: V2ItemSchema, ...errorResponses } },
  deleteItem: { params: V2ItemIdParamsSchema, response: errorResponses },
  searchByImage: { body: V2SearchByImageBodySchema, response: { 200: V2SearchResultsSchema, ...errorResponses } },
  healthz: { response: { 200: V2HealthSchema } }
} as const

export interface V2ItemIdParams { id: number }

export interface V2ListItemsQuery { limit: number, offset: number, category?: string }

export interface V2ItemWrite {
  depop_id: string
  title: string
  description?: string
  category: string
  condition: string
  size?: string | null
  brand?: string | null
  price: number
  image_url?: string | null
  listing_url?: string | null
  embedding?: number[] | null
}

export type V2CreateItemBody = V2ItemWrite
export type V2UpdateItemBody = Partial<V2ItemWrite>

export type V2SearchByImageBody =
  ({ embedding: number[], item_id?: never } | { item_id: number, embedding?: never }) & { k: number, category?: string }
