// Loads, completes and validates the configuration once, at startup, then freezes it. A bad file or
// environment variable stops the program with one message that names every bad key and what it expects.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { TypeCompiler, type ValueError } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { parse as parseYaml, YAMLParseError } from 'yaml'
import { errors } from '../errors.ts'
import { ConfigSchema, type Config } from './schema.ts'
import { checkRoutes } from './check-routes.ts'

export interface Secrets {
  /** SWITCHYARD_ADMIN_TOKEN: the bearer token of the admin API; null leaves it open on loopback only. */
  adminToken: string | null
  /**
   * UNLEASH_URL and UNLEASH_API_TOKEN: the Unleash server, or null for the embedded flag file. With
   * UNLEASH_ADMIN_TOKEN (an admin token of that server) the gateway writes percentages and rollbacks back
   * through the Admin API; without it the server's flags are read-only to the gateway.
   */
  unleash: { url: string, apiToken: string, adminToken: string | null } | null
  /** REDIS_URL: the Redis shared by every replica (overrides, states, windowed counters), or null for one replica. */
  redis: { url: string } | null
  /** PROMETHEUS_URL: the Prometheus that rules of metric `promql` query, or null when no rule does. */
  prometheus: { url: string } | null
  /** SENTRY_DSN (with SENTRY_ENVIRONMENT): where errors and rollbacks are reported, or null for nowhere. */
  sentry: { dsn: string, environment: string } | null
}

export interface GatewayConfig extends Config {
  /** Absolute path of the file the configuration came from, or null when it was given in memory. */
  readonly source: string | null
  readonly flagsFile: string
  readonly stateDir: string
  readonly secrets: Secrets
}

export type Env = Record<string, string | undefined>

const validator = TypeCompiler.Compile(ConfigSchema)

export function loadConfigFile (file: string, env: Env = {}): GatewayConfig {
  const path = resolve(file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw Object.assign(errors.CONFIG_UNREADABLE(path, (err as NodeJS.ErrnoException).code ?? String(err)), { cause: err })
  }
  let raw: unknown
  try {
    raw = parseYaml(text, { prettyErrors: true })
  } catch (err) {
    const why = err instanceof YAMLParseError ? err.message.split('\n')[0] : String(err)
    throw Object.assign(errors.CONFIG_INVALID(`${path}: not valid YAML: ${why}`), { cause: err })
  }
  return buildConfig(raw, { source: path, baseDir: dirname(path), env })
}

export function buildConfig (raw: unknown, opts: { source?: string | null, baseDir: string, env?: Env }): GatewayConfig {
  const env = opts.env ?? {}
  const where = opts.source ?? 'config'
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw errors.CONFIG_INVALID(`${where}: expected a mapping of keys (listen, admin, backends, routes, ...)`)
  }
  const problems: string[] = []
  const value = structuredClone(raw) as Record<string, any>
  applyEnv(value, env, problems)

  const completed = Value.Default(ConfigSchema, value) as Config
  if (!validator.Check(completed)) {
    problems.push(...describe([...validator.Errors(completed)]))
  } else {
    problems.push(...checkRoutes(completed, { prometheus: nonEmpty(env.PROMETHEUS_URL) !== null }))
  }

  const adminToken = nonEmpty(env.SWITCHYARD_ADMIN_TOKEN)
  const unleashUrl = nonEmpty(env.UNLEASH_URL)
  const unleashToken = nonEmpty(env.UNLEASH_API_TOKEN)
  if (unleashUrl !== null && !/^https?:\/\//.test(unleashUrl)) {
    problems.push(`UNLEASH_URL: expected an http(s) URL such as http://unleash:4242/api, got ${JSON.stringify(unleashUrl)}`)
  }
  if (unleashUrl !== null && unleashToken === null) {
    problems.push('UNLEASH_API_TOKEN: required when UNLEASH_URL is set (a client token of the Unleash server)')
  }
  const unleashAdminToken = nonEmpty(env.UNLEASH_ADMIN_TOKEN)
  if (unleashAdminToken !== null && unleashUrl === null) {
    problems.push('UNLEASH_ADMIN_TOKEN: set without UNLEASH_URL; set the server\'s URL too, or unset the token to use the embedded flag file')
  }
  const redisUrl = nonEmpty(env.REDIS_URL)
  if (redisUrl !== null && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    problems.push(`REDIS_URL: expected a redis:// or rediss:// URL such as redis://redis:6379/0, got ${JSON.stringify(redisUrl)}`)
  }
  const prometheusUrl = nonEmpty(env.PROMETHEUS_URL)
  if (prometheusUrl !== null && !/^https?:\/\/[^\s]+$/.test(prometheusUrl)) {
    problems.push(`PROMETHEUS_URL: expected an http(s) URL such as http://prometheus:9090, got ${JSON.stringify(prometheusUrl)}`)
  }
  const sentryDsn = nonEmpty(env.SENTRY_DSN)
  if (sentryDsn !== null && !/^https?:\/\/[^@/\s]+@[^/\s]+\/.+$/.test(sentryDsn)) {
    problems.push(`SENTRY_DSN: expected a Sentry DSN such as https://<key>@o0.ingest.sentry.io/<project>, got ${JSON.stringify(sentryDsn)}`)
  }
  if (adminToken !== null && adminToken.length < 16) {
    problems.push('SWITCHYARD_ADMIN_TOKEN: too short; use at least 16 random characters (openssl rand -hex 32)')
  }

  if (problems.length > 0) {
    throw errors.CONFIG_INVALID(`${where} is not valid:\n  - ${problems.join('\n  - ')}`)
  }

  const config: GatewayConfig = {
    ...completed,
    source: opts.source ?? null,
    flagsFile: resolve(opts.baseDir, completed.flags.file),
    stateDir: resolve(opts.baseDir, nonEmpty(env.SWITCHYARD_STATE_DIR) ?? completed.state.dir),
    secrets: {
      adminToken,
      unleash: unleashUrl !== null && unleashToken !== null ? { url: unleashUrl, apiToken: unleashToken, adminToken: unleashAdminToken } : null,
      redis: redisUrl !== null ? { url: redisUrl } : null,
      prometheus: prometheusUrl !== null ? { url: prometheusUrl.replace(/\/+$/, '') } : null,
      sentry: sentryDsn !== null ? { dsn: sentryDsn, environment: nonEmpty(env.SENTRY_ENVIRONMENT) ?? 'production' } : null
    }
  }
  return deepFreeze(config)
}

