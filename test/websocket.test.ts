// WebSocket upgrades go through the same decision as HTTP (version, override, sticky flag), reach the
// chosen backend under the stripped path with the client's end-to-end headers, and keep their backend for
// the life of the connection.
import t from 'tap'
import { DEFAULT_ROUTES, startGateway, type TestGateway } from './helpers/gateway.ts'
import { freePort } from './helpers/servers.ts'
import { openWs, wsOutcome, wsUrl, type WsClient } from './helpers/ws-client.ts'
import { startWsUpstream, type WsUpstream } from './helpers/ws-upstream.ts'

interface Teardown { teardown (fn: () => unknown): void }

const FLAG = 'live-sessions'
const SESSIONS = { name: 'sessions', paths: ['/ws/:session'], methods: ['GET'], flag: FLAG }
// An HTTP route on the same flag: the same user must get the same backend on both.
const SESSION_INFO = { name: 'session-info', paths: ['/session-info'], flag: FLAG }
const WHO = { actor: 'test', source: 'test', reason: 'test' }

interface Setup {
  legacy: WsUpstream
  next: WsUpstream
  gateway: TestGateway
  ws (path: string, headers?: Record<string, string>): Promise<WsClient>
}

async function setup (t: Teardown, percent: number, opts: { newUrl?: string } = {}): Promise<Setup> {
  const legacy = await startWsUpstream(t, 'legacy')
  const next = await startWsUpstream(t, 'new')
  const gateway = await startGateway(t, {
    legacy: legacy.url,
    new: opts.newUrl ?? next.url,
    percents: { 'items-api': 0, 'visual-search': 0, [FLAG]: percent },
    config: { routes: [...DEFAULT_ROUTES, SESSIONS, SESSION_INFO] }
  })
  return {
    legacy,
    next,
    gateway,
    ws: (path, headers = {}) => openWs(t, wsUrl(gateway.proxyUrl, path), headers)
  }
}

/** Which backend served a connection: the 101's header, checked against the backend that echoed. */
async function backendOf (client: WsClient): Promise<string> {
  const header = client.response.headers['x-switchyard-backend']
  const echoed = await client.echo('who')
  const name = echoed.slice(0, echoed.indexOf(':'))
  if (header !== name) throw new Error(`the 101 says ${String(header)} but ${name} echoed`)
  return name
}

async function httpBackend (proxyUrl: string, user: string | { cookie: string }): Promise<string> {
  const headers = typeof user === 'string' ? { 'x-user-id': user } : user
  const res = await fetch(`${proxyUrl}/session-info`, { headers })
  const body = await res.json() as { backend: string }
  if (res.status !== 200) throw new Error(`GET /session-info answered ${res.status}`)
  if (res.headers.get('x-switchyard-backend') !== body.backend) throw new Error('header and body disagree')
  return body.backend
}

async function inBatches<T, R> (items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += size) out.push(...await Promise.all(items.slice(i, i + size).map(fn)))
  return out
}

