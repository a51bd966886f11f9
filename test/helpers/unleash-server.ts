// A real Unleash server (the unleash-server dev dependency) in a child process, on a free loopback port and
// a fresh database of its own on the test Postgres (SWITCHYARD_TEST_PG_URL), dropped by the test's teardown.
// A test can SIGKILL it and start it again on the same port and database. Its admin and client tokens come
// from authentication.initApiTokens; telemetry and the version check are off, so it never calls out.
// Without SWITCHYARD_TEST_PG_URL the test is skipped on a developer's machine, and fails in CI (CI=true).
import { randomBytes } from 'node:crypto'
import { onServer, postgresMissing, TEST_PG_URL_VARIABLE } from './db.ts'
import { freePort, Server } from './servers.ts'

interface Teardown { teardown (fn: () => unknown): void }

export const UNLEASH_ENVIRONMENT = 'development'

export interface FlagSpec {
  /** The flexibleRollout percentage, 0 to 100. */
  percent: number
  /** `default` (userId, then sessionId, then random) unless told; the gateway's sticky key is the userId. */
  stickiness?: 'default' | 'userId'
  project?: string
  environment?: string
  /** Whether the flag is turned on in the environment (true unless told). */
  enabled?: boolean
}

export interface RolloutView { project: string, percent: number, enabled: boolean, parameters: Record<string, string>, strategies: number }

export interface UnleashServer {
  /** UNLEASH_URL: the client API's base. */
  readonly url: string
  readonly port: number
  readonly adminToken: string
  readonly clientToken: string
  readonly database: string
  readonly running: boolean
  /** The gateway's environment variables for this server (the admin token only when asked). */
  env (opts?: { admin?: boolean }): Record<string, string>
  /** Starts it again after kill(), on the same port and database; resolves with the milliseconds it took. */
  start (): Promise<number>
  /** SIGKILL, as a crash would. */
  kill (): Promise<void>
  /** One Admin API call with the admin token. */
  admin (method: string, path: string, body?: unknown): Promise<{ status: number, body: any }>
  /** Creates a flag with one flexibleRollout strategy (groupId = the flag's name) and turns it on. */
  createFlag (name: string, spec: FlagSpec): Promise<void>
  /** Sets the flag's flexibleRollout through the Admin API, as a person in the Unleash UI would. */
  setRollout (name: string, percent: number, opts?: { project?: string, environment?: string }): Promise<void>
  /** The flag's flexibleRollout as the Admin API shows it. */
  rollout (name: string, opts?: { project?: string, environment?: string }): Promise<RolloutView>
  /** What the server printed last, for a failing test's message. */
  readonly output: string
}

/** Why the Unleash tests cannot run here, or null when they can. In CI a missing server throws. */
export function unleashMissing (): string | null {
  return postgresMissing('unleash-server needs a real PostgreSQL')
}

// The child process: the environment is cleared of what unleash-server would read instead of the options
// (DATABASE_URL, PORT, INIT_*_API_TOKENS...), and the outward calls are turned off before it is imported.
const CHILD = `
const options = JSON.parse(process.argv[1])
for (const k of Object.keys(process.env)) {
  if (/^(DATABASE_|INIT_|UNLEASH_|HTTP_|AUTH_|BASE_URI_PATH$|PORT$)/.test(k)) delete process.env[k]
}
process.env.SEND_TELEMETRY = 'false'
process.env.CHECK_VERSION = 'false'
process.env.UNLEASH_VERSION_URL = 'http://127.0.0.1:9/'
const { start } = await import(options.entry)
await start(options.config)
`

