// POST /search_by_image: the items nearest to an embedding, or to an item's own embedding.
import type { FastifyInstance } from 'fastify'
import type { DatabaseHandle } from '../../db/database.ts'
import { v2RouteSchemas, type V2SearchByImageBody } from '../../shared/v2-schemas.ts'
import { errors } from '../errors.ts'
import { presentRow } from '../item-columns.ts'
import { embeddingOf } from '../item-queries.ts'
import { applySearchSettings, byScoreThenId, nearestItemsQuery, type NearestItemsQuery } from '../nearest-items.ts'

export interface SearchRoutesOptions {
  db: DatabaseHandle
}

export async function searchRoutes (app: FastifyInstance, opts: SearchRoutesOptions): Promise<void> {
  app.post<{ Body: V2SearchByImageBody }>('/search_by_image', { schema: v2RouteSchemas.searchByImage }, async (request) => {
    const body = request.body
    const rows = await opts.db.transaction(async (tx) => {
      let q: NearestItemsQuery
      if (body.item_id !== undefined) {
        const vector = await embeddingOf(tx.db, body.item_id)
        if (vector === undefined) throw errors.ITEM_NOT_FOUND(body.item_id)
        if (vector === null) throw errors.ITEM_HAS_NO_EMBEDDING(body.item_id)
        q = { vector, k: body.k, category: body.category, excludeId: body.item_id }
      } else {
        q = { vector: body.embedding, k: body.k, category: body.category }
      }
      await applySearchSettings(tx, q)
      return nearestItemsQuery(tx.db, q)
    })
    return { results: rows.sort(byScoreThenId).map(({ score, ...row }) => ({ item: presentRow(row), score })) }
  })
}
