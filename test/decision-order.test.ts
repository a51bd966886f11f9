// The decision order of DESIGN.md: version, then override, then flag, then default, each with its reason
// in switchyard_decisions_total.
import t from 'tap'
import { startGateway } from './helpers/gateway.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

const who = { actor: 'test', source: 'test', reason: 'test' }

t.test('version beats override, override beats flag, flag beats default', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 100, 'visual-search': 0 } })
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(g.proxyUrl + path, { headers: { 'x-user-id': 'ana', ...headers } })
    return { backend: res.headers.get('x-switchyard-backend'), body: await res.json() as { backend: string } }
  }

  // flag: 100% sends the route to new.
  t.same((await get('/items/1')).backend, 'new')
  // default: a route with no flag, and a path no route matches, go to legacy.
  t.same((await get('/not-a-route')).backend, 'legacy')
  // version: the prefix pins whatever the flag says.
  t.same((await get('/v1/items/1')).backend, 'legacy')

  await g.gw.control.rollback('items-api', who)
  // override: a rolled-back flag sends its routes to legacy...
  const overridden = await get('/items/1')
  t.same(overridden.backend, 'legacy')
  t.same(overridden.body.backend, 'legacy', 'the answer really came from legacy')
  // ...but an explicit version still wins.
  t.same((await get('/v2/items/1')).backend, 'new')
  t.same((await get('/items/1', { 'accept-version': '2' })).backend, 'new')

  const m = await scrape(g.adminUrl)
  const reasons = (backend: string, reason: string, route = 'items') =>
    sample(m, 'switchyard_decisions_total', { route, backend, reason })
  t.equal(reasons('new', 'flag'), 1, 'one flag decision to new')
  t.equal(reasons('legacy', 'version'), 1, 'one version decision to legacy')
  t.equal(reasons('new', 'version'), 2, 'prefix and header each pinned new once')
  t.equal(reasons('legacy', 'override'), 1, 'one override decision')
  t.equal(reasons('legacy', 'default', 'unmatched'), 1, 'the unmatched path went to legacy by default')
})

t.test('a route without a flag always goes to legacy by default', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    percents: { 'items-api': 100 },
    config: { routes: [{ name: 'plain', paths: ['/plain'] }, { name: 'items', paths: ['/items'], flag: 'items-api' }] }
  })
  const res = await fetch(`${g.proxyUrl}/plain`)
  t.equal(res.headers.get('x-switchyard-backend'), 'legacy')
  t.equal(sample(await scrape(g.adminUrl), 'switchyard_decisions_total', { route: 'plain', backend: 'legacy', reason: 'default' }), 1)
})

t.test('a method the route does not declare is not that route', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 0, 'visual-search': 100 } })
  const post = await fetch(`${g.proxyUrl}/search_by_image`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
  t.equal(post.headers.get('x-switchyard-backend'), 'new', 'POST is the search route, at 100%')
  const get = await fetch(`${g.proxyUrl}/search_by_image`)
  t.equal(get.headers.get('x-switchyard-backend'), 'legacy', 'GET is not: it goes to legacy by default')
  const m = await scrape(g.adminUrl)
  t.equal(sample(m, 'switchyard_decisions_total', { route: 'unmatched', backend: 'legacy', reason: 'default' }), 1)
})
