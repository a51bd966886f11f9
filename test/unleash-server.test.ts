// The gateway on a real Unleash server (unleash-server 8 in a child process, on the test Postgres): a
// rollout changed in Unleash reaches the gateway's routing; percentages and rollbacks made through the
// gateway (admin API, CLI) land in Unleash, keeping the strategy's other parameters; an Unleash killed
// mid-run leaves routing as it was, a rollback during the outage routes to legacy at once and lands in
// Unleash when it is back; bad tokens, unknown flags and environments are clear errors that change nothing.
import { createServer as createHttpServer } from 'node:http'
import { createServer, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { normalizedStrategyValue } from 'unleash-client/lib/strategy/util.js'
import { renderStatus } from '../gateway/cli/commands/status.ts'
import { REFUSED_POLL_MAX_MS, ServerFlags } from '../gateway/flags/server-flags.ts'
import { runSwitchyard, type TapTest } from './helpers/cli-run.ts'
import { startGateway, tempDir, type TestGateway } from './helpers/gateway.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { tcpProxy } from './helpers/tcp-proxy.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'
import { startUnleash, unleashMissing, UNLEASH_ENVIRONMENT, type UnleashServer } from './helpers/unleash-server.ts'

const skip = unleashMissing() ?? false
const TIMEOUT = 240_000
const TOKEN = 'unleash-test-admin-token-0123456789'
const USERS = Array.from({ length: 400 }, (_, i) => `user-${i}`)

// One Unleash server for the whole file (it takes seconds to start), torn down at its end. Each test uses
// flags of its own.
let shared: Promise<UnleashServer> | null = null
function unleash (): Promise<UnleashServer> {
  shared ??= (async () => {
    const started = performance.now()
    const u = await startUnleash(t)
    t.comment(`unleash-server 8 started on a fresh database (migrations included) in ${(performance.now() - started).toFixed(0)} ms`)
    return u
  })()
  return shared
}

interface GatewayOptions { flags: string[], admin?: boolean | string, environment?: string, refreshMs?: number }

/** A gateway on the Unleash server, with one route per flag (/r0 for the first...), once it has every flag. */
async function gateway (t: TapTest, u: UnleashServer, opts: GatewayOptions): Promise<TestGateway> {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const next = await startUpstream(t, namedJson('new'))
  const adminToken = opts.admin === true ? u.adminToken : typeof opts.admin === 'string' ? opts.admin : undefined
  const g = await startGateway(t, {
    legacy: legacy.url,
    new: next.url,
    env: { ...u.env(), ...(adminToken !== undefined ? { UNLEASH_ADMIN_TOKEN: adminToken } : {}), SWITCHYARD_ADMIN_TOKEN: TOKEN },
    config: {
      routes: opts.flags.map((flag, i) => ({ name: `r${i}`, paths: [`/r${i}`, `/r${i}/*`], flag })),
      flags: { app_name: 'switchyard-test', environment: opts.environment ?? UNLEASH_ENVIRONMENT, refresh_interval_ms: opts.refreshMs ?? 500 }
    }
  })
  await within(20_000, 'the gateway loaded its flags from Unleash', async () => g.gw.ready && opts.flags.every((f) => g.gw.flags.has(f)) ? true : undefined)
  return g
}

async function adminCall (g: TestGateway, method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(`${g.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'x-switchyard-actor': 'test', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  return { status: res.status, body: await res.json() }
}

/** Which backend served each user, 16 requests at a time. */
async function backends (g: TestGateway, path: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>()
  let i = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (i < USERS.length) {
      const user = USERS[i++]!
      const res = await fetch(`${g.proxyUrl}${path}`, { headers: { 'x-user-id': user } })
      await res.arrayBuffer()
      seen.set(user, res.headers.get('x-switchyard-backend') ?? `status ${res.status}`)
    }
  }))
  return new Map([...seen].sort())
}

/** Where flexibleRollout at `percent` (groupId = the flag) puts each user. */
function expected (flag: string, percent: number): Map<string, string> {
  return new Map(USERS.map((u) => [u, normalizedStrategyValue(u, flag) <= percent ? 'new' : 'legacy'] as [string, string]).sort())
}

function share (m: Map<string, string>): string {
  return `${(100 * [...m.values()].filter((b) => b === 'new').length / m.size).toFixed(1)} %`
}

/**
 * Unleash's client API as a polling SDK sees it (with If-None-Match, so that Unleash answers from its
 * revision cache, as it does for the gateway): whether it serves `flag` at `percent` yet.
 */
function clientApi (u: UnleashServer): { serves: (flag: string, percent: number) => Promise<true | undefined> } {
  let etag: string | null = null
  let features: Array<{ name: string, strategies: Array<{ name: string, parameters: { rollout?: string } }> }> = []
  return {
    async serves (flag, percent) {
      const res = await fetch(`${u.url}/client/features`, { headers: { authorization: u.clientToken, ...(etag !== null ? { 'if-none-match': etag } : {}) } })
      if (res.status === 200) {
        etag = res.headers.get('etag')
        features = (await res.json() as { features: typeof features }).features
      } else {
        await res.arrayBuffer()
      }
      const f = features.find((x) => x.name === flag)
      return f?.strategies.find((s) => s.name === 'flexibleRollout')?.parameters.rollout === String(percent) ? true : undefined
    }
  }
}

t.test('a rollout changed in Unleash reaches the gateway\'s routing within its refresh interval', { skip, timeout: TIMEOUT }, async (t) => {
  const u = await unleash()
  await u.createFlag('reach-items', { percent: 20, stickiness: 'userId' })
  const g = await gateway(t, u, { flags: ['reach-items'], refreshMs: 500 })

  const before = await backends(g, '/r0/1')
  t.same(before, expected('reach-items', 20), `every user where flexibleRollout 20 % puts them (${share(before)} on new)`)

  const api = clientApi(u)
  await api.serves('reach-items', 20)
  const changed = performance.now()
  await u.setRollout('reach-items', 70)
  const [served, seen] = await Promise.all([
    within(15_000, 'Unleash serves 70 % to its clients', () => api.serves('reach-items', 70), 10),
    within(15_000, 'the gateway routes at 70 %', async () => g.gw.flags.percent('reach-items') === 70 ? true : undefined, 10)
  ])
  const lag = seen.ms - served.ms
  t.comment(`Admin API change → served by Unleash's client API after ${served.ms.toFixed(0)} ms → in the gateway after ${seen.ms.toFixed(0)} ms ` +
    `(${lag.toFixed(0)} ms after Unleash served it; refresh interval 500 ms); ${(performance.now() - changed).toFixed(0)} ms in all`)
  t.ok(lag < 500 + 2_000, 'the gateway took it within its refresh interval of Unleash serving it (2 s of slack for a loaded machine)')

  const after = await backends(g, '/r0/1')
  t.same(after, expected('reach-items', 70), `every user where 70 % puts them (${share(before)} → ${share(after)} on new)`)
  t.ok([...before].every(([user, b]) => b !== 'new' || after.get(user) === 'new'), 'raising the percentage moved users from legacy to new only')
})

