// Which requests are shadowed: a deterministic sample by sticky key and route, only the configured
// methods, never a request pinned to a version, and never a POST unless the route declares it free of side
// effects (then its body is sent to both backends).
import t from 'tap'
import { buildConfig } from '../gateway/config/load.ts'
import { sampleBucket } from '../gateway/shadow/shadowing.ts'
import { startGateway } from './helpers/gateway.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'
import { untilCompared } from './helpers/shadow.ts'

const route = (shadow: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  routes: [
    { name: 'items', paths: ['/items', '/items/*'], flag: 'items-api', shadow },
    { name: 'search', paths: ['/search_by_image'], methods: ['POST'], flag: 'visual-search', ...extra }
  ]
})

t.test('the same user is always, or never, shadowed at a given percentage, and about that share are', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const { proxyUrl, adminUrl } = await startGateway(t, { legacy: legacy.url, new: neu.url, config: route({ percent: 25 }) })
  const users = Array.from({ length: 400 }, (_, i) => `user-${i}`)
  for (const round of [1, 2]) {
    for (const user of users) await (await fetch(`${proxyUrl}/items/${user}?round=${round}`, { headers: { 'x-user-id': user } })).arrayBuffer()
  }
  const shadowedUsers = (round: number) => new Set(neu.seen.filter((r) => r.url.endsWith(`round=${round}`)).map((r) => r.headers['x-user-id'] as string))
  const [first, second] = [shadowedUsers(1), shadowedUsers(2)]
  t.same([...second].sort(), [...first].sort(), 'the second round shadows exactly the users of the first')
  t.ok(first.size > 400 * 0.18 && first.size < 400 * 0.32, `about 25% of users are shadowed (${first.size} of 400)`)
  const expected = users.filter((u) => sampleBucket(u, 'items') < 25)
  t.same([...first].sort(), expected.sort(), 'and they are the users whose bucket for this route is under 25')
  await untilCompared(adminUrl, 'items', first.size * 2)
})

t.test('the sample is independent of the rollout: shadowed users are spread over both backends', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const { proxyUrl, adminUrl } = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 50 }, config: route({ percent: 50 }) })
  let shadowedFromLegacy = 0
  let shadowedFromNew = 0
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${proxyUrl}/items/x`, { headers: { 'x-user-id': `u${i}` } })
    await res.arrayBuffer()
    if (sampleBucket(`u${i}`, 'items') >= 50) continue
    if (res.headers.get('x-switchyard-backend') === 'legacy') shadowedFromLegacy++
    else shadowedFromNew++
  }
  t.ok(shadowedFromLegacy > 20 && shadowedFromNew > 20, `served by legacy and shadowed to new: ${shadowedFromLegacy}; the other way: ${shadowedFromNew}`)
  await untilCompared(adminUrl, 'items', shadowedFromLegacy + shadowedFromNew)
  const shadows = [...legacy.seen, ...neu.seen].filter((r) => r.headers['x-switchyard-shadow'] === '1')
  t.equal(shadows.length, shadowedFromLegacy + shadowedFromNew, 'each shadow went to the backend that did not serve the client')
  t.equal(neu.seen.filter((r) => r.headers['x-switchyard-shadow'] === '1').length, shadowedFromLegacy)
})

t.test('only the configured methods are shadowed, and never a request pinned to a version', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const { proxyUrl, adminUrl } = await startGateway(t, { legacy: legacy.url, new: neu.url, config: route({ percent: 100 }) })
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    const res = await fetch(`${proxyUrl}/items/1`, { method, ...(['POST', 'PUT', 'PATCH'].includes(method) ? { body: '{"title":"x"}', headers: { 'content-type': 'application/json' } } : {}) })
    await res.arrayBuffer()
  }
  await (await fetch(`${proxyUrl}/v1/items/1`)).arrayBuffer()
  await (await fetch(`${proxyUrl}/items/1`, { headers: { 'accept-version': '1' } })).arrayBuffer()
  await untilCompared(adminUrl, 'items', 2)
  t.same(neu.seen.map((r) => r.method).sort(), ['GET', 'HEAD'], 'GET and HEAD were shadowed; nothing else, and no version-pinned request')
  t.equal(legacy.seen.length, 9, 'legacy answered every client request')
})

t.test('a POST is never shadowed unless the route declares it free of side effects', async (t) => {
  const bodies: string[] = []
  const echo = (name: string) => startUpstream(t, (req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (c: string) => { body += c })
    req.on('end', () => {
      if (req.headers['x-switchyard-shadow'] === '1') bodies.push(body)
      const out = JSON.stringify({ results: [{ id: 1, score: name === 'legacy' ? 0.9 : 0.8 }], got: body.length })
      res.writeHead(200, { 'content-type': 'application/json' }).end(out)
    })
  })
  const legacy = await echo('legacy')
  const neu = await echo('new')
  const search = { percent: 100, methods: ['POST'] }
  const refused = await (async () => {
    try {
      buildConfig({ listen: { port: 0 }, admin: { port: 0 }, backends: { legacy: { url: legacy.url }, new: { url: neu.url } }, ...route({ percent: 0 }, { shadow: search }) }, { baseDir: '.' })
      return null
    } catch (err) {
      return err as Error
    }
  })()
  t.match(refused?.message, /routes\[1\]\.shadow\.methods: POST may change data and would run twice; .*side_effect_free: true/, 'a route shadowing POST without the declaration is refused at startup')

  const { proxyUrl, adminUrl } = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    config: route({ percent: 100 }, { shadow: { ...search, side_effect_free: true, compare: { tolerance: { absolute: 0.2 } } } })
  })
  const embedding = JSON.stringify({ embedding: Array.from({ length: 768 }, (_, i) => Math.sin(i)), k: 5 })
  const res = await fetch(`${proxyUrl}/search_by_image`, { method: 'POST', body: embedding, headers: { 'content-type': 'application/json' } })
  t.match(await res.json(), { results: [{ score: 0.9 }], got: embedding.length }, 'the client gets legacy\'s answer to its whole body')
  const after = await untilCompared(adminUrl, 'search', 1)
  t.same(bodies, [embedding], 'the shadow carried the same body to new')
  t.same(after.counts, { match: 1, mismatch: 0, error: 0, dropped: 0 }, 'and the answers matched within the tolerance')
  const items = await (await fetch(`${proxyUrl}/items/1`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).arrayBuffer()
  t.ok(items, 'a POST to a route without the declaration is answered')
  t.equal(neu.seen.filter((r) => r.url.startsWith('/items')).length, 0, 'and not shadowed')
})

t.test('the sampling hash is uniform, and independent between routes', async (t) => {
  const n = 100_000
  const deciles = new Array<number>(10).fill(0)
  let both = 0
  for (let i = 0; i < n; i++) {
    const b = sampleBucket(`user-${i}`, 'items')
    deciles[Math.floor(b / 10)]!++
    if (b < 10 && sampleBucket(`user-${i}`, 'search') < 10) both++
  }
  t.ok(deciles.every((d) => Math.abs(d / n - 0.1) < 0.005), `each tenth of the range holds 10 % ± 0.5 % of 100,000 keys (${deciles.map((d) => (100 * d / n).toFixed(1)).join(', ')})`)
  t.ok(Math.abs(both / n - 0.01) < 0.002, `a key in the first 10 % on one route is in it on another about 10 % of the time (${(100 * both / n).toFixed(2)} % of keys on both)`)
  t.equal(sampleBucket('user-1', 'items'), sampleBucket('user-1', 'items'), 'and the same key always lands in the same place')
})
