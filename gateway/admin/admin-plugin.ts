// The admin API under /admin: JSON only, bearer token, and errors that say what to fix. It validates
// strictly (no type coercion: "50" is not a percentage) and changes nothing on bad input.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import swagger from '@fastify/swagger'
import { Ajv } from 'ajv'
import { errors, isSwitchyardError, SwitchyardError } from '../errors.ts'
import type { RolloutControl, Actor } from '../control/rollout-control.ts'
import type { FlagSource } from '../flags/flag-source.ts'
import type { TrafficWindow } from '../metrics/traffic-window.ts'
import type { RouteTable } from '../routing/route-table.ts'
import type { AuditLog } from '../state/audit-log.ts'
import type { Shadowing } from '../shadow/shadowing.ts'
import type { RuleEvaluator } from '../rules/rule-evaluator.ts'
import type { StepPlans } from '../rules/step-plans.ts'
import type { ErrorReporter } from '../observability/error-reporter.ts'
import type { FlagStates } from '../state/flag-states.ts'
import type { Cluster } from '../cluster/cluster.ts'
import { tokenChecker } from './auth.ts'
import { EventsQuery, FlagParams, ReasonBody, RouteParams, SetPercentBody, responses } from './schemas.ts'
import { shadowRouteJson, shadowSampleJson } from './shadow-json.ts'
import { validationMessage } from './validation-message.ts'

export interface AdminPluginOptions {
  token: string | null
  control: RolloutControl
  flags: FlagSource
  states: FlagStates
  audit: AuditLog
  table: RouteTable
  traffic: TrafficWindow
  windowSeconds: number
  shadowing: Shadowing | null
  rules: RuleEvaluator
  plans: StepPlans
  reporter: ErrorReporter
  cluster: Cluster | null
}

const ClusterStatusSchema = {
  type: 'object',
  properties: {
    enabled: { type: 'boolean', description: 'false: one replica, state in process (no REDIS_URL)' },
    replica: { type: 'string' },
    redis: { type: 'object', properties: { url: { type: 'string' }, up: { type: 'boolean' }, last_error: { type: ['string', 'null'] } } },
    leader: { type: ['string', 'null'], description: 'the replica that evaluates the rules, as last seen' },
    this_replica_leads: { type: 'boolean' },
    shared_windows: { type: 'boolean', description: 'whether the rules read every replica\'s counters (false while Redis is away)' },
    pending_changes: { type: 'integer', description: 'changes made here while Redis was away, not yet shared' },
    pending_events: { type: 'integer', description: 'audit events written here while Redis was away, not yet in the shared trail' },
    last_resync: { type: ['string', 'null'] }
  }
} as const

const MAX_ACTOR = 200