t.test('a percentage and a rollback made through the gateway land in Unleash and route at once', { skip, timeout: TIMEOUT }, async (t) => {
  const u = await unleash()
  await u.createFlag('rb-items', { percent: 10, stickiness: 'userId' })
  const g = await gateway(t, u, { flags: ['rb-items'], admin: true, refreshMs: 500 })

  const api = clientApi(u)
  await api.serves('rb-items', 10)
  const started = performance.now()
  const set = await adminCall(g, 'PUT', '/admin/flags/rb-items', { percent: 35, reason: 'step 2' })
  t.comment(`PUT /admin/flags/rb-items through the Admin API of Unleash: ${(performance.now() - started).toFixed(0)} ms`)
  t.equal(set.status, 200, 'the percentage was set')
  t.match(set.body, { flag: 'rb-items', percent: 35, previous: 10, changed: true })
  t.equal(g.gw.flags.percent('rb-items'), 35, 'the gateway shows the new percentage at once, before any poll')
  t.same(await backends(g, '/r0/1'), expected('rb-items', 35), 'and routes by it')
  t.match(await u.rollout('rb-items'), { percent: 35, enabled: true, strategies: 1, parameters: { stickiness: 'userId', groupId: 'rb-items', rollout: '35' } },
    'Unleash has it, with the stickiness and groupId as they were')

  // Once Unleash serves the write to its clients, the poll brings the same percentage: no step back.
  await within(15_000, 'Unleash serves 35 %', () => api.serves('rb-items', 35), 20)
  await sleep(3 * 500)
  t.equal(g.gw.flags.percent('rb-items'), 35, 'the gateway agrees with Unleash after its polls')

  const rb = await adminCall(g, 'POST', '/admin/flags/rb-items/rollback', { reason: 'p99 doubled' })
  t.equal(rb.status, 200, 'the flag was rolled back')
  t.match(rb.body, { state: 'rolled_back', percent: 0, previous: 35 })
  t.ok([...(await backends(g, '/r0/1')).values()].every((b) => b === 'legacy'), 'every user on legacy at once')
  t.match(await u.rollout('rb-items'), { percent: 0, enabled: true, parameters: { stickiness: 'userId', groupId: 'rb-items' } }, 'Unleash shows 0 %')
  const events = await adminCall(g, 'GET', '/admin/events?flag=rb-items')
  t.match(events.body.events[0], { action: 'rollback', to: { state: 'rolled_back', percent: 0 } })
  t.notOk('percent_error' in events.body.events[0].to, 'the write to Unleash did not fail')
})

