// Planted regressions between two real upstreams: every shadowed request goes to legacy for the client and
// to new for the comparison, and the admin API names the exact field of each regression. Differences the
// route tolerates (a number within tolerance, an ignored path, an array declared unordered) are not reported.
import t from 'tap'
import { startGateway } from './helpers/gateway.ts'
import { startUpstream } from './helpers/upstream.ts'
import { adminJson, shadowRoute, untilCompared } from './helpers/shadow.ts'

type Json = Record<string, unknown>
// Each case: what legacy answers, what new answers (status and body).
const CASES: Record<string, { legacy: Json, new: Json, newStatus?: number }> = {
  same: { legacy: { id: 1, title: 'Jacket' }, new: { id: 1, title: 'Jacket' } },
  renamed: { legacy: { id: 2, title: 'Jacket' }, new: { id: 2, name: 'Jacket' } },
  price: { legacy: { id: 3, price: 10 }, new: { id: 3, price: 10.5 } },
  'price-close': { legacy: { id: 4, price: 10 }, new: { id: 4, price: 10.004 } },
  order: { legacy: { ids: [1, 2, 3] }, new: { ids: [3, 2, 1] } },
  'tags-any-order': { legacy: { tags: ['a', 'b', 'c'] }, new: { tags: ['c', 'a', 'b'] } },
  status: { legacy: { id: 7 }, new: { id: 7 }, newStatus: 404 },
  missing: { legacy: { items: [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }] }, new: { items: [{ id: 1 }, { id: 3 }, { id: 4 }] } },
  stamped: { legacy: { id: 9, updated_at: '2026-01-01T00:00:00Z' }, new: { id: 9, updated_at: '2026-01-01T00:00:07Z' } }
}

t.test('planted regressions are caught and named by field; tolerated differences are not reported', async (t) => {
  const upstream = (side: 'legacy' | 'new') => startUpstream(t, (req, res) => {
    const name = (req.url ?? '').split('?')[0]!.replace('/items/', '')
    const c = CASES[name]
    const body = JSON.stringify(c?.[side] ?? { error: 'no such case' })
    res.writeHead(side === 'new' ? c?.newStatus ?? 200 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  const [legacy, neu] = [await upstream('legacy'), await upstream('new')]
  const { proxyUrl, adminUrl } = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    config: {
      routes: [{
        name: 'items',
        paths: ['/items', '/items/*'],
        flag: 'items-api',
        shadow: {
          percent: 100,
          compare: { tolerance: { absolute: 0.01 }, ignore: ['/updated_at'], unordered: [{ path: '/tags' }] }
        }
      }]
    }
  })
  for (const name of Object.keys(CASES)) {
    const res = await fetch(`${proxyUrl}/items/${name}`)
    t.equal(res.headers.get('x-switchyard-backend'), 'legacy', `${name}: the client is answered by legacy`)
    t.same(await res.json(), CASES[name]!.legacy, `${name}: with legacy's answer`)
  }
  await untilCompared(adminUrl, 'items', Object.keys(CASES).length)

  const route = await shadowRoute(adminUrl, 'items')
  const byCase = new Map(route.samples.map((s) => [s.request.path.replace('/items/', ''), s]))
  const differences = (name: string) => byCase.get(name)?.differences.map((d) => ({ path: d.path, kind: d.kind }))
  t.same(differences('renamed'), [{ path: '/title', kind: 'missing' }, { path: '/name', kind: 'extra' }], 'a renamed field: the old name is missing, the new one extra')
  t.same(differences('price'), [{ path: '/price', kind: 'changed' }], 'a number outside the tolerance')
  t.match(byCase.get('price')?.differences[0], { primary: 10, shadow: 10.5 }, 'with both values')
  t.same(differences('order'), [{ path: '/ids', kind: 'order' }], 'a changed order where order matters')
  t.same(differences('status'), [{ path: 'status', kind: 'status' }], 'a different status')
  t.match(byCase.get('status')?.differences[0], { primary: 200, shadow: 404 })
  t.same(differences('missing'), [{ path: '/items/1', kind: 'missing' }], 'a missing array element, at its index')
  for (const name of ['same', 'price-close', 'tags-any-order', 'stamped']) {
    t.notOk(byCase.has(name), `${name}: not reported (tolerated)`)
  }
  t.same(route.counts, { match: 4, mismatch: 5, error: 0, dropped: 0 }, 'four matches, five mismatches')
  t.same(route.top_fields.map((f) => f.field).sort(), ['/ids', '/items/*', '/name', '/price', '/title', 'status'], 'the fields counted, array indexes as *')
  t.match(route.samples[0]!, { primary: { backend: 'legacy' }, shadow: { backend: 'new' } }, 'each sample names both backends')

  const metrics = await (await fetch(`${adminUrl}/metrics`)).text()
  t.match(metrics, /switchyard_shadow_total\{route="items",result="mismatch"\} 5/)
  t.match(metrics, /switchyard_shadow_total\{route="items",result="match"\} 4/)
  t.match(metrics, /switchyard_shadow_fields_total\{route="items",field="\/price",class="mismatch"\} 1/)
  t.equal(neu.seen.every((r) => r.headers['x-switchyard-shadow'] === '1'), true, 'every shadow request carries x-switchyard-shadow: 1')
  t.equal(legacy.seen.some((r) => r.headers['x-switchyard-shadow'] !== undefined), false, 'and the client\'s requests do not')
  const list = await adminJson(adminUrl, '/admin/shadow') as { routes: Array<{ route: string }> }
  t.same(list.routes.map((r) => r.route), ['items'], 'GET /admin/shadow lists the shadowed routes')
  const unknown = await fetch(`${adminUrl}/admin/shadow/nope`)
  t.equal(unknown.status, 404)
  t.match(await unknown.json(), { code: 'SY_ERR_UNKNOWN_SHADOW_ROUTE', message: /shadowed routes: items/ })
})
