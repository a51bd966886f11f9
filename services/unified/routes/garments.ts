// GET and POST /garments, GET, PATCH and DELETE /garments/:id: the v3.5 catalogue.
import type { FastifyInstance } from 'fastify'
import type { ExchangeType, NewGarment, Provenance, Story } from '../../../drizzle/unified/schema.ts'
import type { DatabaseHandle } from '../../db/database.ts'
import { FOREIGN_KEY_VIOLATION, violatedConstraint } from '../constraint-violation.ts'
import { decodeListCursor, decodeSearchCursor, encodeListCursor, encodeSearchCursor } from '../cursor.ts'
import { errors } from '../errors.ts'
import { presentGarment, type GarmentRow } from '../garment-json.ts'
import {
  deleteGarment, findGarment, findGarmentForUpdate, insertGarment, listGarmentsQuery, searchGarmentsQuery, updateGarment,
  type GarmentFilters
} from '../queries/garment-queries.ts'
import { CreateGarmentBody, GarmentParams, ListGarmentsQuery, PatchGarmentBody, responses } from '../schemas.ts'

export interface GarmentRoutesOptions {
  db: DatabaseHandle
  now: () => Date
}

interface ListQuery {
  category?: string
  min_price?: number
  max_price?: number
  exchange_type?: ExchangeType
  q?: string
  limit: number
  cursor?: string
}

interface GarmentWrite {
  title: string
  description?: string
  category: string
  condition: string
  size?: string | null
  brand?: string | null
  story: Story
  provenance?: Provenance
  exchange_type: ExchangeType
  price?: number | null
  currency: string
  style_attributes?: Record<string, unknown>
  embedding?: number[] | null
  original_url?: string | null
  original_image_url?: string | null
  owner_id?: string | null
  status?: string
}

// Selling and renting name a price; swapping and donating need none.
const PRICED: ReadonlySet<ExchangeType> = new Set(['sell', 'rent'])
// The name Postgres gives the owner foreign key (drizzle/unified/migrations).
const OWNER_FK = 'garments_owner_id_users_id_fk'

const errorResponses = { 400: responses.error, 404: responses.error, 409: responses.error, 413: responses.error, 415: responses.error, 500: responses.error }

