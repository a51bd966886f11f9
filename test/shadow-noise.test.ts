// Noise cancellation, as Diffy does it: some shadowed requests also go to the primary's backend a second
// time; fields that differ between two answers of the same backend (a timestamp, a request id, a random
// order) are learned as noise, and from then on reported as noise rather than as mismatches. A real
// difference in another field is still a mismatch.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { startGateway } from './helpers/gateway.ts'
import { startUpstream } from './helpers/upstream.ts'
import { shadowRoute, untilCompared } from './helpers/shadow.ts'
import { sample, scrape } from './helpers/metrics.ts'

// Both backends stamp every answer with the time and a fresh id; new also spells one title differently.
const backend = (side: 'legacy' | 'new') => (req: { url?: string }, res: import('node:http').ServerResponse) => {
  const id = Number((req.url ?? '').split('/').pop())
  const body = JSON.stringify({
    id,
    title: side === 'new' && id === 7 ? 'Denim jacket (new)' : 'Denim jacket',
    served_at: new Date().toISOString() + Math.random(),
    request_id: randomUUID(),
    tags: ['a', 'b']
  })
  res.writeHead(200, { 'content-type': 'application/json' }).end(body)
}

async function run (t: Test, noisePercent: number) {
  const legacy = await startUpstream(t, backend('legacy'))
  const neu = await startUpstream(t, backend('new'))
  const gw = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    config: { routes: [{ name: 'items', paths: ['/items/*'], flag: 'items-api', shadow: { percent: 100, noise_percent: noisePercent } }] }
  })
  for (let i = 1; i <= 20; i++) await (await fetch(`${gw.proxyUrl}/items/${i}`)).arrayBuffer()
  return { ...gw, legacy, neu, route: await untilCompared(gw.adminUrl, 'items', 20) }
}

t.test('with noise cancellation on, timestamps and request ids are classified as noise', async (t) => {
  const { route, legacy, adminUrl } = await run(t, 100)
  t.equal(legacy.seen.filter((r) => r.headers['x-switchyard-shadow'] === '1').length, 20, 'each request also went to the primary a second time')
  t.same(route.noise_fields.map((f) => f.field).sort(), ['/request_id', '/served_at'], 'the learned noise: the two fields that differ between calls to one backend')
  t.same(route.counts, { match: 19, mismatch: 1, error: 0, dropped: 0 }, 'only the real difference is a mismatch')
  t.same(route.top_fields, [{ field: '/title', count: 1 }], 'and it is the only field counted as a mismatch')
  t.same(route.samples[0]?.differences.map((d) => d.path), ['/title'], 'the sample shows the title')
  t.same(route.samples[0]?.noise.sort(), ['/request_id', '/served_at'], 'and lists the noise beside it')
  const text = await scrape(adminUrl)
  t.equal(sample(text, 'switchyard_shadow_fields_total', { route: 'items', field: '/served_at', class: 'noise' }), 20, 'noise is counted apart in the metrics')
  t.equal(sample(text, 'switchyard_shadow_fields_total', { route: 'items', field: '/served_at', class: 'mismatch' }), 0)
})

t.test('without it, the same answers are all mismatches on those fields', async (t) => {
  const { route, legacy } = await run(t, 0)
  t.equal(legacy.seen.filter((r) => r.headers['x-switchyard-shadow'] === '1').length, 0, 'nothing is sent twice')
  t.same(route.noise_fields, [])
  t.same(route.counts, { match: 0, mismatch: 20, error: 0, dropped: 0 })
  t.same(route.top_fields.map((f) => [f.field, f.count]).sort(), [['/request_id', 20], ['/served_at', 20], ['/title', 1]])
})

t.test('the learned noise set is visible through the admin API of each route', async (t) => {
  const { adminUrl } = await run(t, 50)
  const listed = await (await fetch(`${adminUrl}/admin/shadow`)).json() as { routes: Array<{ route: string, noise_percent: number, noise_fields: Array<{ field: string, times_seen: number }> }> }
  const items = listed.routes.find((r) => r.route === 'items')
  t.equal(items?.noise_percent, 50)
  t.ok((items?.noise_fields.length ?? 0) > 0 && items!.noise_fields.every((f) => f.times_seen > 0), `noise learned from about half the requests: ${JSON.stringify(items?.noise_fields.map((f) => [f.field, f.times_seen]))}`)
  const route = await shadowRoute(adminUrl, 'items')
  t.same(route.noise_fields.map((f) => f.field).sort(), ['/request_id', '/served_at'])
})
