// GET and POST /items, GET, PUT and DELETE /items/:id.
import type { FastifyInstance } from 'fastify'
import type { DatabaseHandle } from '../../db/database.ts'
import {
  v2RouteSchemas,
  type V2CreateItemBody,
  type V2ItemIdParams,
  type V2ListItemsQuery,
  type V2UpdateItemBody
} from '../../shared/v2-schemas.ts'
import { errors } from '../errors.ts'
import { presentRow } from '../item-columns.ts'
import { deleteItem, findItem, insertItem, listItems, updateItem } from '../item-queries.ts'
import { legacyValuesOf, newLegacyItemOf } from '../item-values.ts'
import { violatedUniqueConstraint } from '../unique-violation.ts'

export interface ItemRoutesOptions {
  db: DatabaseHandle
  now: () => Date
}

// The name Postgres gives the unique constraint of legacy.items.depop_id (drizzle/legacy/migrations).
const DEPOP_ID_UNIQUE = 'items_depop_id_unique'

export async function itemRoutes (app: FastifyInstance, opts: ItemRoutesOptions): Promise<void> {
  const { db: { db }, now } = opts

  const duplicateDepopId = (err: unknown, depopId: string | undefined): unknown =>
    depopId !== undefined && violatedUniqueConstraint(err) === DEPOP_ID_UNIQUE
      ? Object.assign(errors.DUPLICATE_DEPOP_ID(depopId), { cause: err })
      : err

  app.get<{ Querystring: V2ListItemsQuery }>('/items', { schema: v2RouteSchemas.listItems }, async (request) => {
    const { limit, offset, category } = request.query
    const { rows, total } = await listItems(db, { limit, offset, category })
    return { items: rows.map(presentRow), total, limit, offset }
  })

  app.get<{ Params: V2ItemIdParams }>('/items/:id', { schema: v2RouteSchemas.getItem }, async (request) => {
    const row = await findItem(db, request.params.id)
    if (row === undefined) throw errors.ITEM_NOT_FOUND(request.params.id)
    return presentRow(row)
  })

  app.post<{ Body: V2CreateItemBody }>('/items', { schema: v2RouteSchemas.createItem }, async (request, reply) => {
    const body = request.body
    let row
    try {
      row = await insertItem(db, newLegacyItemOf(body, now()))
    } catch (err) {
      throw duplicateDepopId(err, body.depop_id)
    }
    return reply.code(201).send(presentRow(row))
  })

  app.put<{ Params: V2ItemIdParams, Body: V2UpdateItemBody }>('/items/:id', { schema: v2RouteSchemas.updateItem }, async (request) => {
    const { id } = request.params
    let row
    try {
      row = await updateItem(db, id, { ...legacyValuesOf(request.body), updatedAt: now() })
    } catch (err) {
      throw duplicateDepopId(err, request.body.depop_id)
    }
    if (row === undefined) throw errors.ITEM_NOT_FOUND(id)
    return presentRow(row)
  })

  app.delete<{ Params: V2ItemIdParams }>('/items/:id', { schema: v2RouteSchemas.deleteItem }, async (request, reply) => {
    if (!await deleteItem(db, request.params.id)) throw errors.ITEM_NOT_FOUND(request.params.id)
    return reply.code(204).send()
  })
}
