// The unified (v3.5) service on the unified schema: the garments API, discovery, and every v2.0 endpoint
// on top of garments. Plugins are registered here and nowhere else; the database is the caller's to close.
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import type { DatabaseHandle } from '../db/database.ts'
import { errors as legacyErrors } from '../legacy/errors.ts'
import { healthzRoutes } from '../legacy/routes/healthz.ts'
import { TemplateStoryGenerator, type StoryGenerator } from '../migrate/story.ts'
import { v2ValidatorCompiler } from '../shared/v2-validation.ts'
import { errors, type UnifiedServiceError } from './errors.ts'
import { detectKnnSettings } from './queries/knn-settings.ts'
import { discoveryRoutes } from './routes/discovery.ts'
import { garmentRoutes } from './routes/garments.ts'
import { V2_PATH, v2CompatRoutes } from './routes/v2-compat.ts'
import { toUnifiedError } from './to-unified-error.ts'
import { V2_FIELDS, v2Presenter, type V2Field } from './v2-presenter.ts'

export interface UnifiedServiceConfig {
  logger?: boolean | object
  /** The largest request body accepted, in bytes. */
  bodyLimit?: number
  faults?: {
    /** TEST-ONLY: one v2.0 field that every v2.0 answer gets wrong (see v2-presenter.ts). Never set it in production. */
    v2FieldBug?: string
  }
}

export interface UnifiedServiceDeps {
  db: DatabaseHandle
  /** The clock that stamps created_at and updated_at. */
  now?: () => Date
  /** Tells the story of a garment created through the v2.0 API; the deterministic template by default. */
  stories?: StoryGenerator
}

// A 768-number embedding is about 15 kB of JSON; 1 MiB leaves room without inviting abuse. The legacy
// service has the same limit.
export const DEFAULT_BODY_LIMIT = 1024 * 1024

export async function buildUnifiedService (config: UnifiedServiceConfig, deps: UnifiedServiceDeps): Promise<FastifyInstance> {
  const bodyLimit = config.bodyLimit ?? DEFAULT_BODY_LIMIT
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 1) {
    throw errors.CONFIG_INVALID('bodyLimit', `expected a positive integer number of bytes, got ${String(config.bodyLimit)}`)
  }
  const fieldBug = config.faults?.v2FieldBug
  if (fieldBug !== undefined && !(V2_FIELDS as readonly string[]).includes(fieldBug)) {
    throw errors.CONFIG_INVALID('faults.v2FieldBug', `expected one of ${V2_FIELDS.join(', ')}, got ${JSON.stringify(fieldBug)}; leave it out to serve correct answers`)
  }
  if (typeof deps.db?.transaction !== 'function') {
    throw errors.CONFIG_INVALID('deps.db', 'expected a DatabaseHandle (connectPostgres or openPglite from services/db/database.ts)')
  }
  const db = deps.db
  const now = deps.now ?? (() => new Date())
  const stories = deps.stories ?? new TemplateStoryGenerator()
  const knn = await detectKnnSettings(db)

  const app = Fastify({ logger: config.logger ?? false, bodyLimit })
  // JSON only: Fastify's text/plain parser would let a text body through to validation.
  app.removeContentTypeParser('text/plain')
  // The v2.0 contract's validator (strict bodies, coerced query strings, decimalPlaces) serves the v3.5
  // routes as well, so both APIs validate alike.
  app.setValidatorCompiler(v2ValidatorCompiler())
  app.setErrorHandler((err: FastifyError | UnifiedServiceError, request, reply) => {
    const e = toUnifiedError(err, request)
    if (e.statusCode >= 500) request.log.error({ err }, 'request failed')
    return reply.code(e.statusCode).send(e.toJSON())
  })
  app.setNotFoundHandler((request, reply) => {
    const e = V2_PATH.test(request.url) ? legacyErrors.NOT_FOUND(request.method, request.url) : errors.NOT_FOUND(request.method, request.url)
    return reply.code(404).send(e.toJSON())
  })

  await app.register(healthzRoutes)
  await app.register(garmentRoutes, { db, now })
  await app.register(discoveryRoutes, { db, knn })
  await app.register(v2CompatRoutes, { db, now, stories, present: v2Presenter(fieldBug as V2Field | undefined) })
  return app
}