export async function startUnleash (t: Teardown): Promise<UnleashServer> {
  const serverUrl = process.env[TEST_PG_URL_VARIABLE]
  if (serverUrl === undefined || serverUrl === '') throw new Error(`${TEST_PG_URL_VARIABLE} is not set; check unleashMissing() first`)
  const database = `sy_unleash_${randomBytes(6).toString('hex')}`
  await onServer(serverUrl, `CREATE DATABASE ${database}`)
  const port = await freePort()
  const adminToken = `*:*.${randomBytes(16).toString('hex')}`
  const clientToken = `*:${UNLEASH_ENVIRONMENT}.${randomBytes(16).toString('hex')}`
  const pgUrl = new URL(serverUrl)
  const base = `http://127.0.0.1:${port}`
  const options = {
    entry: import.meta.resolve('unleash-server'),
    config: {
      db: {
        host: pgUrl.hostname,
        port: Number(pgUrl.port || 5432),
        user: decodeURIComponent(pgUrl.username),
        password: decodeURIComponent(pgUrl.password),
        database,
        ssl: false,
        pool: { min: 0, max: 4 }
      },
      server: { host: '127.0.0.1', port, gracefulShutdownEnable: false },
      authentication: {
        initApiTokens: [
          { secret: adminToken, type: 'admin', environment: '*', projects: ['*'], tokenName: 'switchyard-test-admin' },
          { secret: clientToken, type: 'backend', environment: UNLEASH_ENVIRONMENT, projects: ['*'], tokenName: 'switchyard-test-client' }
        ]
      },
      versionCheck: { enable: false },
      telemetry: false,
      logLevel: 'error'
    }
  }

  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> => {
    const res = await fetch(`${base}/api/admin${path}`, {
      method,
      headers: { authorization: adminToken, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000)
    })
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch {}
    return { status: res.status, body: parsed }
  }
  const must = async (method: string, path: string, body?: unknown): Promise<any> => {
    const a = await admin(method, path, body)
    if (a.status < 200 || a.status > 299) throw new Error(`Unleash ${method} ${path}: ${a.status} ${JSON.stringify(a.body)}`)
    return a.body
  }
  // Ready once the tokens work: the admin token on the Admin API, the client token on the client API.
  const ready = async (): Promise<boolean> => {
    const a = await fetch(`${base}/api/admin/projects`, { headers: { authorization: adminToken }, signal: AbortSignal.timeout(1_000) })
    await a.arrayBuffer()
    if (a.status !== 200) return false
    const c = await fetch(`${base}/api/client/features`, { headers: { authorization: clientToken }, signal: AbortSignal.timeout(1_000) })
    await c.arrayBuffer()
    return c.status === 200
  }
  // Without the test runner's coverage and process hooks, which triple the server's start-up time.
  const server = new Server('unleash-server', port, 'env', [
    '-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE',
    process.execPath, '--no-warnings', '--input-type=module', '-e', CHILD, JSON.stringify(options)
  ], ready)

  t.teardown(async () => {
    await server.kill()
    await onServer(serverUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  })

  const startTimed = async (): Promise<number> => {
    const started = performance.now()
    await server.start(90_000)
    return performance.now() - started
  }
  await startTimed()

  const path = (name: string, o: { project?: string, environment?: string } = {}): string =>
    `/projects/${encodeURIComponent(o.project ?? 'default')}/features/${encodeURIComponent(name)}/environments/${encodeURIComponent(o.environment ?? UNLEASH_ENVIRONMENT)}`
  const rolloutStrategy = async (name: string, o: { project?: string, environment?: string }): Promise<any> => {
    const strategies = await must('GET', `${path(name, o)}/strategies`) as Array<{ name: string, id: string }>
    const found = strategies.filter((s) => s.name === 'flexibleRollout')
    if (found.length !== 1) throw new Error(`${name} has ${found.length} flexibleRollout strategies`)
    return found[0]
  }

  return {
    url: `${base}/api`,
    port,
    adminToken,
    clientToken,
    database,
    get running () { return server.running },
    get output () { return server.output },
    env: (o = {}) => ({
      UNLEASH_URL: `${base}/api`,
      UNLEASH_API_TOKEN: clientToken,
      ...(o.admin === true ? { UNLEASH_ADMIN_TOKEN: adminToken } : {})
    }),
    start: startTimed,
    kill: () => server.kill(),
    admin,
    async createFlag (name, spec) {
      const project = spec.project ?? 'default'
      await must('POST', `/projects/${encodeURIComponent(project)}/features`, { name, type: 'release' })
      await must('POST', `${path(name, spec)}/strategies`, {
        name: 'flexibleRollout',
        parameters: { rollout: String(spec.percent), stickiness: spec.stickiness ?? 'default', groupId: name },
        constraints: []
      })
      if (spec.enabled !== false) await must('POST', `${path(name, spec)}/on`)
    },
    async setRollout (name, percent, o = {}) {
      const strategy = await rolloutStrategy(name, o)
      await must('PUT', `${path(name, o)}/strategies/${strategy.id}`, {
        ...strategy,
        id: undefined,
        parameters: { ...strategy.parameters, rollout: String(percent) }
      })
    },
    async rollout (name, o = {}) {
      const feature = await must('GET', `/projects/${encodeURIComponent(o.project ?? 'default')}/features/${encodeURIComponent(name)}`) as {
        project: string
        environments: Array<{ name: string, enabled: boolean, strategies: Array<{ name: string, parameters: Record<string, string> }> }>
      }
      const env = feature.environments.find((e) => e.name === (o.environment ?? UNLEASH_ENVIRONMENT))
      if (env === undefined) throw new Error(`${name} has no environment ${o.environment ?? UNLEASH_ENVIRONMENT}`)
      const rollouts = env.strategies.filter((s) => s.name === 'flexibleRollout')
      return {
        project: feature.project,
        percent: Number(rollouts[0]?.parameters.rollout ?? NaN),
        enabled: env.enabled,
        parameters: rollouts[0]?.parameters ?? {},
        strategies: rollouts.length
      }
    }
  }
}