export async function adminPlugin (app: FastifyInstance, opts: AdminPluginOptions): Promise<void> {
  const { control, flags, states, audit, table, traffic } = opts
  const authorized = opts.token === null ? null : tokenChecker(opts.token)

  await app.register(swagger, {
    openapi: {
      info: { title: 'Switchyard admin API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }]
    }
  })

  // JSON only: Fastify's text/plain parser would let a text body through to validation.
  app.removeContentTypeParser('text/plain')
  // Bodies are validated as sent ("50" is not a percentage); query strings and path parameters are text
  // by nature, so they are coerced.
  const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false })
  const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false })
  for (const ajv of [strict, coercing]) ajv.addKeyword({ keyword: 'example' })
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema))

  app.addHook('onRequest', async (request) => {
    if (authorized !== null && !authorized(request.headers.authorization)) throw errors.UNAUTHORIZED()
  })

  app.setErrorHandler((err: FastifyError | SwitchyardError, request, reply) => {
    const e = toSwitchyardError(err, request)
    if (e.statusCode >= 500) {
      request.log.error({ err }, 'admin call failed')
      opts.reporter.error(err, { component: 'admin', endpoint: `${request.method} ${request.routeOptions.url ?? request.url}`, code: e.code })
    }
    return reply.code(e.statusCode).send(e.toJSON())
  })
  app.setNotFoundHandler((request, reply) => {
    const e = errors.NOT_FOUND(request.method, request.url)
    return reply.code(404).send(e.toJSON())
  })

  const who = (request: FastifyRequest, reason: string): Actor => {
    const h = request.headers['x-switchyard-actor']
    const actor = typeof h === 'string' && h.trim() !== '' ? h.trim().slice(0, MAX_ACTOR) : 'admin-api'
    return { actor, source: request.ip, reason: reason.trim() }
  }
  const errorResponses = { 400: responses.error, 401: responses.error, 404: responses.error, 409: responses.error, 413: responses.error }

  app.get('/admin/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  app.get('/admin/routes', {
    schema: { summary: 'Every route: its flag, percentage, state and traffic share over the last minute', response: { 200: responses.routes, 401: responses.error } }
  }, async () => ({
    flag_source: { kind: flags.kind, location: flags.location, healthy: flags.healthy ?? null, last_error: flags.lastError?.message ?? null, pending_writes: flags.pendingWrites?.() ?? [] },
    window_seconds: opts.windowSeconds,
    replicas: replicasJson(opts.cluster),
    // What needs a look: rules failing now, and rules that could get no value (a query's error).
    rule_alerts: opts.rules.snapshot().flatMap((s) => s.last !== null && (s.last.status === 'fail' || s.last.error !== undefined)
      ? [{ rule: s.rule, flag: s.flag, status: s.last.status, failing: s.failing, consecutive_required: s.consecutive_required, summary: s.last.summary, error: s.last.error?.message ?? null }]
      : []),
    routes: table.routes.map((r) => {
      const s = r.flag === null ? null : states.get(r.flag)
      const t = traffic.totals(r.name, opts.windowSeconds)
      const total = t.legacy + t.new
      return {
        name: r.name,
        flag: r.flag,
        percent: r.flag === null ? 0 : flags.percent(r.flag),
        state: s?.state ?? 'running',
        state_reason: s?.reason ?? null,
        state_since: s?.since ?? null,
        state_actor: s?.actor ?? null,
        traffic: { legacy: t.legacy, new: t.new, legacy_errors: t.legacyErrors, new_errors: t.newErrors, new_share: total === 0 ? 0 : t.new / total }
      }
    })
  }))

  app.put<{ Params: { flag: string }, Body: { percent: number, reason: string } }>('/admin/flags/:flag', {
    schema: { summary: 'Set the percentage of sticky keys a flag sends to new', params: FlagParams, body: SetPercentBody, response: { 200: responses.setPercent, ...errorResponses } }
  }, async (request) => control.setPercent(request.params.flag, request.body.percent, who(request, request.body.reason)))

  app.post<{ Params: { flag: string }, Body: { reason: string } }>('/admin/flags/:flag/rollback', {
    schema: { summary: 'Send every route of a flag to legacy now and set it to 0%', params: FlagParams, body: ReasonBody, response: { 200: responses.stateChange, ...errorResponses } }
  }, async (request) => control.rollback(request.params.flag, who(request, request.body.reason)))

  app.post<{ Params: { flag: string }, Body: { reason: string } }>('/admin/flags/:flag/pause', {
    schema: { summary: 'Hold a flag at its percentage: its step plan does not advance until resumed', params: FlagParams, body: ReasonBody, response: { 200: responses.stateChange, ...errorResponses } }
  }, async (request) => control.pause(request.params.flag, who(request, request.body.reason)))

  app.post<{ Params: { flag: string }, Body: { reason: string } }>('/admin/flags/:flag/promote', {
    schema: { summary: 'Send all of a flag to new (100 %) and mark the rollout done', params: FlagParams, body: ReasonBody, response: { 200: responses.stateChange, ...errorResponses } }
  }, async (request) => control.promote(request.params.flag, who(request, request.body.reason)))

  app.get('/admin/plans', {
    schema: { summary: 'Every step plan: its steps, where the flag is, and what the next step waits for', response: { 200: responses.plans, 401: responses.error } }
  }, async () => ({ plans: opts.plans.snapshot() }))

  app.post<{ Params: { flag: string }, Body: { reason: string } }>('/admin/flags/:flag/resume', {
    schema: { summary: 'End a rollback; the percentage stays where it is until raised', params: FlagParams, body: ReasonBody, response: { 200: responses.stateChange, ...errorResponses } }
  }, async (request) => control.resume(request.params.flag, who(request, request.body.reason)))

  app.get('/admin/rules', {
    schema: { summary: 'Every rule on every flag it watches: the last verdict, the value observed, and failing evaluations in a row', response: { 200: responses.rules, 401: responses.error } }
  }, async () => ({ rules: opts.rules.snapshot() }))

  app.get('/admin/cluster', {
    schema: { summary: 'The replicas\' shared state: Redis, which replica evaluates the rules, and what waits to be shared', response: { 200: ClusterStatusSchema, 401: responses.error } }
  }, async () => opts.cluster === null ? { enabled: false } : { enabled: true, ...opts.cluster.status() })

  app.get('/admin/shadow', {
    schema: { summary: 'Shadow comparison of every shadowed route: counts, match rate, window, top fields, noise', response: { 200: responses.shadowList, 401: responses.error } }
  }, async () => ({ routes: (opts.shadowing?.routes() ?? []).map(shadowRouteJson) }))

  app.get<{ Params: { route: string } }>('/admin/shadow/:route', {
    schema: { summary: 'One shadowed route, with its latest mismatch samples (redacted), newest first', params: RouteParams, response: { 200: responses.shadowRoute, 401: responses.error, 404: responses.error } }
  }, async (request) => {
    const found = opts.shadowing?.route(request.params.route) ?? null
    if (found === null) throw errors.UNKNOWN_SHADOW_ROUTE(request.params.route, (opts.shadowing?.routes() ?? []).map((r) => r.route))
    return { ...shadowRouteJson(found.view), samples: found.samples.map(shadowSampleJson) }
  })

  app.get<{ Querystring: { limit: number, flag?: string } }>('/admin/events', {
    schema: { summary: 'The audit log, newest first', querystring: EventsQuery, response: { 200: responses.events, 400: responses.error, 401: responses.error } }
  }, async (request) => {
    const query = { limit: request.query.limit, ...(request.query.flag !== undefined ? { flag: request.query.flag } : {}) }
    // With several replicas, every replica's events; this replica's own while Redis is away.
    return { events: await opts.cluster?.audit.list(query) ?? audit.list(query) }
  })
}