t.test('a percentage set with `switchyard rollout` lands in Unleash', { skip, timeout: TIMEOUT }, async (t) => {
  const u = await unleash()
  await u.createFlag('cli-items', { percent: 0, enabled: false })
  const g = await gateway(t, u, { flags: ['cli-items'], admin: true })
  const env = { SWITCHYARD_ADMIN_URL: g.adminUrl, SWITCHYARD_ADMIN_TOKEN: TOKEN, USER: 'ana' }

  const run = await runSwitchyard(t, ['rollout', 'cli-items', '40', '--reason', 'step 1'], { env })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /cli-items: 0% → 40%/)
  t.match(await u.rollout('cli-items'), { percent: 40, enabled: true, parameters: { stickiness: 'default', groupId: 'cli-items' } },
    'Unleash has 40 %, and the flag, off until then, is on in the environment')
  t.same(await backends(g, '/r0/1'), expected('cli-items', 40), 'the gateway routes by it')

  const promote = await runSwitchyard(t, ['promote', 'cli-items', '--reason', 'done'], { env })
  t.equal(promote.code, 0, promote.stderr)
  t.match(await u.rollout('cli-items'), { percent: 100 })
})

t.test('Unleash killed mid-run: routing holds, a rollback routes to legacy at once and lands when Unleash is back', { skip, timeout: TIMEOUT }, async (t) => {
  const u = await unleash()
  await u.createFlag('outage-a', { percent: 50 })
  await u.createFlag('outage-b', { percent: 10 })
  const g = await gateway(t, u, { flags: ['outage-a', 'outage-b'], admin: true, refreshMs: 250 })
  const flags = g.gw.flags
  await within(10_000, 'the flag source is healthy', async () => flags.healthy === true ? true : undefined)
  const a0 = await backends(g, '/r0/1')
  const b0 = await backends(g, '/r1/1')
  t.same(a0, expected('outage-a', 50))
  t.same(b0, expected('outage-b', 10))

  await u.kill()
  const down = await within(30_000, 'healthy goes false', async () => flags.healthy === false ? true : undefined)
  t.comment(`healthy went false ${down.ms.toFixed(0)} ms after Unleash was killed (refresh 250 ms; unleash-client retries a failed poll before it reports it)`)
  const metrics = await scrape(g.adminUrl)
  t.equal(sample(metrics, 'switchyard_dependency_up', { dependency: 'unleash' }), 0, 'switchyard_dependency_up{dependency="unleash"} is 0')
  t.ok(sample(metrics, 'switchyard_dependency_errors_total', { dependency: 'unleash' }) > 0, 'the failed polls are counted')

  t.same(await backends(g, '/r0/1'), a0, 'same users on the same backends during the outage (outage-a)')
  t.same(await backends(g, '/r1/1'), b0, 'and for outage-b')

  const started = performance.now()
  const rb = await adminCall(g, 'POST', '/admin/flags/outage-a/rollback', { reason: 'errors up while Unleash is down' })
  t.comment(`rollback during the outage answered in ${(performance.now() - started).toFixed(0)} ms`)
  t.equal(rb.status, 200, 'the rollback succeeds without Unleash')
  t.match(rb.body, { state: 'rolled_back', percent: 0, previous: 50 })
  t.ok([...(await backends(g, '/r0/1')).values()].every((b) => b === 'legacy'), 'every user of outage-a on legacy at once')
  t.same(await backends(g, '/r1/1'), b0, 'outage-b untouched')
  t.match(flags.pendingWrites?.(), [{ flag: 'outage-a', percent: 0, attempts: Number }], 'the 0 % is pending')
  const events = await adminCall(g, 'GET', '/admin/events?flag=outage-a')
  t.match(events.body.events[0], { action: 'rollback', to: { percent: 0, percent_error: /cannot be reached.*retries the write/ } })
  const status = renderStatus((await adminCall(g, 'GET', '/admin/routes')).body, false)
  t.match(status, /The flag server at .+ gives no flags \(.+\): routing on the last flags it served\./, 'switchyard status says Unleash is away')
  t.match(status, /outage-a is at 0% here; the flag server has not taken it yet \(since .+, \d+ attempt\(s\): .+\)\./, 'and what waits for it')
  const lowered = await adminCall(g, 'PUT', '/admin/flags/outage-b', { percent: 0, reason: 'hold it off during the outage' })
  t.equal(lowered.status, 200, 'a person\'s 0 % during the outage holds too')
  t.match(lowered.body.event, { action: 'set_percent', to: 0, details: { percent_error: /cannot be reached/ } }, 'recorded with why Unleash does not have it yet')
  const raised = await adminCall(g, 'PUT', '/admin/flags/outage-b', { percent: 30, reason: 'too soon' })
  t.equal(raised.status, 503, 'a raise during the outage is refused')
  t.equal(flags.percent('outage-b'), 0, 'and changes nothing')

  const restartMs = await u.start()
  t.comment(`unleash-server restarted on the same port and database in ${restartMs.toFixed(0)} ms`)
  const landed = await within(30_000, 'Unleash shows outage-a at 0 %', async () => (await u.rollout('outage-a')).percent === 0 ? true : undefined, 50)
  t.comment(`the pending rollback reached Unleash ${landed.ms.toFixed(0)} ms after Unleash was back`)
  t.match(await u.rollout('outage-a'), { percent: 0, parameters: { stickiness: 'default', groupId: 'outage-a' } })
  await within(10_000, 'nothing pending, healthy again', async () => flags.pendingWrites?.().length === 0 && flags.healthy === true ? true : undefined)

  await within(10_000, 'outage-b at 0 % in Unleash', async () => (await u.rollout('outage-b')).percent === 0 ? true : undefined, 50)
  await u.setRollout('outage-b', 60)
  const reached = await within(15_000, 'the gateway routes outage-b at 60 %', async () => flags.percent('outage-b') === 60 ? true : undefined, 10)
  t.comment(`a change made in Unleash after the outage reached the gateway in ${reached.ms.toFixed(0)} ms`)
  t.same(await backends(g, '/r1/1'), expected('outage-b', 60))
  t.ok([...(await backends(g, '/r0/1')).values()].every((b) => b === 'legacy'), 'outage-a stays rolled back')
  t.equal(sample(await scrape(g.adminUrl), 'switchyard_dependency_up', { dependency: 'unleash' }), 1)
})

