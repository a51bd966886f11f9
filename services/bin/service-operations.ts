// What an orchestrator needs from a service, added to the service's own Fastify instance: /readyz (the
// database answers and the service is not shutting down), /metrics (Node's process metrics and a request
// counter and histogram by route and status) and the request hook that feeds them. /healthz is the
// service's own. Metrics are declared against the registry the caller passes in.
import client, { type Counter, type Histogram, type Registry } from 'prom-client'
import type { FastifyInstance } from 'fastify'
import type { DatabaseHandle } from '../db/database.ts'

export const DEFAULT_READY_TIMEOUT_MS = 2_000
// From a cached read to a slow nearest-neighbour search over the whole catalogue.
export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

export interface OperationsOptions {
  /** The service's name, the value of the metrics' `service` label. */
  service: string
  db: DatabaseHandle
  registry: Registry
  readyTimeoutMs?: number
}

export interface Operations {
  /** From now on /readyz answers 503, so that no new traffic is sent while the service drains. */
  drain (): void
}

export function attachOperations (app: FastifyInstance, opts: OperationsOptions): Operations {
  const { registry, db, service } = opts
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
  client.collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const requests: Counter<'service' | 'route' | 'method' | 'code'> = new client.Counter({
    name: 'switchyard_service_http_requests_total',
    help: 'HTTP requests answered by the service, by route pattern, method and status code.',
    labelNames: ['service', 'route', 'method', 'code'],
    registers
  })
  const duration: Histogram<'service' | 'route' | 'method' | 'code'> = new client.Histogram({
    name: 'switchyard_service_http_request_duration_seconds',
    help: 'Time from the request to the end of the answer, by route pattern, method and status code.',
    labelNames: ['service', 'route', 'method', 'code'],
    buckets: DEFAULT_BUCKETS,
    registers
  })

  // The route's pattern, never the raw path, keeps the labels bounded; unknown paths share one value.
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      service,
      route: request.routeOptions.url ?? 'unmatched',
      method: KNOWN_METHODS.has(request.method) ? request.method : 'OTHER',
      code: String(reply.statusCode)
    }
    requests.inc(labels)
    duration.observe(labels, reply.elapsedTime / 1000)
  })

  let draining = false
  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    if (draining) return reply.code(503).send({ status: 'not_ready', reasons: ['shutting down'] })
    try {
      await withTimeout(db.query('SELECT 1'), readyTimeoutMs)
      return { status: 'ready' }
    } catch (err) {
      request.log.warn({ err }, 'readiness check: the database does not answer')
      return reply.code(503).send({ status: 'not_ready', reasons: [`database: ${describe(err)}`] })
    }
  })
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType)
    return registry.metrics()
  })

  return { drain: () => { draining = true } }
}

function withTimeout<T> (work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

function describe (err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
  const message = err instanceof Error ? err.message : String(err)
  return code !== '' && !message.includes(code) ? `${code}: ${message}` : message
}
