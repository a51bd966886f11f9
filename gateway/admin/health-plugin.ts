// /metrics, /healthz and /readyz on the admin port, outside /admin and without the token, so that
// Prometheus and the orchestrator's probes need no secret.
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

export interface HealthPluginOptions {
  registry: Registry
  /** Why the gateway is not ready, or an empty list when it is. */
  notReadyBecause: () => string[]
}

export async function healthPlugin (app: FastifyInstance, opts: HealthPluginOptions): Promise<void> {
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', opts.registry.contentType)
    return opts.registry.metrics()
  })
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }))
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const reasons = opts.notReadyBecause()
    if (reasons.length > 0) return reply.code(503).send({ status: 'not_ready', reasons })
    return { status: 'ready' }
  })
}