t.test('bad tokens, unknown flags, a flag without a rollout, a wrong environment: clear errors, nothing changed', { skip, timeout: TIMEOUT }, async (t) => {
  const u = await unleash()
  await u.createFlag('err-items', { percent: 15 })
  await u.admin('POST', '/projects/default/features', { name: 'err-plain', type: 'release' })
  await u.admin('POST', `/projects/default/features/err-plain/environments/${UNLEASH_ENVIRONMENT}/strategies`, { name: 'default', parameters: {}, constraints: [] })
  await u.admin('POST', `/projects/default/features/err-plain/environments/${UNLEASH_ENVIRONMENT}/on`)
  const flags = ['err-items', 'err-plain']

  const bad = await gateway(t, u, { flags, admin: `*:*.${'0'.repeat(32)}` })
  const refused = await adminCall(bad, 'PUT', '/admin/flags/err-items', { percent: 30, reason: 'r' })
  t.equal(refused.status, 502)
  t.match(refused.body, { code: 'SY_ERR_UNLEASH_TOKEN_REJECTED', message: /refused UNLEASH_ADMIN_TOKEN \(401: .*\); set UNLEASH_ADMIN_TOKEN to an admin API token/ })
  t.equal(bad.gw.flags.percent('err-items'), 15, 'the gateway kept its percentage')
  t.same((await adminCall(bad, 'GET', '/admin/events?flag=err-items')).body.events, [], 'and recorded no change')

  const client = await gateway(t, u, { flags, admin: u.clientToken })
  const forbidden = await adminCall(client, 'PUT', '/admin/flags/err-items', { percent: 30, reason: 'r' })
  t.equal(forbidden.status, 502)
  t.match(forbidden.body, { code: 'SY_ERR_UNLEASH_TOKEN_REJECTED', message: /\(403: .*\); UNLEASH_ADMIN_TOKEN must be an admin token/ })

  const g = await gateway(t, u, { flags, admin: true })
  const unknown = await adminCall(g, 'PUT', '/admin/flags/nope', { percent: 30, reason: 'r' })
  t.equal(unknown.status, 404)
  t.match(unknown.body, { code: 'SY_ERR_UNKNOWN_FLAG', message: /no flag named "nope"; known flags: .*err-items/ })
  const direct = await g.gw.flags.setPercent('nope', 30).catch((err: unknown) => err)
  t.match(direct, { code: 'SY_ERR_UNLEASH_FLAG_NOT_FOUND', statusCode: 404, message: /has no flag named "nope" in any project \(default\)/ })
  const plain = await adminCall(g, 'PUT', '/admin/flags/err-plain', { percent: 30, reason: 'r' })
  t.equal(plain.status, 409)
  t.match(plain.body, { code: 'SY_ERR_UNLEASH_NO_ROLLOUT', message: /err-plain has no enabled flexibleRollout .* strategy in environment development/ })
  t.equal(g.gw.flags.healthy, true, 'an answer that refuses the flag still means Unleash is up')

  const elsewhere = await gateway(t, u, { flags, admin: true, environment: 'staging' })
  const noEnv = await adminCall(elsewhere, 'PUT', '/admin/flags/err-items', { percent: 30, reason: 'r' })
  t.equal(noEnv.status, 404)
  t.match(noEnv.body, { code: 'SY_ERR_UNLEASH_ENVIRONMENT_NOT_FOUND', message: /has no environment "staging"; it has development, production: set flags.environment/ })

  const readOnly = await gateway(t, u, { flags })
  const ro = await adminCall(readOnly, 'PUT', '/admin/flags/err-items', { percent: 30, reason: 'r' })
  t.equal(ro.status, 501)
  t.match(ro.body, { code: 'SY_ERR_FLAG_SOURCE_READ_ONLY', message: /UNLEASH_ADMIN_TOKEN is not set: set it to an admin token/ })

  t.match(await u.rollout('err-items'), { percent: 15, enabled: true }, 'Unleash unchanged')
  const plainNow = await u.admin('GET', `/projects/default/features/err-plain/environments/${UNLEASH_ENVIRONMENT}/strategies`)
  t.same(plainNow.body.map((s: { name: string }) => s.name), ['default'], 'the flag without a rollout unchanged')
})