function replicasJson (cluster: Cluster | null): object | null {
  if (cluster === null) return null
  const s = cluster.status()
  return { redis: s.redis.url, redis_up: s.redis.up, leader: s.leader, this_replica: s.replica, pending_changes: s.pending_changes }
}

function toSwitchyardError (err: FastifyError | SwitchyardError, request: FastifyRequest): SwitchyardError {
  if (isSwitchyardError(err)) return err
  const e = err as FastifyError & { validationContext?: string }
  if (e.validation !== undefined) {
    const context = e.validationContext ?? 'body'
    const data = context === 'querystring' ? request.query : context === 'params' ? request.params : request.body
    const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context]
    return Object.assign(errors.BAD_BODY(validationMessage(e.validation, context, data, schema as never)), { cause: err })
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return Object.assign(errors.BODY_TOO_LARGE(request.routeOptions.bodyLimit ?? request.server.initialConfig.bodyLimit ?? 0), { cause: err })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return Object.assign(errors.UNSUPPORTED_MEDIA_TYPE(String(request.headers['content-type'] ?? '')), { cause: err })
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return Object.assign(errors.BAD_JSON(e.message), { cause: err })
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return Object.assign(errors.BAD_JSON('the body is empty'), { cause: err })
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return Object.assign(errors.BAD_BODY('content-length does not match the body sent'), { cause: err })
  }
  if (e.statusCode === 400 && err instanceof SyntaxError) return Object.assign(errors.BAD_JSON(err.message), { cause: err })
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new SwitchyardError(e.code ?? 'SY_ERR_BAD_REQUEST', e.statusCode, e.message, { cause: err })
  }
  return new SwitchyardError('SY_ERR_INTERNAL', 500, 'the admin API failed unexpectedly; the gateway log has the details', { cause: err })
}
