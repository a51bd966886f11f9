// The one catalogue of Switchyard's own errors. Every error a client, an operator or a test can see has a
// stable SY_ERR_* code, an HTTP status and a message that says what to do. Code branches on `err.code`,
// never on message text.

export interface SwitchyardErrorJson {
  statusCode: number
  code: string
  error: string
  message: string
}

const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout'
}

export class SwitchyardError extends Error {
  readonly code: string
  readonly statusCode: number

  constructor (code: string, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SwitchyardError'
    this.code = code
    this.statusCode = statusCode
  }

  toJSON (): SwitchyardErrorJson {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: REASON_PHRASES[this.statusCode] ?? 'Error',
      message: this.message
    }
  }
}

type Factory<A extends unknown[]> = ((...args: A) => SwitchyardError) & { code: string, statusCode: number }

function define<A extends unknown[]> (code: string, statusCode: number, message: (...args: A) => string): Factory<A> {
  const make = (...args: A): SwitchyardError => new SwitchyardError(code, statusCode, message(...args))
  return Object.assign(make, { code, statusCode })
}

export const errors = {
  // Configuration: raised at startup, before anything listens.
  CONFIG_INVALID: define('SY_ERR_CONFIG_INVALID', 500, (problems: string) => problems),
  CONFIG_UNREADABLE: define('SY_ERR_CONFIG_UNREADABLE', 500, (file: string, why: string) =>
    `cannot read the config file ${file}: ${why}`),
  FLAGS_INVALID: define('SY_ERR_FLAGS_INVALID', 500, (file: string, problem: string) =>
    `${file}: ${problem}`),
  ADMIN_TOKEN_REQUIRED: define('SY_ERR_ADMIN_TOKEN_REQUIRED', 500, (host: string) =>
    `the admin API would listen on ${host}, which is not a loopback address, without a token: ` +
    'set SWITCHYARD_ADMIN_TOKEN, or set admin.host to 127.0.0.1'),

  // The request path.
  UNKNOWN_VERSION: define('SY_ERR_UNKNOWN_VERSION', 400, (header: string, value: string, known: string[]) =>
    `${header}: ${JSON.stringify(value)} is not a known API version; use one of ${known.join(', ')}`),
  UPSTREAM_UNAVAILABLE: define('SY_ERR_UPSTREAM_UNAVAILABLE', 502, (backend: string) =>
    `the ${backend} backend could not be reached or closed the connection; retry later`),
  UPSTREAM_TIMEOUT: define('SY_ERR_UPSTREAM_TIMEOUT', 504, (backend: string) =>
    `the ${backend} backend did not answer in time; retry later`),
  UPSTREAM_PROTOCOL: define('SY_ERR_UPSTREAM_PROTOCOL', 502, (backend: string) =>
    `the ${backend} backend sent an invalid HTTP response`),
  BAD_REQUEST_TARGET: define('SY_ERR_BAD_REQUEST_TARGET', 400, (why: string) =>
    `the request target is not valid: ${why}`),
  SHUTTING_DOWN: define('SY_ERR_SHUTTING_DOWN', 503, () =>
    'this gateway replica is shutting down; retry, and another replica will answer'),

  // The admin API.
  UNAUTHORIZED: define('SY_ERR_UNAUTHORIZED', 401, () =>
    'missing or wrong bearer token: send Authorization: Bearer <SWITCHYARD_ADMIN_TOKEN>'),
  UNKNOWN_FLAG: define('SY_ERR_UNKNOWN_FLAG', 404, (flag: string, known: string[]) =>
    `there is no flag named ${JSON.stringify(flag)}; known flags: ${known.join(', ') || '(none)'}`),
  UNKNOWN_SHADOW_ROUTE: define('SY_ERR_UNKNOWN_SHADOW_ROUTE', 404, (route: string, known: string[]) =>
    `no route named ${JSON.stringify(route)} is shadowed; shadowed routes: ${known.join(', ') || '(none: add shadow: to a route in the config)'}`),
  NOT_FOUND: define('SY_ERR_NOT_FOUND', 404, (method: string, url: string) =>
    `${method} ${url} is not an admin API endpoint; GET /admin/openapi.json lists them`),
  BAD_BODY: define('SY_ERR_BAD_BODY', 400, (why: string) => why),
  BAD_JSON: define('SY_ERR_BAD_JSON', 400, (why: string) =>
    `the request body is not valid JSON (${why}); send a JSON object`),
  BODY_TOO_LARGE: define('SY_ERR_BODY_TOO_LARGE', 413, (limit: number) =>
    `the request body is larger than ${limit} bytes; send a smaller JSON object`),
  UNSUPPORTED_MEDIA_TYPE: define('SY_ERR_UNSUPPORTED_MEDIA_TYPE', 415, (type: string) =>
    `content-type ${JSON.stringify(type)} is not accepted; send application/json`),
  FLAG_ROLLED_BACK: define('SY_ERR_FLAG_ROLLED_BACK', 409, (flag: string) =>
    `${flag} is rolled back, so its percentage cannot change; resume it first (switchyard resume ${flag})`),
  FLAG_NOT_ROLLED_BACK: define('SY_ERR_FLAG_NOT_ROLLED_BACK', 409, (flag: string, state: string) =>
    `${flag} is ${state}, not rolled_back; there is nothing to resume`),
  FLAG_NOT_RUNNING: define('SY_ERR_FLAG_NOT_RUNNING', 409, (flag: string, state: string, action: string) =>
    `${flag} is ${state}, so it cannot be ${action}${state === 'rolled_back' ? `; resume it first (switchyard resume ${flag})` : ''}`),
  FLAG_READ_ONLY: define('SY_ERR_FLAG_SOURCE_READ_ONLY', 501, (why: string) => why),

  // Writing a percentage back to the Unleash server through its Admin API (UNLEASH_ADMIN_TOKEN).
  UNLEASH_UNAVAILABLE: define('SY_ERR_UNLEASH_UNAVAILABLE', 503, (url: string, why: string, then: string) =>
    `the Unleash server at ${url} cannot be reached (${why}); ${then}`),
  UNLEASH_TOKEN_REJECTED: define('SY_ERR_UNLEASH_TOKEN_REJECTED', 502, (url: string, status: number, why: string, fix: string) =>
    `the Unleash server at ${url} refused UNLEASH_ADMIN_TOKEN (${status}: ${why}); ${fix}; nothing was changed`),
  UNLEASH_FLAG_NOT_FOUND: define('SY_ERR_UNLEASH_FLAG_NOT_FOUND', 404, (flag: string, url: string, projects: string[]) =>
    `the Unleash server at ${url} has no flag named ${JSON.stringify(flag)} in any project (${projects.join(', ') || 'none'}); ` +
    'create it there with a flexibleRollout strategy, or fix the route\'s flag name; nothing was changed'),
  UNLEASH_ENVIRONMENT_NOT_FOUND: define('SY_ERR_UNLEASH_ENVIRONMENT_NOT_FOUND', 404, (flag: string, project: string, environment: string, known: string[]) =>
    `the flag ${flag} (Unleash project ${project}) has no environment ${JSON.stringify(environment)}; it has ${known.join(', ') || 'none'}: ` +
    'set flags.environment to the environment the gateway\'s client token reads; nothing was changed'),
  UNLEASH_NO_ROLLOUT: define('SY_ERR_UNLEASH_NO_ROLLOUT', 409, (flag: string, project: string, environment: string, found: number) =>
    (found === 0
      ? `the flag ${flag} has no enabled flexibleRollout (gradual rollout) strategy in environment ${environment} of Unleash project ${project}; add one there, so that the gateway can set its percentage`
      : `the flag ${flag} has ${found} enabled flexibleRollout strategies in environment ${environment} of Unleash project ${project}, so no one percentage describes it; keep one`) +
    '; nothing was changed'),
  UNLEASH_REFUSED: define('SY_ERR_UNLEASH_REFUSED', 502, (url: string, what: string, status: number, why: string) =>
    `the Unleash server at ${url} refused to ${what} (${status}: ${why}); nothing was changed`),
  FLAG_WRITE_FAILED: define('SY_ERR_FLAG_WRITE_FAILED', 500, (flag: string, why: string) =>
    `could not save the new state of ${flag}: ${why}; nothing was changed`),
  SHARED_STATE_UNAVAILABLE: define('SY_ERR_SHARED_STATE_UNAVAILABLE', 503, (why: string) =>
    `Redis, which every replica shares its state through, cannot be reached (${why}); nothing was changed. Retry when it is back (switchyard status shows it); a rollback still works meanwhile.`),
  AUDIT_WRITE_FAILED: define('SY_ERR_AUDIT_WRITE_FAILED', 500, (why: string) =>
    `could not write the audit log: ${why}; the change was undone`),

  // Rollback rules of metric promql: why a query gave no number. They make a verdict inconclusive, never fail.
  PROMETHEUS_UNAVAILABLE: define('SY_ERR_PROMETHEUS_UNAVAILABLE', 503, (url: string, why: string) =>
    `Prometheus at ${url} did not answer (${why}); promql rules are inconclusive until it does`),
  PROMQL_REJECTED: define('SY_ERR_PROMQL_REJECTED', 400, (kind: string, why: string) =>
    `Prometheus refused the query (${kind}): ${why}; fix the rule's query`),
  PROMQL_NOT_ONE_SERIES: define('SY_ERR_PROMQL_NOT_ONE_SERIES', 400, (n: number, differ: string) =>
    `the query returned ${n} series, and a rule compares one number: they differ in ${differ}; ` +
    'aggregate them to one, for example with sum(...) or max(...)'),
  PROMQL_RESULT_TYPE: define('SY_ERR_PROMQL_RESULT_TYPE', 400, (type: string) =>
    `the query returned a ${type}; a rule needs an instant vector of one series or a scalar ` +
    '(for a range such as x[5m], take rate(x[5m]) or another function over it)'),
  PROMQL_TOO_LARGE: define('SY_ERR_PROMQL_TOO_LARGE', 400, (limit: number) =>
    `the answer is larger than ${limit} bytes, so the query returns many series where a rule compares one number; ` +
    'aggregate them to one, for example with sum(...) or max(...)')
} as const

export function isSwitchyardError (err: unknown): err is SwitchyardError {
  return err instanceof SwitchyardError
}
