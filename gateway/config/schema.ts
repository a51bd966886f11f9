// The one schema of the gateway's configuration. The TypeScript type is derived from it, so the validator
// and the code cannot disagree. Keys are snake_case because users write them in YAML.
import { Type, type Static } from '@sinclair/typebox'

const Port = Type.Integer({ minimum: 0, maximum: 65535, description: 'a TCP port, 0 to 65535 (0 picks a free one)' })
const Millis = (def: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 3_600_000, default: def, description: `${description}, in milliseconds` })
const BackendName = Type.Union([Type.Literal('legacy'), Type.Literal('new')], { description: 'legacy or new' })
const Method = Type.Union(
  ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)),
  { description: 'an HTTP method in capitals: GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS' }
)

export const BackendSchema = Type.Object({
  url: Type.String({
    pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
    description: 'the base URL, http:// or https://, with an optional base path and no query'
  }),
  connections: Type.Integer({ minimum: 1, maximum: 10_000, default: 256, description: 'the most sockets the pool opens' }),
  keep_alive_ms: Millis(4_000, 'how long an idle upstream socket is kept'),
  timeouts: Type.Object({
    connect_ms: Millis(2_000, 'the time allowed to open a connection'),
    response_ms: Millis(30_000, 'the time allowed until the response headers arrive'),
    idle_ms: Millis(30_000, 'the longest pause allowed between two chunks of a body')
  }, { default: {}, additionalProperties: false })
}, { additionalProperties: false })

export const VersionSchema = Type.Object({
  prefix: Type.String({ pattern: '^/[A-Za-z0-9._~-]+$', description: 'one path segment, such as /v1' }),
  backend: BackendName,
  strip: Type.Boolean({ default: true, description: 'remove the prefix before forwarding' }),
  accept_version: Type.Optional(Type.String({
    minLength: 1,
    maxLength: 32,
    description: 'the Accept-Version value that pins this version (default: the prefix without "/v")'
  }))
}, { additionalProperties: false })

const Percent = (description: string) => Type.Number({ minimum: 0, maximum: 100, default: 0, description: `${description}, a percentage from 0 to 100` })
const Pointer = Type.String({
  pattern: '^(/[^/]*)*$',
  maxLength: 500,
  description: 'a JSON Pointer such as /items/*/updated_at ("" is the whole body; * matches any one segment)'
})
const HeaderName = Type.String({ pattern: '^[a-z0-9-]+$', description: 'a header name in lower case' })

export const ShadowSchema = Type.Object({
  percent: Percent('the share of the route\'s requests also sent to the other backend'),
  methods: Type.Array(Method, { minItems: 1, uniqueItems: true, default: ['GET', 'HEAD'], description: 'the methods shadowed' }),
  side_effect_free: Type.Boolean({
    default: false,
    description: 'the route\'s methods change nothing, so a request may be sent twice (required to shadow any method but GET and HEAD)'
  }),
  max_body_bytes: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 1024 * 1024, description: 'the largest request or answer body buffered for a comparison; larger ones are dropped' }),
  concurrency: Type.Integer({ minimum: 1, maximum: 10_000, default: 32, description: 'the most shadow requests of this route in flight; more are dropped' }),
  timeout_ms: Millis(5_000, 'the time a shadow request may take, body included'),
  noise_percent: Percent('the share of shadowed requests also sent a second time to the backend that answered, to learn which fields differ between two answers of one backend'),
  compare: Type.Object({
    headers: Type.Array(HeaderName, { default: ['content-type'], description: 'the response headers compared' }),
    ignore: Type.Array(Pointer, { default: [], description: 'JSON Pointers never compared' }),
    tolerance: Type.Object({
      absolute: Type.Number({ minimum: 0, default: 0, description: 'numbers this close are equal' }),
      relative: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'numbers within this fraction of the larger are equal' })
    }, { default: {}, additionalProperties: false }),
    unordered: Type.Array(Type.Object({
      path: Pointer,
      key: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'the member that identifies an element' }))
    }, { additionalProperties: false }), { default: [], description: 'arrays compared ignoring order, matched by key where one is given' })
  }, { default: {}, additionalProperties: false }),
  redact: Type.Array(Type.String({ minLength: 1, maxLength: 500 }), {
    default: ['email', 'token', 'password', 'authorization'],
    description: 'keys (at any depth) or JSON Pointers whose values are hidden in stored samples'
  })
}, { additionalProperties: false })