t.test('a version prefix pins the connection and is stripped before the backend', async (t) => {
  const s = await setup(t, 50)

  const v1 = await s.ws('/v1/ws/abc')
  t.equal(v1.response.statusCode, 101)
  t.equal(v1.response.headers['x-switchyard-backend'], 'legacy', 'the 101 names the backend')
  t.equal(await v1.echo('hello'), 'legacy:hello')
  t.equal(await v1.echo('again'), 'legacy:again', 'the connection stays open for more messages')
  t.equal(s.legacy.handshakes.length, 1)
  t.equal(s.legacy.handshakes[0]?.url, '/ws/abc', 'legacy sees the path without /v1')
  t.equal(s.next.handshakes.length, 0, 'new saw nothing')

  const v2 = await s.ws('/v2/ws/abc')
  t.equal(v2.response.headers['x-switchyard-backend'], 'new')
  t.equal(await v2.echo('hello'), 'new:hello')
  t.equal(s.next.handshakes.length, 1)
  t.equal(s.next.handshakes[0]?.url, '/ws/abc', 'new sees the path without /v2')

  const withQuery = await s.ws('/v2/ws/abc?since=42')
  t.equal(await withQuery.echo('q'), 'new:q')
  t.equal(s.next.handshakes[1]?.url, '/ws/abc?since=42', 'the query string is kept')

  const byHeader = await s.ws('/ws/abc', { 'accept-version': '2' })
  t.equal(byHeader.response.headers['x-switchyard-backend'], 'new', 'Accept-Version: 2 pins new')
  t.equal(await byHeader.echo('h'), 'new:h')
  t.equal(s.next.handshakes[2]?.url, '/ws/abc', 'the path is forwarded as it is')

  const unknown = await wsOutcome(t, wsUrl(s.gateway.proxyUrl, '/ws/abc'), { 'accept-version': '9' }, 'h')
  t.equal(unknown.opened, false, 'an unknown Accept-Version is not upgraded')
  t.equal(unknown.status, 400, 'it is answered 400')

  t.equal((await v1.close()).code, 1000, 'a client close ends the connection cleanly')
  t.equal(await v2.echo('still'), 'new:still', 'closing one connection leaves the others alone')
})

