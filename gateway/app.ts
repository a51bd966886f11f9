// buildGateway decides, in one place, what is created and in which order: flag source, states, audit log,
// metrics, upstream pools, then the client-facing server (WebSocket and HTTP paths) and the admin server.
// It touches neither process nor the environment: the entry file does.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import type { Dispatcher } from 'undici'
import { isLoopback } from './admin/auth.ts'
import { adminPlugin } from './admin/admin-plugin.ts'
import { healthPlugin } from './admin/health-plugin.ts'
import type { GatewayConfig } from './config/load.ts'
import type { BackendId } from './config/schema.ts'
import { Cluster } from './cluster/cluster.ts'
import { RolloutControl } from './control/rollout-control.ts'
import { errors } from './errors.ts'
import { EmbeddedFlags, type FlagSource } from './flags/flag-source.ts'
import { ServerFlags } from './flags/server-flags.ts'
import { GatewayMetrics } from './metrics/metrics.ts'
import { TrafficWindow } from './metrics/traffic-window.ts'
import type { ProxyContext } from './proxy/exchange.ts'
import { acceptEveryMethod, proxyPlugin } from './proxy/proxy-plugin.ts'
import { Upstream } from './proxy/upstream.ts'
import { websocketConstraint, websocketPlugin } from './proxy/websocket-plugin.ts'
import { buildRouter } from './routing/router.ts'
import { Shadowing } from './shadow/shadowing.ts'
import { NO_REPORTER, sentryReporter, type ErrorReporter } from './observability/error-reporter.ts'
import { VERSION } from './version.ts'
import { PrometheusQuery } from './rules/prometheus-query.ts'
import { RuleEvaluator } from './rules/rule-evaluator.ts'
import { StepPlans } from './rules/step-plans.ts'
import { AuditLog } from './state/audit-log.ts'
import { FlagStates } from './state/flag-states.ts'

export interface GatewayDeps {
  registry?: Registry
  flags?: FlagSource
  dispatchers?: Partial<Record<BackendId, Dispatcher>>
  /** The clock of the traffic and shadow windows (ms since the epoch). */
  now?: () => number
  /** Which shadowed requests also learn noise (Math.random by default). */
  random?: () => number
  /** Where errors and rollbacks are reported (Sentry when SENTRY_DSN is set, else nowhere). */
  reporter?: ErrorReporter
  logger?: FastifyBaseLogger
}

export interface Gateway {
  readonly proxy: FastifyInstance
  readonly admin: FastifyInstance
  readonly metrics: GatewayMetrics
  readonly control: RolloutControl
  /** Null when no route shadows. */
  readonly shadowing: Shadowing | null
  readonly rules: RuleEvaluator
  readonly flags: FlagSource
  /** Null without REDIS_URL (a single replica). */
  readonly cluster: Cluster | null
  /** Where the gateway's own failures go (Sentry with SENTRY_DSN); also the process's, from serve.ts. */
  readonly reporter: ErrorReporter
  readonly ready: boolean
  readonly inflight: number
  listen (): Promise<{ proxyUrl: string, adminUrl: string }>
  /** Graceful: unready, stop accepting, drain in-flight requests within the bound, close. */
  shutdown (): Promise<{ drained: boolean }>
}

const WINDOW_SECONDS = 60
const REQUEST_ID = /^[\x21-\x7e]{1,200}$/

