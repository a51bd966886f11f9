// An explicit API version pins the backend: the path prefix (stripped before forwarding) or the
// Accept-Version header. The prefix wins over the header, and an unknown version is refused.
import t from 'tap'
import { startGateway } from './helpers/gateway.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

t.test('prefix and header pin the backend, whatever the flag says', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 50, 'visual-search': 50 } })

  const cases: Array<[string, Record<string, string>, string, string]> = [
    ['/v1/items/7?fields=title', {}, 'legacy', '/items/7?fields=title'],
    ['/v2/items/7?fields=title', {}, 'new', '/items/7?fields=title'],
    ['/v2', {}, 'new', '/'],
    ['/v1/', {}, 'legacy', '/'],
    ['/items/7', { 'accept-version': '1' }, 'legacy', '/items/7'],
    ['/items/7', { 'accept-version': '2' }, 'new', '/items/7'],
    ['/items/7', { 'accept-version': ' 2 ' }, 'new', '/items/7'],
    // The prefix wins over the header.
    ['/v1/items/7', { 'accept-version': '2' }, 'legacy', '/items/7'],
    // A path that only starts like a prefix is not versioned: /v10 is not /v1.
    ['/v10/items', { 'accept-version': '2' }, 'new', '/v10/items']
  ]
  for (let user = 0; user < 40; user++) {
    for (const [path, headers, backend, upstreamUrl] of cases) {
      const res = await fetch(g.proxyUrl + path, { headers: { 'x-user-id': `user-${user}`, ...headers } })
      const body = await res.json() as { backend: string, url: string }
      if (res.headers.get('x-switchyard-backend') !== backend || body.backend !== backend || body.url !== upstreamUrl) {
        t.fail(`${path} ${JSON.stringify(headers)} for user-${user}: got ${body.backend} ${body.url}, expected ${backend} ${upstreamUrl}`)
        return
      }
    }
  }
  t.pass('every user, every case, pinned as expected')
})

t.test('a version whose prefix is kept forwards the full path', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    config: { versions: [{ prefix: '/v1', backend: 'legacy', strip: true }, { prefix: '/v2', backend: 'new', strip: false }] }
  })
  const body = await (await fetch(`${g.proxyUrl}/v2/ws-info?a=1`)).json() as { backend: string, url: string }
  t.same(body, { backend: 'new', method: 'GET', url: '/v2/ws-info?a=1' })
})

t.test('a backend URL with a base path prefixes every forwarded path', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, { legacy: `${legacy.url}/api/v1`, new: `${neu.url}/api/v2/` })
  const a = await (await fetch(`${g.proxyUrl}/v1/items/3?q=x`)).json() as { url: string }
  t.equal(a.url, '/api/v1/items/3?q=x')
  const b = await (await fetch(`${g.proxyUrl}/v2/items`)).json() as { url: string }
  t.equal(b.url, '/api/v2/items')
})

t.test('an unknown Accept-Version is refused with a clear error, and nothing is forwarded', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url })
  const res = await fetch(`${g.proxyUrl}/items/1`, { headers: { 'accept-version': '3' } })
  t.equal(res.status, 400)
  const body = await res.json() as { code: string, message: string }
  t.equal(body.code, 'SY_ERR_UNKNOWN_VERSION')
  t.match(body.message, /"3" is not a known API version; use one of 1, 2/)
  t.equal(legacy.seen.length + neu.seen.length, 0, 'no backend saw the request')
})