t.test('a hung Unleash times out; a pending rollback survives a restart of the gateway and lands', { skip, timeout: TIMEOUT }, async (t) => {
  const u = await unleash()
  await u.createFlag('hung-items', { percent: 45 })
  // Accepts connections and never answers.
  const sockets = new Set<Socket>()
  const hung = createServer((s) => { sockets.add(s); s.on('error', () => {}) })
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); hung.close() })
  const hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}/api`
  const dir = tempDir(t)
  const logged: string[] = []
  const log = { warn: (_o: object, msg: string) => { logged.push(msg) }, info: (_o: object, msg: string) => { logged.push(msg) } }
  const common = { appName: 'switchyard-test', environment: UNLEASH_ENVIRONMENT, apiToken: u.clientToken, adminToken: u.adminToken, refreshIntervalMs: 250, backupPath: dir, log }

  const first = new ServerFlags(hungUrl, { ...common, timeoutMs: 500 })
  await first.start()
  let started = performance.now()
  const err = await first.setPercent('hung-items', 0).catch((e: unknown) => e)
  const ms = performance.now() - started
  t.comment(`a write to a hung Unleash failed after ${ms.toFixed(0)} ms (deadline 500 ms per call)`)
  t.match(err, { code: 'SY_ERR_UNLEASH_UNAVAILABLE', statusCode: 503, message: /cannot be reached \(no answer within 500 ms\); the gateway routes hung-items at 0 % meanwhile/ })
  t.ok(ms < 5_000, 'the call did not hang')
  const raise = await first.setPercent('hung-items', 30).catch((e: unknown) => e)
  t.match(raise, { code: 'SY_ERR_UNLEASH_UNAVAILABLE', message: /the gateway kept the percentage it had/ })
  t.match(first.pendingWrites(), [{ flag: 'hung-items', percent: 0 }], 'only the 0 % is kept for a retry')
  t.equal(first.pendingWrites().length, 1)
  t.equal(first.healthy, false)
  await first.close()
  t.ok(logged.some((m) => /not taken every write/.test(m)), 'closing says what is still pending')

  // The same state directory, the real server: the write is retried at start and lands.
  const second = new ServerFlags(u.url, common)
  started = performance.now()
  await second.start()
  t.teardown(() => second.close())
  const landed = await within(15_000, 'Unleash shows hung-items at 0 %', async () => (await u.rollout('hung-items')).percent === 0 ? true : undefined, 50)
  t.comment(`the write pending from before the restart landed ${landed.ms.toFixed(0)} ms after the flag source started`)
  await within(5_000, 'the flag source agrees', async () => second.percent('hung-items') === 0 && second.pendingWrites().length === 0 ? true : undefined)
  t.match(await u.rollout('hung-items'), { percent: 0, parameters: { groupId: 'hung-items', stickiness: 'default' } })
})

t.test('a later successful percentage replaces a pending rollback', { skip, timeout: TIMEOUT }, async (t) => {
  const u = await unleash()
  await u.createFlag('super-items', { percent: 40 })
  const proxy = await tcpProxy(t, { host: '127.0.0.1', port: u.port })
  const log = { warn: () => {}, info: () => {} }
  const common = { appName: 'switchyard-test', environment: UNLEASH_ENVIRONMENT, apiToken: u.clientToken, adminToken: u.adminToken, log }
  const flags = new ServerFlags(`http://127.0.0.1:${proxy.port}/api`, { ...common, refreshIntervalMs: 250, backupPath: tempDir(t), retry: { minMs: 100, maxMs: 200 } })
  await flags.start()
  t.teardown(() => flags.close())
  await within(15_000, 'the flag source has super-items', async () => flags.percent('super-items') === 40 ? true : undefined)

  await proxy.cut()
  const err = await flags.setPercent('super-items', 0).catch((e: unknown) => e)
  t.match(err, { code: 'SY_ERR_UNLEASH_UNAVAILABLE', message: /ECONNREFUSED/ })
  t.equal(flags.percent('super-items'), 0, 'the gateway routes at the pending 0 %')
  await within(5_000, 'the write is retried', async () => (flags.pendingWrites()[0]?.attempts ?? 0) >= 3 ? true : undefined)
  t.match(flags.pendingWrites(), [{ flag: 'super-items', percent: 0, since: String, next_attempt_at: String, last_error: /ECONNREFUSED/ }])

  await proxy.restore()
  await flags.setPercent('super-items', 25)
  t.same(flags.pendingWrites(), [], 'the successful write replaced the pending one')
  t.equal(flags.percent('super-items'), 25)
  // Longer than several retry periods: had the pending 0 % been kept, it would have landed by now.
  await sleep(1_000)
  t.match(await u.rollout('super-items'), { percent: 25 }, 'Unleash keeps the later percentage')
  t.equal(flags.percent('super-items'), 25)
})