export const RouteSchema = Type.Object({
  name: Type.String({
    pattern: '^[a-z][a-z0-9_-]{0,62}$',
    description: 'a short name in lower case (letters, digits, - and _), used in metrics and logs'
  }),
  paths: Type.Array(Type.String({ pattern: '^/', description: 'a path pattern starting with /' }), {
    minItems: 1,
    description: 'path patterns such as "/items", "/items/*" or "/ws/:session"'
  }),
  methods: Type.Optional(Type.Array(Method, { minItems: 1, uniqueItems: true })),
  flag: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the Unleash flag that splits this route' })),
  failover: Type.Boolean({ default: true, description: 'answer failed GET and HEAD sent to new from legacy' }),
  shadow: Type.Optional(ShadowSchema)
}, { additionalProperties: false })

export const RULE_METRICS = ['error_rate', 'latency_p95', 'latency_p99', 'mismatch_rate', 'relative_error_rate', 'promql'] as const
/** How long a promql rule's query may take when the rule does not say. */
export const DEFAULT_PROMQL_TIMEOUT_MS = 5_000

const PromQL = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 4_000, description }))

export const RuleSchema = Type.Object({
  name: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$', description: 'a short name in lower case, used in metrics, audit events and logs' }),
  metric: Type.Union(RULE_METRICS.map((m) => Type.Literal(m)), {
    description: 'error_rate, latency_p95, latency_p99, mismatch_rate, relative_error_rate or promql'
  }),
  window_seconds: Type.Integer({ minimum: 1, maximum: 600, default: 30, description: 'the sliding window the metric is measured over, in seconds (for promql, what {{window}} stands for)' }),
  min_requests: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50, description: 'below this many samples in the window the verdict is inconclusive (for promql, the value of samples_query)' }),
  threshold: Type.Number({
    minimum: 0,
    description: 'fails above it: a fraction for error_rate and mismatch_rate (0.05 is 5 %), seconds for latency, a ratio of new\'s error rate to legacy\'s for relative_error_rate, ' +
      'the query\'s unit for promql (below it with fail_when: below)'
  }),
  min_difference: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 0.01,
    description: 'relative_error_rate only: new\'s error rate must also exceed legacy\'s by this much (0.01 is one point)'
  }),
  consecutive: Type.Integer({ minimum: 1, maximum: 1_000, default: 3, description: 'failing evaluations in a row before it rolls back' }),
  flags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, uniqueItems: true, description: 'the flags it watches (all by default)' })),
  query: PromQL('promql only: a PromQL query whose answer is one number (a scalar, or an instant vector of one series); ' +
    '{{flag}}, {{routes}} and {{window}} are replaced for each flag the rule watches'),
  samples_query: PromQL('promql only: a PromQL query counting the evidence, such as new\'s requests in the window; below min_requests the verdict is inconclusive'),
  fail_when: Type.Optional(Type.Union([Type.Literal('above'), Type.Literal('below')], {
    description: 'promql only: above (the default) fails when the value is above threshold, below when it is under it'
  })),
  timeout_ms: Type.Optional(Type.Integer({
    minimum: 100,
    maximum: 60_000,
    description: `promql only: how long each query may take, in milliseconds (${DEFAULT_PROMQL_TIMEOUT_MS} by default); past it the verdict is inconclusive`
  }))
}, { additionalProperties: false })

export const PlanSchema = Type.Object({
  flag: Type.String({ minLength: 1, maxLength: 200, description: 'the flag the plan moves' }),
  steps: Type.Array(Type.Integer({ minimum: 1, maximum: 100 }), { minItems: 1, maxItems: 100, description: 'the percentages to go through, rising, such as [5, 25, 50, 75, 95, 100]' }),
  hold_seconds: Type.Integer({ minimum: 0, maximum: 7 * 24 * 3600, default: 300, description: 'how long each step is held at least, in seconds' }),
  min_requests: Type.Integer({ minimum: 0, maximum: 100_000_000, default: 100, description: 'requests new must serve during a step before the next' })
}, { additionalProperties: false })