function applyEnv (value: Record<string, any>, env: Env, problems: string[]): void {
  const port = (name: string): number | undefined => {
    const v = nonEmpty(env[name])
    if (v === null) return undefined
    if (!/^\d+$/.test(v) || Number(v) > 65535) {
      problems.push(`${name}: expected a TCP port from 0 to 65535, got ${JSON.stringify(v)}`)
      return undefined
    }
    return Number(v)
  }
  const set = (section: string, key: string, v: unknown) => {
    if (v === undefined || v === null) return
    if (typeof value[section] !== 'object' || value[section] === null) value[section] = {}
    value[section][key] = v
  }
  set('listen', 'host', nonEmpty(env.SWITCHYARD_HOST))
  set('listen', 'port', port('SWITCHYARD_PORT'))
  set('admin', 'host', nonEmpty(env.SWITCHYARD_ADMIN_HOST))
  set('admin', 'port', port('SWITCHYARD_ADMIN_PORT'))
  const backendUrl = (id: string, name: string) => {
    const v = nonEmpty(env[name])
    if (v === null) return
    if (typeof value.backends !== 'object' || value.backends === null) value.backends = {}
    value.backends[id] = { ...(value.backends[id] ?? {}), url: v }
  }
  backendUrl('legacy', 'SWITCHYARD_LEGACY_URL')
  backendUrl('new', 'SWITCHYARD_NEW_URL')
  const level = nonEmpty(env.SWITCHYARD_LOG_LEVEL)
  if (level !== null) set('logging', 'level', level)
}

function describe (errs: ValueError[]): string[] {
  // A union reports one error per branch; the first error at a path says enough.
  const seen = new Set<string>()
  const out: string[] = []
  for (const e of errs) {
    const key = dotted(e.path)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(`${key}: ${explain(e)}`)
  }
  return out
}

function explain (e: ValueError): string {
  const schema = e.schema as { description?: string, properties?: Record<string, unknown> }
  if (/unexpected property/i.test(e.message)) {
    return 'unknown key; remove it or check its spelling'
  }
  if (/required property/i.test(e.message)) {
    return `missing; it is required${schema.description ? ` (${schema.description})` : ''}`
  }
  const got = e.value === undefined ? 'nothing' : JSON.stringify(e.value)
  const wants = schema.description ?? e.message.replace(/^Expected/, 'expected').replace(/^./, (c) => c.toLowerCase())
  return `expected ${wants.replace(/^expected /, '')}, got ${got}`
}

export function dotted (pointer: string): string {
  if (pointer === '') return '(top level)'
  return pointer.slice(1).split('/').map((part, i) => /^\d+$/.test(part) ? `[${part}]` : (i === 0 ? part : `.${part}`)).join('')
}

function nonEmpty (v: string | undefined): string | null {
  return v === undefined || v.trim() === '' ? null : v.trim()
}

function deepFreeze<T> (o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}