/**
 * An HTTP hop in front of the Unleash server, as an ingress or an authenticating proxy would be: it passes
 * every call through, or, while `refuse` holds a status, answers with it itself.
 */
async function edge (t: TapTest, port: number): Promise<{ url: string, refuse: number | null, refused: number }> {
  const state = { url: '', refuse: null as number | null, refused: 0 }
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (state.refuse !== null) {
        state.refused += 1
        res.writeHead(state.refuse, { 'content-type': 'application/json' }).end('{"message":"refused at the edge"}')
        return
      }
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'connection', 'content-length', 'keep-alive'].includes(k)) headers[k] = v
      fetch(`http://127.0.0.1:${port}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) })
        .then(async (up) => {
          const body = Buffer.from(await up.arrayBuffer())
          const out: Record<string, string> = { 'content-type': up.headers.get('content-type') ?? 'application/octet-stream' }
          const etag = up.headers.get('etag')
          if (etag !== null) out.etag = etag
          res.writeHead(up.status, out).end(body)
        })
        .catch(() => res.writeHead(502).end())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api`
  return state
}

t.test('a client token refused for a while: routing holds, the gateway asks again, and takes changes once it is let in', { skip, timeout: TIMEOUT }, async (t) => {
  const u = await unleash()
  await u.createFlag('token-items', { percent: 20 })
  const hop = await edge(t, u.port)
  const logged: string[] = []
  const log = { warn: (_o: object, msg: string) => { logged.push(msg) }, info: (_o: object, msg: string) => { logged.push(msg) } }
  let errors = 0
  const flags = new ServerFlags(hop.url, {
    appName: 'switchyard-test', environment: UNLEASH_ENVIRONMENT, apiToken: u.clientToken, refreshIntervalMs: 200, backupPath: tempDir(t), log, onError: () => { errors += 1 }
  })
  await flags.start()
  t.teardown(() => flags.close())
  await within(15_000, 'the flag source has token-items', async () => flags.percent('token-items') === 20 ? true : undefined)
  t.equal(flags.healthy, true)

  let served = 20
  for (const status of [401, 403]) {
    hop.refuse = status
    await within(5_000, `the ${status} seen`, async () => flags.healthy === false ? true : undefined)
    t.match(flags.lastError?.message, new RegExp(`refuses UNLEASH_API_TOKEN with HTTP ${status}, asked again in \\d+\\.\\d s; set UNLEASH_API_TOKEN to a client token of the environment "${UNLEASH_ENVIRONMENT}"`),
      `a ${status} says what is wrong and what to do`)
    t.equal(flags.percent('token-items'), served, `during the ${status}, the last flags the server served`)
    const before = hop.refused
    await sleep(2_000)
    const asked = hop.refused - before
    // unleash-client alone stops polling at the first 401 or 403; refreshed every 200 ms with no backoff it would ask 10 times.
    t.ok(asked >= 2 && asked <= 5, `it keeps asking, backing off (${asked} polls in 2 s, refresh 200 ms)`)
    served += 30
    await u.setRollout('token-items', served)
    hop.refuse = null
    const back = await within(REFUSED_POLL_MAX_MS, 'the change made meanwhile reaches the flag source', async () => flags.percent('token-items') === served ? true : undefined, 20)
    t.comment(`let in again after a ${status}: the change made meanwhile arrived ${back.ms.toFixed(0)} ms later`)
    t.ok(back.ms < 5_000, 'within the backoff reached so far')
    t.equal(flags.healthy, true, 'healthy again')
    t.equal(flags.lastError, null)
  }
  t.ok(errors >= 4, `each refused poll is counted as a dependency error (${errors})`)
  t.equal(logged.filter((m) => /the Unleash server gives no flags/.test(m)).length, 2, 'logged once per refusal, not once per poll')

  await u.setRollout('token-items', 35)
  const polling = await within(10_000, 'the client polls on its own again', async () => flags.percent('token-items') === 35 ? true : undefined, 20)
  t.comment(`after the refusals, a change in Unleash arrived through the client's own polling in ${polling.ms.toFixed(0)} ms`)
  t.ok(polling.ms < 5_000, 'at about its usual pace: the refusals did not slow its polling down')
})
