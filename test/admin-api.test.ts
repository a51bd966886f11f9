// The admin API: every change is authenticated, validated, persisted and audited; bad input gets a 4xx
// with a stable code and a sentence, and changes nothing.
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { buildGateway } from '../gateway/app.ts'
import { buildConfig } from '../gateway/config/load.ts'
import { startGateway, tempDir, type TestGateway } from './helpers/gateway.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

const TOKEN = 'test-token-0123456789abcdef'

async function setup (t: Test, env: Record<string, string> = { SWITCHYARD_ADMIN_TOKEN: TOKEN }) {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  return startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 25 }, env })
}
function call (g: TestGateway, method: string, path: string, opts: { body?: string, json?: unknown, token?: string | null, headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? TOKEN}`
  let body = opts.body
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['content-type'] = 'application/json'
  }
  return fetch(g.adminUrl + path, { method, headers, body })
}

async function unchanged (t: Test, g: TestGateway, fileBefore: string) {
  t.equal(readFileSync(g.flagsFile, 'utf8'), fileBefore, 'the flag file is unchanged')
  t.equal(g.gw.flags.percent('items-api'), 25, 'the percentage is unchanged')
  const events = await (await call(g, 'GET', '/admin/events')).json() as { events: unknown[] }
  t.equal(events.events.length, 0, 'no audit event was written')
}

t.test('bad input gets a clear 4xx and changes nothing', async (t) => {
  const g = await setup(t)
  const before = readFileSync(g.flagsFile, 'utf8')
  const cases: Array<[string, () => Promise<Response>, number, string, RegExp]> = [
    ['percent 150', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 150, reason: 'r' } }), 400, 'SY_ERR_BAD_BODY', /percent: expected an integer from 0 to 100, got 150/],
    ['percent -1', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: -1, reason: 'r' } }), 400, 'SY_ERR_BAD_BODY', /percent: expected an integer from 0 to 100, got -1/],
    ['percent 12.5', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 12.5, reason: 'r' } }), 400, 'SY_ERR_BAD_BODY', /percent: expected an integer from 0 to 100, got 12.5/],
    ['percent "abc"', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 'abc', reason: 'r' } }), 400, 'SY_ERR_BAD_BODY', /percent: expected an integer from 0 to 100, got "abc"/],
    ['percent "50" (no coercion)', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: '50', reason: 'r' } }), 400, 'SY_ERR_BAD_BODY', /percent: expected an integer/],
    ['no reason', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50 } }), 400, 'SY_ERR_BAD_BODY', /reason: missing; it is required \(why, in words/],
    ['a blank reason', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: '   ' } }), 400, 'SY_ERR_BAD_BODY', /reason: expected why, in words/],
    ['an unknown field', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: 'r', pct: 1 } }), 400, 'SY_ERR_BAD_BODY', /unknown field "pct"; allowed fields: percent, reason/],
    ['an unknown flag', () => call(g, 'PUT', '/admin/flags/nope', { json: { percent: 50, reason: 'r' } }), 404, 'SY_ERR_UNKNOWN_FLAG', /no flag named "nope"; known flags: items-api, visual-search/],
    ['a body that is not JSON', () => call(g, 'PUT', '/admin/flags/items-api', { body: '{percent: 50', headers: { 'content-type': 'application/json' } }), 400, 'SY_ERR_BAD_JSON', /not valid JSON/],
    ['an empty JSON body', () => call(g, 'PUT', '/admin/flags/items-api', { body: '', headers: { 'content-type': 'application/json' } }), 400, 'SY_ERR_BAD_JSON', /empty/],
    ['a JSON array', () => call(g, 'PUT', '/admin/flags/items-api', { json: [50] }), 400, 'SY_ERR_BAD_BODY', /expected a JSON object such as/],
    ['no body at all', () => call(g, 'PUT', '/admin/flags/items-api'), 400, 'SY_ERR_BAD_BODY', /expected a JSON object such as/],
    ['a text body', () => call(g, 'PUT', '/admin/flags/items-api', { body: 'percent=50', headers: { 'content-type': 'text/plain' } }), 415, 'SY_ERR_UNSUPPORTED_MEDIA_TYPE', /send application\/json/],
    ['an oversized body', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: 'x'.repeat(70_000) } }), 413, 'SY_ERR_BODY_TOO_LARGE', /larger than 65536 bytes/],
    ['no token', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: 'r' }, token: null }), 401, 'SY_ERR_UNAUTHORIZED', /Bearer/],
    ['a wrong token', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: 'r' }, token: 'nope' }), 401, 'SY_ERR_UNAUTHORIZED', /SWITCHYARD_ADMIN_TOKEN/],
    ['a token with a different length', () => call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: 'r' }, token: TOKEN + 'x' }), 401, 'SY_ERR_UNAUTHORIZED', /Bearer/],
    ['a bad events limit', () => call(g, 'GET', '/admin/events?limit=0'), 400, 'SY_ERR_BAD_BODY', /limit: expected an integer from 1 to 10000, got 0/],
    ['an unknown admin path', () => call(g, 'GET', '/admin/nope'), 404, 'SY_ERR_NOT_FOUND', /GET \/admin\/nope is not an admin API endpoint/]
  ]
  for (const [name, send, status, code, message] of cases) {
    const res = await send()
    const body = await res.json() as { statusCode: number, code: string, message: string }
    t.equal(res.status, status, `${name}: status ${status}`)
    t.equal(body.code, code, `${name}: ${code}`)
    t.equal(body.statusCode, status, `${name}: statusCode in the body`)
    t.match(body.message, message, `${name}: the message says what to fix`)
  }
  await unchanged(t, g, before)
  const noAuth = await call(g, 'GET', '/admin/routes', { token: null })
  t.equal(noAuth.status, 401, 'reads need the token too')
})

t.test('a percentage change is persisted, audited and served', async (t) => {
  const g = await setup(t)
  const res = await call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: 'step 3 of the plan' }, headers: { 'x-switchyard-actor': 'ana@laptop' } })
  t.equal(res.status, 200)
  const body = await res.json() as { flag: string, percent: number, previous: number, changed: boolean, event: Record<string, unknown> }
  t.match(body, { flag: 'items-api', percent: 50, previous: 25, changed: true, event: { actor: 'ana@laptop', source: '127.0.0.1', action: 'set_percent', flag: 'items-api', from: 25, to: 50, reason: 'step 3 of the plan' } })
  const file = JSON.parse(readFileSync(g.flagsFile, 'utf8')) as { features: Array<{ name: string, strategies: Array<{ parameters: { rollout: string } }> }> }
  t.equal(file.features.find((f) => f.name === 'items-api')?.strategies[0]?.parameters.rollout, '50', 'written to the flag file')

  const same = await (await call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: 'again' } })).json() as { changed: boolean, event: unknown }
  t.same([same.changed, same.event], [false, null], 'setting the same percentage changes nothing')

  const routes = await (await call(g, 'GET', '/admin/routes')).json() as { routes: Array<{ name: string, percent: number, state: string }> }
  t.match(routes.routes.find((r) => r.name === 'items'), { percent: 50, state: 'running' })
  const events = await (await call(g, 'GET', '/admin/events?flag=items-api&limit=5')).json() as { events: Array<{ id: number }> }
  t.equal(events.events.length, 1)
})

t.test('rollback overrides the flag, blocks percentage changes, and resume ends it', async (t) => {
  const g = await setup(t)
  const rb = await call(g, 'POST', '/admin/flags/items-api/rollback', { json: { reason: 'error rate of new at 7%' } })
  t.equal(rb.status, 200)
  t.match(await rb.json(), { flag: 'items-api', state: 'rolled_back', percent: 0, previous: 25 })
  const blocked = await call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 10, reason: 'r' } })
  t.equal(blocked.status, 409)
  t.match(await blocked.json(), { code: 'SY_ERR_FLAG_ROLLED_BACK', message: /resume it first/ })
  const routes = await (await call(g, 'GET', '/admin/routes')).json() as { routes: Array<{ name: string, state: string, state_reason: string }> }
  t.match(routes.routes.find((r) => r.name === 'items'), { state: 'rolled_back', state_reason: 'error rate of new at 7%' })
  const again = await call(g, 'POST', '/admin/flags/items-api/rollback', { json: { reason: 'twice' } })
  t.equal(again.status, 200, 'rollback is idempotent')

  const resumed = await call(g, 'POST', '/admin/flags/items-api/resume', { json: { reason: 'fixed in 3.5.1' } })
  t.match(await resumed.json(), { state: 'running', percent: 0 })
  const notRolledBack = await call(g, 'POST', '/admin/flags/items-api/resume', { json: { reason: 'again' } })
  t.equal(notRolledBack.status, 409)
  t.equal(((await notRolledBack.json()) as { code: string }).code, 'SY_ERR_FLAG_NOT_ROLLED_BACK')
  const ok = await call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 5, reason: 'start again' } })
  t.equal(ok.status, 200)
  const events = await (await call(g, 'GET', '/admin/events')).json() as { events: Array<{ action: string }> }
  t.same(events.events.map((e) => e.action), ['set_percent', 'resume', 'rollback', 'rollback'], 'newest first')
})

t.test('the audit log, flag states and percentages survive a restart', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const dir = tempDir(t)
  const env = { SWITCHYARD_ADMIN_TOKEN: TOKEN }
  const first = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 25 }, env, dir })
  await call(first, 'PUT', '/admin/flags/items-api', { json: { percent: 40, reason: 'before restart' } })
  await call(first, 'POST', '/admin/flags/visual-search/rollback', { json: { reason: 'bad answers' } })
  await first.gw.shutdown()

  const second = await startGateway(t, { legacy: legacy.url, new: neu.url, env, dir })
  const events = await (await call(second, 'GET', '/admin/events')).json() as { events: Array<{ action: string, reason: string }> }
  t.same(events.events.map((e) => e.reason), ['bad answers', 'before restart'])
  t.equal(second.gw.flags.percent('items-api'), 40)
  const res = await fetch(`${second.proxyUrl}/search_by_image`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  t.equal(res.headers.get('x-switchyard-backend'), 'legacy')
  const m = await (await fetch(`${second.adminUrl}/metrics`)).text()
  t.match(m, /switchyard_decisions_total\{route="search",backend="legacy",reason="override"\} 1/, 'still rolled back after the restart')
})

t.test('the admin API refuses to start on a non-loopback address without a token', async (t) => {
  const dir = tempDir(t)
  const config = buildConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '0.0.0.0', port: 0 },
    backends: { legacy: { url: 'http://127.0.0.1:1' }, new: { url: 'http://127.0.0.1:2' } }
  }, { baseDir: dir })
  await t.rejects(buildGateway(config), { code: 'SY_ERR_ADMIN_TOKEN_REQUIRED', message: /set SWITCHYARD_ADMIN_TOKEN, or set admin\.host to 127\.0\.0\.1/ })
})

t.test('without a token on loopback the admin API is open; probes and metrics never need one', async (t) => {
  const g = await setup(t, {})
  t.equal((await call(g, 'GET', '/admin/routes', { token: null })).status, 200)
  const secured = await setup(t)
  for (const path of ['/metrics', '/healthz', '/readyz']) {
    t.equal((await fetch(secured.adminUrl + path)).status, 200, `${path} needs no token`)
  }
  const doc = await (await call(secured, 'GET', '/admin/openapi.json')).json() as { openapi: string, paths: Record<string, unknown> }
  t.match(doc.openapi, /^3\./)
  t.ok(doc.paths['/admin/flags/{flag}'], 'the OpenAPI document lists the endpoints')
})

t.test('GET /admin/routes reports the traffic share per backend over the last minute', async (t) => {
  const g = await setup(t)
  await call(g, 'PUT', '/admin/flags/items-api', { json: { percent: 50, reason: 'r' } })
  for (let i = 0; i < 400; i++) await (await fetch(`${g.proxyUrl}/items`, { headers: { 'x-user-id': `u${i}` } })).arrayBuffer()
  const routes = await (await call(g, 'GET', '/admin/routes')).json() as { window_seconds: number, routes: Array<{ name: string, traffic: { legacy: number, new: number, new_share: number } }> }
  const items = routes.routes.find((r) => r.name === 'items')!
  t.equal(routes.window_seconds, 60)
  t.equal(items.traffic.legacy + items.traffic.new, 400)
  t.ok(items.traffic.new_share > 0.4 && items.traffic.new_share < 0.6, `new share ${items.traffic.new_share}`)
})