export async function buildGateway (config: GatewayConfig, deps: GatewayDeps = {}): Promise<Gateway> {
  const adminToken = config.secrets.adminToken
  if (adminToken === null && !isLoopback(config.admin.host)) throw errors.ADMIN_TOKEN_REQUIRED(config.admin.host)

  const proxy = Fastify({
    ...(deps.logger !== undefined ? { loggerInstance: deps.logger } : { logger: { level: config.logging.level } }),
    logController: new LogController({ disableRequestLogging: !config.logging.access_log }),
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    requestIdHeader: false,
    trustProxy: config.trust_proxy,
    keepAliveTimeout: config.listen.keep_alive_timeout_ms,
    return503OnClosing: false,
    routerOptions: { constraints: { websocket: websocketConstraint } }
  } as never) as unknown as FastifyInstance
  const log = proxy.log
  acceptEveryMethod(proxy)

  const registry = deps.registry ?? new Registry()
  // Declared before the metrics, which read the flags', the cluster's and Prometheus's health at scrape time.
  let flags: FlagSource
  let cluster: Cluster | null = null
  const metrics: GatewayMetrics = new GatewayMetrics(registry, {
    rolloutPercents: () => router.table.flags().map((f) => [f, states.isOverridden(f) ? 0 : flags.percent(f)]),
    dependencies: (): Array<[string, boolean]> => [
      ...(cluster !== null ? [['redis', cluster.link.up] as [string, boolean]] : []),
      ...(flags.healthy !== undefined ? [['unleash', flags.healthy] as [string, boolean]] : []),
      ...(rules.prometheus !== null ? [['prometheus', rules.prometheus.healthy] as [string, boolean]] : [])
    ],
    leader: () => cluster === null || cluster.leader.holds()
  })

  const rawFlags = deps.flags ?? (config.secrets.unleash !== null
    ? new ServerFlags(config.secrets.unleash.url, {
      appName: config.flags.app_name,
      environment: config.flags.environment,
      apiToken: config.secrets.unleash.apiToken,
      adminToken: config.secrets.unleash.adminToken,
      refreshIntervalMs: config.flags.refresh_interval_ms,
      backupPath: config.stateDir,
      onError: () => { metrics.dependencyError('unleash') },
      log
    })
    : new EmbeddedFlags(config.flagsFile, { appName: config.flags.app_name, environment: config.flags.environment, log }))
  await rawFlags.start()

  const states = new FlagStates(config.stateDir)
  await states.load()
  const audit = new AuditLog(config.stateDir)
  await audit.open()

  flags = rawFlags
  // Long enough for the admin API's minute and for the longest rule window.
  const windowSeconds = Math.max(WINDOW_SECONDS, ...config.rules.list.map((r) => r.window_seconds))
  if (config.secrets.redis !== null) {
    cluster = new Cluster({
      url: config.secrets.redis.url,
      config: config.cluster,
      states,
      audit,
      routes: config.routes.map((r) => r.name),
      seconds: windowSeconds,
      metrics,
      log,
      now: deps.now
    })
    flags = cluster.shareFlags(rawFlags)
  }

  const router = buildRouter(config, flags, states)
  checkFlagsExist(router.table.flags(), flags, log)
  await cluster?.start()

  const shared = cluster?.windows
  const traffic = new TrafficWindow({ seconds: windowSeconds, now: deps.now, ...(shared !== undefined ? { tap: (route, nowMs, backend, error, latency) => shared.record(route, nowMs, backend, error, latency) } : {}) })
  const upstreams = {
    legacy: new Upstream('legacy', config.backends.legacy, deps.dispatchers?.legacy),
    new: new Upstream('new', config.backends.new, deps.dispatchers?.new)
  }
  const reporter = deps.reporter ?? (config.secrets.sentry !== null
    ? sentryReporter(config.secrets.sentry.dsn, { environment: config.secrets.sentry.environment, release: `switchyard@${VERSION}` })
    : NO_REPORTER)
  const shadowing = config.routes.some((r) => r.shadow !== undefined)
    ? new Shadowing({ config, upstreams, dispatchers: deps.dispatchers, metrics, log, sticky: router.sticky, now: deps.now, random: deps.random, reporter, ...(shared !== undefined ? { onCompared: (route: string, mismatched: boolean) => shared.recordComparison(route, mismatched) } : {}) })
    : null
  cluster?.windows.readLocally({ traffic, shadow: shadowing })
  const ctx: ProxyContext = { upstreams, metrics, traffic, log, shadowing, closing: false, inflight: 0, onIdle: null }
  const control = new RolloutControl({
    ...(cluster !== null ? { fresh: (flag: string) => cluster!.refresh(flag) } : {}),
    flags,
    states,
    audit,
    log,
    onRollback: (flag, rule, event) => {
      metrics.rollback(flag, rule)
      reporter.rollback({ flag, rule, routes: router.table.routes.filter((r) => r.flag === flag).map((r) => r.name), reason: event.reason, actor: event.actor, details: event.details })
    }
  })
  // Declared before the rules, which call it after each evaluation, and read the rules' verdicts.
  let plans: StepPlans | null = null
  const rules: RuleEvaluator = new RuleEvaluator({
    // While Redis is away a plan does not advance: it cannot see every replica's traffic.
    after: async () => { if (cluster === null || cluster.link.up) await plans?.tick() },
    reporter,
    always: config.plans.length > 0,
    rules: config.rules.list,
    intervalMs: config.rules.interval_ms,
    routes: router.table.routes,
    // Summed over every replica when there are several.
    traffic: cluster?.windows.traffic ?? traffic,
    shadowing: cluster?.windows.shadow ?? shadowing,
    ...(cluster !== null ? { leader: cluster.leader } : {}),
    states,
    control,
    metrics,
    log,
    now: deps.now,
    prometheus: config.secrets.prometheus !== null ? new PrometheusQuery({ url: config.secrets.prometheus.url, metrics, log }) : null
  })
  plans = new StepPlans({
    plans: config.plans,
    routes: router.table.routes,
    traffic: cluster?.windows ?? traffic,
    flags,
    states,
    control,
    verdicts: () => rules.snapshot(),
    log,
    now: deps.now
  })
  metrics.declareRollbacks(router.table.flags().flatMap((flag) => [
    [flag, 'manual'] as [string, string],
    ...config.rules.list.filter((r) => r.flags === undefined || r.flags.includes(flag)).map((r) => [flag, r.name] as [string, string])
  ]))
  rules.start()

  const handshakeTimeoutMs = Math.max(config.backends.legacy.timeouts.response_ms, config.backends.new.timeouts.response_ms)
  await proxy.register(websocketPlugin, { ctx, router, handshakeTimeoutMs })
  await proxy.register(proxyPlugin, { ctx, router })
  proxy.addHook('onClose', async () => {
    await shadowing?.close()
    await Promise.all([upstreams.legacy.close(), upstreams.new.close()])
  })

  const admin = Fastify({
    loggerInstance: log.child({ server: 'admin' }),
    logController: new LogController({ disableRequestLogging: !config.logging.access_log }),
    bodyLimit: config.admin.body_limit_bytes
  } as never) as unknown as FastifyInstance
  const notReadyBecause = (): string[] => [
    ...(ctx.closing ? ['shutting down'] : []),
    ...(flags.ready ? [] : [`flags not loaded yet from ${flags.location}`])
  ]
  await admin.register(healthPlugin, { registry, notReadyBecause })
  await admin.register(adminPlugin, {
    token: adminToken,
    control,
    flags,
    states,
    audit,
    table: router.table,
    traffic,
    windowSeconds: WINDOW_SECONDS,
    shadowing,
    rules,
    plans,
    reporter,
    cluster
  })
  if (adminToken === null) log.warn({ host: config.admin.host }, 'SWITCHYARD_ADMIN_TOKEN is not set: the admin API is open to every local process')

  let closed: Promise<{ drained: boolean }> | null = null

  return {
    proxy,
    admin,
    metrics,
    control,
    shadowing,
    rules,
    flags,
    cluster,
    reporter,
    get ready () { return notReadyBecause().length === 0 },
    get inflight () { return ctx.inflight },
    async listen () {
      const proxyUrl = await proxy.listen({ host: config.listen.host, port: config.listen.port })
      const adminUrl = await admin.listen({ host: config.admin.host, port: config.admin.port })
      return { proxyUrl, adminUrl }
    },
    shutdown () {
      closed ??= (async () => {
        ctx.closing = true
        if (config.shutdown.unready_delay_ms > 0) await sleep(config.shutdown.unready_delay_ms)
        const proxyClosed = proxy.close()
        const drained = await Promise.race([
          proxyClosed.then(() => true),
          sleep(config.shutdown.drain_timeout_ms, false, { ref: false })
        ])
        if (!drained) {
          log.warn({ inflight: ctx.inflight }, 'drain timeout reached; closing the remaining connections')
          proxy.server.closeAllConnections()
          await proxyClosed
        }
        await rules.stop()
        await cluster?.close()
        await reporter.flush(2_000)
        await admin.close()
        await flags.close()
        await audit.close()
        return { drained }
      })()
      return closed
    }
  }
}

function checkFlagsExist (used: string[], flags: FlagSource, log: FastifyBaseLogger): void {
  const missing = used.filter((f) => !flags.has(f))
  if (missing.length === 0) return
  if (flags.kind === 'embedded') {
    throw errors.FLAGS_INVALID(flags.location, `the routes use flags it does not define: ${missing.join(', ')}; add them (with a flexibleRollout strategy) or fix the routes' flag names`)
  }
  // An Unleash server may not have them yet, or may not have answered: those routes stay on legacy.
  log.warn({ missing }, 'routes use flags the Unleash server does not know (yet); their traffic stays on legacy')
}
