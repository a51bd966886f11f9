// What `switchyard-service` runs, read once from its arguments and environment, checked, and frozen. Every
// problem is reported at once, naming the variable and what it expects, before anything connects.

export type ServiceName = 'legacy' | 'unified'

export interface ServiceSettings {
  readonly service: ServiceName
  readonly host: string
  readonly port: number
  /** The variable the database URL came from: LEGACY_DATABASE_URL for legacy, DATABASE_URL for unified. */
  readonly databaseVariable: 'LEGACY_DATABASE_URL' | 'DATABASE_URL'
  readonly databaseUrl: string
  readonly logLevel: string
  /** The longest wait for in-flight requests after SIGTERM; what is left is cut. */
  readonly drainTimeoutMs: number
  /** The most connections the database pool opens. */
  readonly poolSize: number
}

export const SERVICE_NAMES: readonly ServiceName[] = ['legacy', 'unified']

/** The ports of the example (README "Quick start"), so that the same URLs work in both. */
export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = { legacy: 8001, unified: 8002 }
export const DEFAULT_HOST = '0.0.0.0'
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000
export const DEFAULT_POOL_SIZE = 10
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export const USAGE = `Usage: switchyard-service legacy|unified

Runs one service of the data layer over HTTP: legacy (v2.0, on the legacy tables) or unified (v3.5 and the
v2.0 endpoints, on the unified schema), with /healthz, /readyz (checks the database) and /metrics.

Environment:
  LEGACY_DATABASE_URL     legacy: the legacy database (postgres://...)
  DATABASE_URL            unified: the unified database (postgres://...)
  PORT                    the port to listen on (legacy 8001, unified 8002)
  HOST                    the address to listen on (${DEFAULT_HOST})
  LOG_LEVEL               fatal, error, warn, info, debug, trace or silent (info)
  DRAIN_TIMEOUT_MS        the longest wait for in-flight requests after SIGTERM (${DEFAULT_DRAIN_TIMEOUT_MS})
  DATABASE_POOL_SIZE      the most database connections (${DEFAULT_POOL_SIZE})
`

export class ServiceUsageError extends Error {
  readonly code = 'SY_ERR_SERVICE_USAGE'
}

export function serviceSettings (argv: string[], env: Record<string, string | undefined>): ServiceSettings {
  const [service, ...extra] = argv
  if (service === undefined || !(SERVICE_NAMES as readonly string[]).includes(service)) {
    throw new ServiceUsageError(service === undefined
      ? 'name the service to run: legacy or unified'
      : `unknown service ${JSON.stringify(service)}; expected legacy or unified`)
  }
  if (extra.length > 0) throw new ServiceUsageError(`unexpected argument ${JSON.stringify(extra[0])}; the settings come from the environment`)
  const name = service as ServiceName
  const problems: string[] = []
  const integer = (variable: string, fallback: number, min: number, max: number, what: string): number => {
    const v = nonEmpty(env[variable])
    if (v === null) return fallback
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push(`${variable}: expected ${what}, ${min} to ${max}, got ${JSON.stringify(v)}`)
      return fallback
    }
    return Number(v)
  }
  const port = integer('PORT', DEFAULT_PORTS[name], 0, 65535, 'a TCP port')
  const drainTimeoutMs = integer('DRAIN_TIMEOUT_MS', DEFAULT_DRAIN_TIMEOUT_MS, 1, 3_600_000, 'a number of milliseconds')
  const poolSize = integer('DATABASE_POOL_SIZE', DEFAULT_POOL_SIZE, 1, 1000, 'a number of connections')
  const logLevel = nonEmpty(env.LOG_LEVEL) ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`)
  const databaseVariable = name === 'legacy' ? 'LEGACY_DATABASE_URL' : 'DATABASE_URL'
  const databaseUrl = nonEmpty(env[databaseVariable])
  if (databaseUrl === null) {
    problems.push(`${databaseVariable}: required; the ${name} service's database, such as postgres://user:password@host:5432/${name}`)
  } else if (!/^postgres(ql)?:\/\/\S+$/.test(databaseUrl)) {
    problems.push(`${databaseVariable}: expected a postgres:// URL, got something else (not shown: it may hold a password)`)
  }
  if (problems.length > 0) throw new ServiceUsageError(`the ${name} service's environment is not valid:\n  - ${problems.join('\n  - ')}`)
  return Object.freeze({
    service: name,
    host: nonEmpty(env.HOST) ?? DEFAULT_HOST,
    port,
    databaseVariable,
    databaseUrl: databaseUrl!,
    logLevel,
    drainTimeoutMs,
    poolSize
  })
}

function nonEmpty (v: string | undefined): string | null {
  return v === undefined || v.trim() === '' ? null : v.trim()
}
