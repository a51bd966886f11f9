// POST /search_by_image of the v2.0 API, on garments: the items nearest to an embedding, or to an item's own
// embedding, with the legacy service's HNSW settings and tie order, so that both answer alike.
import type { FastifyInstance } from 'fastify'
import type { DatabaseHandle } from '../../db/database.ts'
import { errors } from '../../legacy/errors.ts'
import { applySearchSettings, byScoreThenId } from '../../legacy/nearest-items.ts'
import { v2RouteSchemas, type V2SearchByImageBody } from '../../shared/v2-schemas.ts'
import { nearestV2ItemsQuery, v2EmbeddingOf, type NearestV2ItemsQuery } from '../queries/v2-queries.ts'
import type { V2Presenter } from '../v2-presenter.ts'

export interface V2SearchRoutesOptions {
  db: DatabaseHandle
  present: V2Presenter
}

export async function v2SearchRoutes (app: FastifyInstance, opts: V2SearchRoutesOptions): Promise<void> {
  const { db, present } = opts

  app.post<{ Body: V2SearchByImageBody }>('/search_by_image', { schema: v2RouteSchemas.searchByImage }, async (request) => {
    const body = request.body
    // The settings are SET LOCAL: the query must run in the transaction that sets them.
    const rows = await db.transaction(async (tx) => {
      let q: NearestV2ItemsQuery
      if (body.item_id !== undefined) {
        const vector = await v2EmbeddingOf(tx.db, body.item_id)
        if (vector === undefined) throw errors.ITEM_NOT_FOUND(body.item_id)
        if (vector === null) throw errors.ITEM_HAS_NO_EMBEDDING(body.item_id)
        q = { vector, k: body.k, category: body.category, excludeId: body.item_id }
      } else {
        q = { vector: body.embedding, k: body.k, category: body.category }
      }
      await applySearchSettings(tx, q)
      return nearestV2ItemsQuery(tx.db, q)
    })
    // Ties in score are ordered as the legacy service orders them: by id.
    rows.sort((a, b) => byScoreThenId({ score: a.score, id: a.legacyId }, { score: b.score, id: b.legacyId }))
    return { results: rows.map(({ score, ...row }) => ({ item: present(row), score })) }
  })
}
