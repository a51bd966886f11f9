// Where the gateway reports what a person must look at: its own failures (never a backend's 4xx or 5xx,
// which are traffic, counted in the metrics) and every rollback, with tags to search by. With SENTRY_DSN set
// it is a Sentry client of its own: no global init, so no instrumentation is patched into node:http and
// the request path stays as it is; without it, nothing.
import { NodeClient, Scope, defaultStackParser, makeNodeTransport } from '@sentry/node'

export interface RollbackReport {
  flag: string
  rule: string
  routes: readonly string[]
  reason: string
  actor: string
  details?: unknown
}

export interface ErrorReporter {
  readonly enabled: boolean
  error (err: unknown, tags: Record<string, string>): void
  rollback (r: RollbackReport): void
  /** Sends what is queued, within `ms`. */
  flush (ms: number): Promise<boolean>
}

export const NO_REPORTER: ErrorReporter = Object.freeze({
  enabled: false,
  error () {},
  rollback () {},
  flush: async () => true
})

export function sentryReporter (dsn: string, opts: { environment: string, release: string, serverName?: string }): ErrorReporter {
  const client = new NodeClient({
    dsn,
    environment: opts.environment,
    release: opts.release,
    ...(opts.serverName !== undefined ? { serverName: opts.serverName } : {}),
    transport: makeNodeTransport,
    stackParser: defaultStackParser,
    integrations: []
  })
  const scope = new Scope()
  scope.setClient(client)
  client.init()
  return {
    enabled: true,
    error (err, tags) {
      scope.captureException(err, { captureContext: { tags: { component: 'gateway', ...tags } } })
    },
    rollback (r) {
      scope.captureMessage(`${r.flag} rolled back by ${r.rule === 'manual' ? r.actor : `rule ${r.rule}`}: ${r.reason}`, 'warning', {
        captureContext: {
          tags: { component: 'rollback', flag: r.flag, rule: r.rule, route: r.routes.join(',') },
          extra: { routes: r.routes, actor: r.actor, details: r.details ?? null },
          fingerprint: ['rollback', r.flag, r.rule]
        }
      })
    },
    flush: async (ms) => await client.flush(ms)
  }
}
