// The v2.0 API on the unified schema. Its routes answer errors as the legacy service does (the same
// catalogue, the same wording), so a client cannot tell which backend served it; the v3.5 routes keep the
// unified service's own errors.
import type { FastifyError, FastifyInstance } from 'fastify'
import type { DatabaseHandle } from '../../db/database.ts'
import type { LegacyServiceError } from '../../legacy/errors.ts'
import { toServiceError } from '../../legacy/to-service-error.ts'
import type { StoryGenerator } from '../../migrate/story.ts'
import type { V2Presenter } from '../v2-presenter.ts'
import { v2ItemRoutes } from './v2-items.ts'
import { v2SearchRoutes } from './v2-search.ts'

/** The paths of the v2.0 API, which answer as the legacy service does even where it has no endpoint. */
export const V2_PATH = /^\/(items|search_by_image|healthz)(\/|\?|$)/

export interface V2CompatRoutesOptions {
  db: DatabaseHandle
  now: () => Date
  stories: StoryGenerator
  present: V2Presenter
}

export async function v2CompatRoutes (app: FastifyInstance, opts: V2CompatRoutesOptions): Promise<void> {
  app.setErrorHandler((err: FastifyError | LegacyServiceError, request, reply) => {
    const e = toServiceError(err, request)
    if (e.statusCode >= 500) request.log.error({ err }, 'request failed')
    return reply.code(e.statusCode).send(e.toJSON())
  })
  await app.register(v2ItemRoutes, opts)
  await app.register(v2SearchRoutes, { db: opts.db, present: opts.present })
}
