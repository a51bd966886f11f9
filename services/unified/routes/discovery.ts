// GET /discovery: the garments most like a given one, by the cosine distance of their embeddings.
import type { FastifyInstance } from 'fastify'
import type { ExchangeType } from '../../../drizzle/unified/schema.ts'
import type { DatabaseHandle } from '../../db/database.ts'
import { errors } from '../errors.ts'
import { presentGarment } from '../garment-json.ts'
import { discoveryQuery, embeddingTextOf, hasFilters, type GarmentFilters } from '../queries/garment-queries.ts'
import { applyKnnSettings, type KnnSettings } from '../queries/knn-settings.ts'
import { DiscoveryQuery, responses } from '../schemas.ts'

export interface DiscoveryRoutesOptions {
  db: DatabaseHandle
  knn: KnnSettings
}

interface Query {
  garment_id: string
  k: number
  category?: string
  max_price?: number
  exchange_type?: ExchangeType
}

export async function discoveryRoutes (app: FastifyInstance, opts: DiscoveryRoutesOptions): Promise<void> {
  const { db, knn } = opts

  app.get<{ Querystring: Query }>('/discovery', {
    schema: { querystring: DiscoveryQuery, response: { 200: responses.discovery, 400: responses.error, 404: responses.error, 409: responses.error, 500: responses.error } }
  }, async (request) => {
    const { garment_id: id, k } = request.query
    const filters: GarmentFilters = { category: request.query.category, maxPrice: request.query.max_price, exchangeType: request.query.exchange_type }
    // The settings are SET LOCAL: the query must run in the transaction that sets them.
    const rows = await db.transaction(async (tx) => {
      const embedding = await embeddingTextOf(tx.db, id)
      if (embedding === undefined) throw errors.GARMENT_NOT_FOUND(id)
      if (embedding === null) throw errors.GARMENT_NO_EMBEDDING(id)
      await applyKnnSettings(tx, knn, { k, filtered: hasFilters(filters) })
      return discoveryQuery(tx.db, { embedding, excludeId: id, k, filters })
    })
    return { results: rows.map(({ distance, ...g }) => ({ garment: presentGarment(g), score: 1 - distance })) }
  })
}
