// GET /healthz: the process is up and serving.
import type { FastifyInstance } from 'fastify'
import { v2RouteSchemas } from '../../shared/v2-schemas.ts'

export async function healthzRoutes (app: FastifyInstance): Promise<void> {
  app.get('/healthz', { schema: v2RouteSchemas.healthz }, async () => ({ status: 'ok' }))
}