t.test('the upstream handshake carries the end-to-end headers, x-forwarded-for and x-request-id', async (t) => {
  const s = await setup(t, 0)
  const client = await s.ws('/v1/ws/room-7', {
    'x-user-id': 'ana',
    cookie: 'session=s-123; theme=dark',
    authorization: 'Bearer abc.def',
    'x-request-id': 'req-ws-0001'
  })
  t.equal(await client.echo('hi'), 'legacy:hi')
  const seen = s.legacy.handshakes[0]?.headers ?? {}
  t.equal(seen['x-user-id'], 'ana')
  t.equal(seen.cookie, 'session=s-123; theme=dark')
  t.equal(seen.authorization, 'Bearer abc.def')
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'the client address')
  t.equal(seen['x-request-id'], 'req-ws-0001', 'a valid client request id is kept')
  t.equal(seen.upgrade?.toLowerCase(), 'websocket', 'the upstream handshake is a WebSocket upgrade of its own')
  t.equal(client.response.headers['x-switchyard-backend'], 'legacy')

  const second = await s.ws('/v1/ws/room-8', { 'x-forwarded-for': '203.0.113.9' })
  t.equal(await second.echo('hi'), 'legacy:hi')
  const seen2 = s.legacy.handshakes[1]?.headers ?? {}
  t.equal(seen2['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'the client address is appended to the chain')
  t.match(seen2['x-request-id'], /^[0-9a-f-]{36}$/, 'a request id is generated when none is given')
  t.not(seen2['sec-websocket-key'], undefined, 'the upstream handshake has its own key')
})

t.test('a flagged connection follows the sticky split of HTTP on the same flag', async (t) => {
  const s = await setup(t, 50)
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}`)

  const first = await inBatches(users, 25, async (user) => {
    const client = await s.ws('/ws/abc', { 'x-user-id': user })
    const ws = await backendOf(client)
    await client.close()
    return { user, ws, http: await httpBackend(s.gateway.proxyUrl, user) }
  })
  const disagree = first.filter((r) => r.ws !== r.http)
  t.same(disagree, [], 'each user gets the same backend over WebSocket and over HTTP')

  const onNew = first.filter((r) => r.ws === 'new').length
  t.ok(onNew >= 70 && onNew <= 130, `about half the users are on new at 50% (${onNew} of 200)`)
  t.ok(s.legacy.handshakes.every((h) => h.url === '/ws/abc') && s.next.handshakes.every((h) => h.url === '/ws/abc'),
    'an unversioned path is forwarded as it is')

  const again = await inBatches(first, 25, async (r) => {
    const client = await s.ws('/ws/xyz', { 'x-user-id': r.user })
    const ws = await backendOf(client)
    await client.close()
    return ws === r.ws
  })
  t.equal(again.filter((same) => !same).length, 0, 'a user who reconnects lands on the same backend')

  const byCookie = await inBatches(users.slice(0, 50), 25, async (user) => {
    const cookie = `theme=dark; session=${user}`
    const client = await s.ws('/ws/abc', { cookie })
    const ws = await backendOf(client)
    await client.close()
    return { user, ws, http: await httpBackend(s.gateway.proxyUrl, { cookie }), byHeader: first.find((r) => r.user === user)?.ws }
  })
  t.same(byCookie.filter((r) => r.ws !== r.http || r.ws !== r.byHeader), [],
    'without x-user-id the session cookie is the sticky key, on both paths, and hashes like the header')
})

t.test('at 0% every flagged connection goes to legacy, at 100% to new', async (t) => {
  const s = await setup(t, 0)
  const users = Array.from({ length: 20 }, (_, i) => `member-${i}`)
  const connect = (user: string): Promise<string> => s.ws('/ws/s1', { 'x-user-id': user }).then(async (c) => {
    const b = await backendOf(c)
    await c.close()
    return b
  })

  t.same(new Set(await Promise.all(users.map(connect))), new Set(['legacy']), 'all on legacy at 0%')
  await s.gateway.gw.control.setPercent(FLAG, 100, WHO)
  t.same(new Set(await Promise.all(users.map(connect))), new Set(['new']), 'all on new at 100%')
  await s.gateway.gw.control.setPercent(FLAG, 0, WHO)
  t.same(new Set(await Promise.all(users.map(connect))), new Set(['legacy']), 'all back on legacy at 0%')
  t.equal(s.next.handshakes.length, 20, 'new saw exactly the connections made at 100%')
})

t.test('a rollback leaves an open connection on new; the next connection goes to legacy', async (t) => {
  const s = await setup(t, 100)
  const open = await s.ws('/ws/live', { 'x-user-id': 'ana' })
  t.equal(await backendOf(open), 'new')

  await s.gateway.gw.control.rollback(FLAG, WHO)

  t.equal(await open.echo('after rollback'), 'new:after rollback', 'the open connection keeps talking to new')
  t.equal(s.next.sockets.size, 1, 'new still holds the connection')

  const reconnect = await s.ws('/ws/live', { 'x-user-id': 'ana' })
  t.equal(reconnect.response.headers['x-switchyard-backend'], 'legacy', 'the same user now goes to legacy')
  t.equal(await reconnect.echo('hi'), 'legacy:hi')
  t.equal(await httpBackend(s.gateway.proxyUrl, 'ana'), 'legacy', 'and so does HTTP')
  t.equal(await open.echo('still here'), 'new:still here', 'the first connection is still on new')
})

t.test('a WebSocket to a backend that is down fails without harming the gateway', async (t) => {
  const down = `http://127.0.0.1:${await freePort()}`
  const s = await setup(t, 100, { newUrl: down })

  for (const path of ['/v2/ws/abc', '/ws/abc']) {
    const outcome = await wsOutcome(t, wsUrl(s.gateway.proxyUrl, path), { 'x-user-id': 'ana' }, 'anyone?')
    t.ok(outcome.error !== null || (outcome.close !== null && outcome.close.code !== 1000),
      `${path}: the client sees an error or an abnormal close (${JSON.stringify({ ...outcome, error: outcome.error?.message })})`)
    t.same(outcome.messages, [], `${path}: no backend answered`)
  }

  const legacy = await s.ws('/v1/ws/abc')
  t.equal(await legacy.echo('ok?'), 'legacy:ok?', 'WebSockets to legacy still work')
  const res = await fetch(`${s.gateway.proxyUrl}/v1/items/1`)
  t.equal(res.status, 200, 'HTTP still works')
  t.equal(res.headers.get('x-switchyard-backend'), 'legacy')
  await res.arrayBuffer()
  t.equal(await httpBackend(s.gateway.proxyUrl, 'ana'), 'legacy', 'a safe HTTP request to the dead new fails over to legacy')
})
