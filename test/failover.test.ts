// A safe request sent to new that fails (connection error, timeout, 5xx) is answered from legacy with
// reason failover, and still counts as an error of new.
import { createServer } from 'node:net'
import t from 'tap'
import { startGateway } from './helpers/gateway.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

t.test('new answers 503 to a GET: legacy answers, new is charged with the error', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new', 503))
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 100 } })
  for (const method of ['GET', 'HEAD']) {
    const res = await fetch(`${g.proxyUrl}/items/9`, { method, headers: { 'x-user-id': 'ana' } })
    t.equal(res.status, 200, `${method} answered`)
    t.equal(res.headers.get('x-switchyard-backend'), 'legacy', `${method} answered by legacy`)
    if (method === 'GET') t.same(await res.json(), { backend: 'legacy', method: 'GET', url: '/items/9' })
  }
  t.equal(neu.seen.length, 2, 'new was tried first, each time')
  const m = await scrape(g.adminUrl)
  t.equal(sample(m, 'switchyard_decisions_total', { route: 'items', backend: 'new', reason: 'flag' }), 2)
  t.equal(sample(m, 'switchyard_decisions_total', { route: 'items', backend: 'legacy', reason: 'failover' }), 2)
  t.equal(sample(m, 'switchyard_requests_total', { route: 'items', backend: 'new', method: 'GET', code: '503' }), 1, 'new charged with its 503')
  t.equal(sample(m, 'switchyard_requests_total', { route: 'items', backend: 'legacy', method: 'GET', code: '200' }), 1)
  const routes = await (await fetch(`${g.adminUrl}/admin/routes`)).json() as { routes: Array<{ name: string, traffic: { new_errors: number } }> }
  t.equal(routes.routes.find((r) => r.name === 'items')?.traffic.new_errors, 2, 'the window counts new errors too')
})

t.test('new refuses connections: GET is answered from legacy', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const port = await closedPort()
  const g = await startGateway(t, { legacy: legacy.url, new: `http://127.0.0.1:${port}`, percents: { 'items-api': 100 } })
  const res = await fetch(`${g.proxyUrl}/items`, { headers: { 'x-user-id': 'ana' } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-switchyard-backend'), 'legacy')
  const m = await scrape(g.adminUrl)
  t.equal(sample(m, 'switchyard_upstream_errors_total', { route: 'items', backend: 'new', kind: 'refused' }), 1)
  t.equal(sample(m, 'switchyard_requests_total', { route: 'items', backend: 'new', method: 'GET', code: '502' }), 1)
})

t.test('new times out: GET is answered from legacy after the response timeout', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const hanging = await startUpstream(t, () => { /* never answers */ })
  const g = await startGateway(t, {
    legacy: legacy.url,
    new: hanging.url,
    percents: { 'items-api': 100 },
    config: { backends: { legacy: { url: legacy.url }, new: { url: hanging.url, timeouts: { response_ms: 200 } } } }
  })
  const started = Date.now()
  const res = await fetch(`${g.proxyUrl}/items`, { headers: { 'x-user-id': 'ana' } })
  t.equal(res.headers.get('x-switchyard-backend'), 'legacy')
  t.ok(Date.now() - started >= 190, 'waited for the timeout of new')
  const m = await scrape(g.adminUrl)
  t.equal(sample(m, 'switchyard_upstream_errors_total', { route: 'items', backend: 'new', kind: 'timeout' }), 1)
  t.equal(sample(m, 'switchyard_requests_total', { route: 'items', backend: 'new', method: 'GET', code: '504' }), 1)
})

t.test('unsafe requests, version-pinned requests and routes with failover off are not failed over', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new', 500))
  const g = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    percents: { 'items-api': 100, 'visual-search': 100 },
    config: {
      routes: [
        { name: 'items', paths: ['/items', '/items/*'], flag: 'items-api' },
        { name: 'search', paths: ['/search_by_image'], methods: ['POST', 'GET'], flag: 'visual-search', failover: false }
      ]
    }
  })
  const post = await fetch(`${g.proxyUrl}/items`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json', 'x-user-id': 'ana' } })
  t.equal(post.status, 500, 'POST gets new\'s answer')
  t.equal(post.headers.get('x-switchyard-backend'), 'new')
  const pinned = await fetch(`${g.proxyUrl}/v2/items/1`)
  t.equal(pinned.status, 500, 'a GET pinned to API v2 gets v2\'s answer, never a v1 answer')
  t.equal(pinned.headers.get('x-switchyard-backend'), 'new')
  const off = await fetch(`${g.proxyUrl}/search_by_image`, { headers: { 'x-user-id': 'ana' } })
  t.equal(off.status, 500, 'failover: false keeps new\'s answer')
  t.equal(legacy.seen.length, 0, 'legacy was never asked')
  const m = await scrape(g.adminUrl)
  t.equal(sample(m, 'switchyard_decisions_total', { route: 'items', backend: 'legacy', reason: 'failover' }), 0)
})

t.test('legacy is not failed over to new', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy', 503))
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 0 } })
  const res = await fetch(`${g.proxyUrl}/items`)
  t.equal(res.status, 503)
  t.equal(res.headers.get('x-switchyard-backend'), 'legacy')
  t.equal(neu.seen.length, 0)
})

async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}
