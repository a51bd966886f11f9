// GET and POST /items, GET, PUT and DELETE /items/:id of the v2.0 API, on garments. The body is read as the
// legacy service reads it, and the answer is presented through the same function.
import type { FastifyInstance } from 'fastify'
import type { LegacyItem } from '../../../drizzle/legacy/schema.ts'
import type { DatabaseHandle } from '../../db/database.ts'
import { errors } from '../../legacy/errors.ts'
import { legacyValuesOf, newLegacyItemOf } from '../../legacy/item-values.ts'
import { garmentFromLegacyItem } from '../../migrate/mapping.ts'
import type { StoryGenerator } from '../../migrate/story.ts'
import {
  v2RouteSchemas,
  type V2CreateItemBody,
  type V2ItemIdParams,
  type V2ListItemsQuery,
  type V2UpdateItemBody
} from '../../shared/v2-schemas.ts'
import { UNIQUE_VIOLATION, violatedConstraint } from '../constraint-violation.ts'
import { deleteV2Garment, findV2Item, insertV2Garment, listV2Items, nextV2Id, updateV2Garment, type V2GarmentRow } from '../queries/v2-queries.ts'
import type { V2Presenter } from '../v2-presenter.ts'
import { garmentValuesOf } from '../v2-values.ts'

export interface V2ItemRoutesOptions {
  db: DatabaseHandle
  now: () => Date
  stories: StoryGenerator
  present: V2Presenter
}

// The unique index that holds a Depop id once (drizzle/unified/migrations), as items_depop_id_unique does
// on the legacy side.
const DEPOP_ID_UNIQUE = 'garments_source_external_id_idx'

export async function v2ItemRoutes (app: FastifyInstance, opts: V2ItemRoutesOptions): Promise<void> {
  const { db, now, stories, present } = opts

  const duplicateDepopId = (err: unknown, depopId: string | undefined): unknown =>
    depopId !== undefined && violatedConstraint(err, UNIQUE_VIOLATION) === DEPOP_ID_UNIQUE
      ? Object.assign(errors.DUPLICATE_DEPOP_ID(depopId), { cause: err })
      : err

  app.get<{ Querystring: V2ListItemsQuery }>('/items', { schema: v2RouteSchemas.listItems }, async (request) => {
    const { limit, offset, category } = request.query
    const { rows, total } = await listV2Items(db.db, { limit, offset, category })
    return { items: rows.map(present), total, limit, offset }
  })

  app.get<{ Params: V2ItemIdParams }>('/items/:id', { schema: v2RouteSchemas.getItem }, async (request) => {
    const row = await findV2Item(db.db, request.params.id)
    if (row === undefined) throw errors.ITEM_NOT_FOUND(request.params.id)
    return present(row)
  })

  app.post<{ Body: V2CreateItemBody }>('/items', { schema: v2RouteSchemas.createItem }, async (request, reply) => {
    const body = request.body
    const at = now()
    const item = newLegacyItemOf(body, at)
    // The id comes first: the story is generated from it, as the backfill generates it from the legacy id.
    const id = await nextV2Id(db)
    const legacyItem: LegacyItem = {
      id,
      depopId: item.depopId,
      sellerId: null,
      title: item.title,
      description: item.description ?? '',
      category: item.category,
      condition: item.condition,
      size: item.size ?? null,
      brand: item.brand ?? null,
      price: item.price,
      imageUrl: item.imageUrl ?? null,
      listingUrl: item.listingUrl ?? null,
      embedding: item.embedding ?? null,
      createdAt: at,
      updatedAt: at
    }
    let row: V2GarmentRow
    try {
      row = await insertV2Garment(db.db, garmentFromLegacyItem(legacyItem, stories))
    } catch (err) {
      throw duplicateDepopId(err, body.depop_id)
    }
    return reply.code(201).send(present(row))
  })

  app.put<{ Params: V2ItemIdParams, Body: V2UpdateItemBody }>('/items/:id', { schema: v2RouteSchemas.updateItem }, async (request) => {
    const { id } = request.params
    let row
    try {
      row = await updateV2Garment(db.db, id, { ...garmentValuesOf(legacyValuesOf(request.body)), updatedAt: now() })
    } catch (err) {
      throw duplicateDepopId(err, request.body.depop_id)
    }
    if (row === undefined) throw errors.ITEM_NOT_FOUND(id)
    return present(row)
  })

  app.delete<{ Params: V2ItemIdParams }>('/items/:id', { schema: v2RouteSchemas.deleteItem }, async (request, reply) => {
    if (!await deleteV2Garment(db.db, request.params.id)) throw errors.ITEM_NOT_FOUND(request.params.id)
    return reply.code(204).send()
  })
}
