// The reference v2.0 service on the legacy tables: it stands in for the real legacy system in the example
// and the tests. Plugins are registered here and nowhere else; the database is the caller's to close.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import type { DatabaseHandle } from '../db/database.ts'
import { v2ValidatorCompiler } from '../shared/v2-validation.ts'
import { errors, type LegacyServiceError } from './errors.ts'
import { healthzRoutes } from './routes/healthz.ts'
import { itemRoutes } from './routes/items.ts'
import { searchRoutes } from './routes/search-by-image.ts'
import { toServiceError } from './to-service-error.ts'

export interface LegacyServiceConfig {
  logger?: boolean | object
  /** The largest request body accepted, in bytes. */
  bodyLimit?: number
}

export interface LegacyServiceDeps {
  db: DatabaseHandle
  /** The clock that stamps created_at and updated_at. */
  now?: () => Date
}

// A 768-number embedding is about 15 kB of JSON; 1 MiB leaves room without inviting abuse.
export const DEFAULT_BODY_LIMIT = 1024 * 1024

export async function buildLegacyService (config: LegacyServiceConfig, deps: LegacyServiceDeps): Promise<FastifyInstance> {
  const bodyLimit = config.bodyLimit ?? DEFAULT_BODY_LIMIT
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1) {
    throw errors.CONFIG_INVALID(`bodyLimit: expected a positive integer number of bytes, got ${String(config.bodyLimit)}`)
  }
  if (typeof deps.db?.transaction !== 'function') {
    throw errors.CONFIG_INVALID('deps.db: expected a DatabaseHandle (connectPostgres or openPglite from services/db/database.ts)')
  }
  const now = deps.now ?? (() => new Date())

  const app = Fastify({ logger: config.logger ?? false, bodyLimit })
  // JSON only: Fastify's text/plain parser would let a text body through to validation.
  app.removeContentTypeParser('text/plain')
  app.setValidatorCompiler(v2ValidatorCompiler())
  app.setErrorHandler((err: FastifyError | LegacyServiceError, request, reply) => {
    const e = toServiceError(err, request)
    if (e.statusCode >= 500) request.log.error({ err }, 'request failed')
    return reply.code(e.statusCode).send(e.toJSON())
  })
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errors.NOT_FOUND(request.method, request.url).toJSON()))

  await app.register(healthzRoutes)
  await app.register(itemRoutes, { db: deps.db, now })
  await app.register(searchRoutes, { db: deps.db })
  return app
}