export async function garmentRoutes (app: FastifyInstance, opts: GarmentRoutesOptions): Promise<void> {
  const { db, now } = opts

  const unknownOwner = (err: unknown, ownerId: string | null | undefined): unknown =>
    typeof ownerId === 'string' && violatedConstraint(err, FOREIGN_KEY_VIOLATION) === OWNER_FK
      ? Object.assign(errors.UNKNOWN_OWNER(ownerId), { cause: err })
      : err

  app.get<{ Querystring: ListQuery }>('/garments', {
    schema: { querystring: ListGarmentsQuery, response: { 200: responses.garmentPage, ...errorResponses } }
  }, async (request) => {
    const { q, limit, cursor } = request.query
    const filters: GarmentFilters = {
      category: request.query.category,
      minPrice: request.query.min_price,
      maxPrice: request.query.max_price,
      exchangeType: request.query.exchange_type
    }
    if (filters.minPrice !== undefined && filters.maxPrice !== undefined && filters.minPrice > filters.maxPrice) {
      throw errors.INVALID_REQUEST(`min_price ${filters.minPrice} is above max_price ${filters.maxPrice}; no garment can match, so swap them`)
    }
    // One row more than the page tells whether there is a next page.
    if (q === undefined) {
      const after = cursor === undefined ? undefined : decodeListCursor(cursor)
      const rows = await listGarmentsQuery(db.db, { filters, after, limit: limit + 1 })
      const page = rows.slice(0, limit)
      const last = page.at(-1)
      return { garments: page.map(presentGarment), next_cursor: rows.length > limit && last !== undefined ? encodeListCursor(last) : null }
    }
    const after = cursor === undefined ? undefined : decodeSearchCursor(cursor, q)
    const rows = await searchGarmentsQuery(db.db, { q, filters, after, limit: limit + 1 })
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return {
      garments: page.map(({ rank: _rank, ...g }) => presentGarment(g)),
      next_cursor: rows.length > limit && last !== undefined ? encodeSearchCursor(q, last) : null
    }
  })

  app.get<{ Params: { id: string } }>('/garments/:id', {
    schema: { params: GarmentParams, response: { 200: responses.garment, ...errorResponses } }
  }, async (request) => {
    const row = await findGarment(db.db, request.params.id)
    if (row === undefined) throw errors.GARMENT_NOT_FOUND(request.params.id)
    return presentGarment(row)
  })

  app.post<{ Body: GarmentWrite }>('/garments', {
    schema: { body: CreateGarmentBody, response: { 201: responses.garment, ...errorResponses } }
  }, async (request, reply) => {
    const b = request.body
    const price = b.price ?? null
    if (PRICED.has(b.exchange_type) && price === null) throw errors.PRICE_REQUIRED(b.exchange_type)
    const at = now()
    const values: NewGarment = {
      ...columnsOf(b),
      title: b.title,
      category: b.category,
      condition: b.condition,
      story: b.story,
      exchangeType: b.exchange_type,
      currency: b.currency,
      createdAt: at,
      updatedAt: at
    }
    let row: GarmentRow
    try {
      row = await insertGarment(db.db, values)
    } catch (err) {
      throw unknownOwner(err, b.owner_id)
    }
    return reply.code(201).send(presentGarment(row))
  })

  app.patch<{ Params: { id: string }, Body: Partial<GarmentWrite> }>('/garments/:id', {
    schema: { params: GarmentParams, body: PatchGarmentBody, response: { 200: responses.garment, ...errorResponses } }
  }, async (request) => {
    const { id } = request.params
    const b = request.body
    try {
      // Whether the result needs a price depends on the row as well as on the patch: read, check and write
      // under one lock.
      return await db.transaction(async (tx) => {
        const current = await findGarmentForUpdate(tx.db, id)
        if (current === undefined) throw errors.GARMENT_NOT_FOUND(id)
        const exchangeType = b.exchange_type ?? current.exchangeType
        const price = b.price !== undefined ? b.price : current.price
        if (PRICED.has(exchangeType) && price === null) throw errors.PRICE_REQUIRED(exchangeType)
        const row = await updateGarment(tx.db, id, { ...columnsOf(b), updatedAt: now() })
        if (row === undefined) throw errors.GARMENT_NOT_FOUND(id)
        return presentGarment(row)
      })
    } catch (err) {
      throw unknownOwner(err, b.owner_id)
    }
  })

  app.delete<{ Params: { id: string } }>('/garments/:id', {
    schema: { params: GarmentParams, response: errorResponses }
  }, async (request, reply) => {
    if (!await deleteGarment(db.db, request.params.id)) throw errors.GARMENT_NOT_FOUND(request.params.id)
    return reply.code(204).send()
  })
}

/** The columns a write sets: only the fields sent, so that PATCH changes nothing else. */
function columnsOf (b: Partial<GarmentWrite>): Partial<NewGarment> {
  const v: Partial<NewGarment> = {}
  if (b.title !== undefined) v.title = b.title
  if (b.description !== undefined) v.description = b.description
  if (b.category !== undefined) v.category = b.category
  if (b.condition !== undefined) v.condition = b.condition
  if (b.size !== undefined) v.size = b.size
  if (b.brand !== undefined) v.brand = b.brand
  if (b.story !== undefined) v.story = b.story
  if (b.provenance !== undefined) v.provenance = b.provenance
  if (b.exchange_type !== undefined) v.exchangeType = b.exchange_type
  // The schema allows at most 2 decimals, so this is exact; numeric(10, 2) takes the text as is.
  if (b.price !== undefined) v.price = b.price === null ? null : b.price.toFixed(2)
  if (b.currency !== undefined) v.currency = b.currency
  if (b.style_attributes !== undefined) v.styleAttributes = b.style_attributes
  if (b.embedding !== undefined) v.embedding = b.embedding
  if (b.original_url !== undefined) v.originalUrl = b.original_url
  if (b.original_image_url !== undefined) v.originalImageUrl = b.original_image_url
  if (b.owner_id !== undefined) v.ownerId = b.owner_id
  if (b.status !== undefined) v.status = b.status
  return v
}