export const ConfigSchema = Type.Object({
  listen: Type.Object({
    host: Type.String({ minLength: 1, default: '0.0.0.0' }),
    port: Port,
    keep_alive_timeout_ms: Millis(65_000, 'how long an idle client connection is kept (above your load balancer\'s)')
  }, { additionalProperties: false }),
  admin: Type.Object({
    host: Type.String({ minLength: 1, default: '127.0.0.1' }),
    port: Port,
    body_limit_bytes: Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 65_536 })
  }, { additionalProperties: false }),
  backends: Type.Object({ legacy: BackendSchema, new: BackendSchema }, {
    additionalProperties: false,
    description: 'exactly two backends, named legacy and new'
  }),
  versions: Type.Array(VersionSchema, { default: [] }),
  version_header: Type.String({ pattern: '^[A-Za-z0-9-]+$', default: 'accept-version' }),
  routes: Type.Array(RouteSchema, { default: [] }),
  sticky: Type.Object({
    header: Type.String({ pattern: '^[A-Za-z0-9-]+$', default: 'x-user-id' }),
    cookie: Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', default: 'session' })
  }, { default: {}, additionalProperties: false }),
  flags: Type.Object({
    file: Type.String({ minLength: 1, default: 'features.json', description: 'the embedded flag file (client-features format)' }),
    app_name: Type.String({ minLength: 1, default: 'switchyard' }),
    environment: Type.String({ minLength: 1, default: 'default' }),
    refresh_interval_ms: Millis(1_000, 'how often the Unleash server is polled')
  }, { default: {}, additionalProperties: false }),
  state: Type.Object({
    dir: Type.String({ minLength: 1, default: '../.switchyard', description: 'where the audit log and route states are kept' })
  }, { default: {}, additionalProperties: false }),
  shutdown: Type.Object({
    unready_delay_ms: Type.Integer({ minimum: 0, maximum: 120_000, default: 0, description: 'wait after /readyz turns false, before the listener closes' }),
    drain_timeout_ms: Millis(10_000, 'the longest wait for in-flight requests at shutdown')
  }, { default: {}, additionalProperties: false }),
  trust_proxy: Type.Union([Type.Boolean(), Type.Array(Type.String())], {
    default: false,
    description: 'true, false, or a list of addresses and CIDRs of the proxies in front of the gateway'
  }),
  shadow: Type.Object({
    buffer_budget_bytes: Type.Integer({ minimum: 1024 * 1024, maximum: 4 * 1024 * 1024 * 1024, default: 64 * 1024 * 1024, description: 'the most bytes all shadows in flight may buffer together; beyond it they are dropped' }),
    fields: Type.Integer({ minimum: 1, maximum: 1_000, default: 50, description: 'the mismatching fields counted by name per route; the rest count as "other"' }),
    samples: Type.Integer({ minimum: 0, maximum: 1_000, default: 20, description: 'the mismatch samples kept per route' }),
    sample_body_bytes: Type.Integer({ minimum: 256, maximum: 1024 * 1024, default: 16 * 1024, description: 'the most bytes kept of each answer in a sample' }),
    samples_bytes: Type.Integer({ minimum: 4096, maximum: 256 * 1024 * 1024, default: 1024 * 1024, description: 'the most bytes all samples of a route may take' }),
    window_seconds: Type.Integer({ minimum: 1, maximum: 3_600, default: 60, description: 'the window of the mismatch rate the rollback rules read' })
  }, { default: {}, additionalProperties: false }),
  rules: Type.Object({
    interval_ms: Type.Integer({ minimum: 100, maximum: 60_000, default: 1_000, description: 'how often every rule is evaluated, in milliseconds' }),
    list: Type.Array(RuleSchema, { default: [] })
  }, { default: {}, additionalProperties: false }),
  plans: Type.Array(PlanSchema, { default: [], description: 'step plans: percentages a flag goes through on its own while every rule passes' }),
  cluster: Type.Object({
    key_prefix: Type.String({ pattern: '^[A-Za-z0-9:_.-]{1,64}$', default: 'switchyard', description: 'the prefix of every Redis key and channel; replicas of one gateway share it, other gateways on the same Redis need their own' }),
    lease_ms: Type.Integer({ minimum: 500, maximum: 60_000, default: 3_000, description: 'how long the rule evaluator\'s lease lasts without renewal: the longest a dead leader delays evaluation' }),
    flush_interval_ms: Type.Integer({ minimum: 50, maximum: 5_000, default: 250, description: 'how often each replica writes its counters to Redis' }),
    resync_interval_ms: Type.Integer({ minimum: 500, maximum: 300_000, default: 5_000, description: 'how often each replica rereads every state and percentage from Redis, in case it missed a message' }),
    timeout_ms: Type.Integer({ minimum: 50, maximum: 30_000, default: 1_000, description: 'the longest a Redis command may take before Redis counts as down' })
  }, { default: {}, additionalProperties: false, description: 'several replicas sharing state through Redis (REDIS_URL)' }),
  logging: Type.Object({
    level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
    access_log: Type.Boolean({ default: false })
  }, { default: {}, additionalProperties: false })
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>
export type BackendConfig = Static<typeof BackendSchema>
export type RouteConfig = Static<typeof RouteSchema>
export type VersionConfig = Static<typeof VersionSchema>
export type ShadowConfig = Static<typeof ShadowSchema>
export type RuleConfig = Static<typeof RuleSchema>
export type PlanConfig = Static<typeof PlanSchema>
export type BackendId = 'legacy' | 'new'
export const BACKEND_IDS: readonly BackendId[] = ['legacy', 'new']
