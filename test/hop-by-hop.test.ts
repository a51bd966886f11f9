// RFC 9110 §7.6.1: a proxy does not forward the Connection field, the fields it names, or the fields that
// are hop-by-hop by definition (Keep-Alive, TE, Transfer-Encoding, Upgrade, Proxy-Authorization,
// Proxy-Authenticate, Trailer, and the non-standard Proxy-Connection), in either direction. End-to-end
// fields pass untouched, and the gateway adds x-forwarded-* and x-request-id. Requests are written byte by
// byte over a raw socket so that no client library adds, merges or drops a header.
import type { IncomingHttpHeaders } from 'node:http'
import t, { type Test } from 'tap'
import { rawExchange } from './fixtures/raw-http.ts'
import { startGateway } from './helpers/gateway.ts'
import { startUpstream, type TestUpstream } from './helpers/upstream.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const REQUEST_HOP_BY_HOP = ['keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-connection', 'x-hop-custom']

function request (lines: string[], body = ''): string {
  return lines.join('\r\n') + '\r\n\r\n' + body
}

/** An upstream that records each request body and answers with hop-by-hop and end-to-end fields. */
async function echoUpstream (t: Test): Promise<TestUpstream & { bodies: Buffer[] }> {
  const bodies: Buffer[] = []
  const upstream = await startUpstream(t, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks))
      res.writeHead(200, [
        'Connection', 'X-Up-Hop',
        'X-Up-Hop', '1',
        'Keep-Alive', 'timeout=9',
        'Proxy-Authenticate', 'Basic',
        'Trailer', 'X-T',
        'Set-Cookie', 'a=1; Path=/; HttpOnly',
        'Set-Cookie', 'b=2; Path=/; Secure',
        'Cache-Control', 'private, max-age=60',
        'ETag', '"v1"',
        'Content-Type', 'text/plain'
      ])
      res.addTrailers({ 'X-T': 'done' })
      res.end('hello from upstream')
    })
  })
  return Object.assign(upstream, { bodies })
}

function checkNoRequestHopByHop (t: Test, headers: IncomingHttpHeaders): void {
  for (const name of REQUEST_HOP_BY_HOP) t.equal(headers[name], undefined, `${name} is not forwarded`)
  // undici opens its own hop to the upstream and says keep-alive on it; the client's tokens do not travel.
  t.equal(headers.connection, 'keep-alive', 'connection is the gateway\'s own, not the client\'s')
}

t.test('request: hop-by-hop fields are dropped, end-to-end fields and forwarding fields arrive', async (t) => {
  const upstream = await echoUpstream(t)
  const g = await startGateway(t, { legacy: upstream.url, new: upstream.url })
  const res = await rawExchange(g.proxyUrl, [request([
    'GET /items/7?q=denim HTTP/1.1',
    'Host: shop.example:8443',
    'Connection: keep-alive, X-Hop-Custom',
    'X-Hop-Custom: 1',
    'Keep-Alive: timeout=5',
    'TE: trailers',
    'Proxy-Authorization: Basic x',
    'Proxy-Connection: keep-alive',
    'Authorization: Bearer end-to-end',
    'Cookie: session=s-42; theme=dark',
    'X-User-Id: ana',
    'Accept: application/json',
    'X-Forwarded-For: 203.0.113.9',
    'X-Request-Id: req-hop-1'
  ])])
  t.equal(res.status, 200)
  t.equal(upstream.seen.length, 1, 'the upstream saw one request')
  const seen = upstream.seen[0]!
  t.equal(seen.url, '/items/7?q=denim', 'path and query pass unchanged')
  checkNoRequestHopByHop(t, seen.headers)
  t.equal(seen.headers.authorization, 'Bearer end-to-end', 'authorization is end to end')
  t.equal(seen.headers.cookie, 'session=s-42; theme=dark', 'cookie is end to end')
  t.equal(seen.headers['x-user-id'], 'ana')
  t.equal(seen.headers.accept, 'application/json')
  t.equal(seen.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1', 'the client address is appended to x-forwarded-for')
  t.equal(seen.headers['x-forwarded-proto'], 'http')
  t.equal(seen.headers['x-forwarded-host'], 'shop.example:8443', 'x-forwarded-host is the Host the client sent')
  t.equal(seen.headers.host, `127.0.0.1:${upstream.port}`, 'host is the upstream\'s')
  t.equal(seen.headers['x-request-id'], 'req-hop-1', 'the client\'s x-request-id is passed on')
  t.equal(res.get('x-request-id'), 'req-hop-1', 'and echoed to the client')
  t.equal(res.get('x-switchyard-backend'), 'legacy')
})

t.test('request: without x-request-id a UUID is made; forwarding fields from the client are not trusted', async (t) => {
  const upstream = await echoUpstream(t)
  const g = await startGateway(t, { legacy: upstream.url, new: upstream.url })
  const res = await rawExchange(g.proxyUrl, [request([
    'GET /items HTTP/1.1',
    'Host: shop.example',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: evil.example'
  ])])
  t.equal(res.status, 200)
  const seen = upstream.seen[0]!
  t.match(seen.headers['x-request-id'], UUID, 'a UUID is sent upstream')
  t.equal(res.get('x-request-id'), seen.headers['x-request-id'], 'the same id is echoed to the client')
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'x-forwarded-for starts with the client address')
  t.equal(seen.headers['x-forwarded-proto'], 'http', 'x-forwarded-proto is what the gateway saw (trust_proxy is off)')
  t.equal(seen.headers['x-forwarded-host'], 'shop.example', 'x-forwarded-host is the Host header (trust_proxy is off)')
})

t.test('response: hop-by-hop fields are dropped, both Set-Cookie fields arrive', async (t) => {
  const upstream = await echoUpstream(t)
  const g = await startGateway(t, { legacy: upstream.url, new: upstream.url })
  const ask = request(['GET /items/7 HTTP/1.1', 'Host: shop.example', 'Connection: keep-alive'])
  // What the upstream itself puts on the wire, so the assertions below are about the gateway.
  const direct = await rawExchange(upstream.url, [ask])
  t.same(direct.all('connection'), ['X-Up-Hop'], 'control: the upstream sends Connection: X-Up-Hop')
  for (const name of ['x-up-hop', 'keep-alive', 'proxy-authenticate', 'trailer']) t.equal(direct.all(name).length, 1, `control: the upstream sends ${name}`)

  const res = await rawExchange(g.proxyUrl, [ask])
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'hello from upstream', 'the body is intact')
  t.same(res.all('x-up-hop'), [], 'the field the upstream\'s Connection named is dropped')
  t.same(res.all('proxy-authenticate'), [], 'proxy-authenticate is dropped')
  t.same(res.all('trailer'), [], 'trailer is dropped')
  // The gateway's server keeps its own connection to the client alive: its own Connection and Keep-Alive
  // fields are legitimate, the upstream's values are not.
  t.notOk(res.all('connection').some((v) => /x-up-hop/i.test(v)), 'connection does not carry the upstream\'s tokens')
  t.notOk(res.all('keep-alive').includes('timeout=9'), 'keep-alive is not the upstream\'s')
  t.same(res.all('set-cookie'), ['a=1; Path=/; HttpOnly', 'b=2; Path=/; Secure'], 'each Set-Cookie arrives as its own field, in order')
  t.equal(res.get('cache-control'), 'private, max-age=60')
  t.equal(res.get('etag'), '"v1"')
  t.equal(res.get('content-type'), 'text/plain')
  t.equal(res.get('x-switchyard-backend'), 'legacy')
  t.match(res.get('x-request-id'), UUID)
})

t.test('a chunked request body reaches the upstream intact', async (t) => {
  const upstream = await echoUpstream(t)
  const g = await startGateway(t, { legacy: upstream.url, new: upstream.url })
  const pieces = [Buffer.from('{"title":"denim'), Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a]), Buffer.alloc(70_000, 'z'), Buffer.from('"}')]
  const res = await rawExchange(g.proxyUrl, [
    request(['POST /items HTTP/1.1', 'Host: shop.example', 'Content-Type: application/octet-stream', 'Transfer-Encoding: chunked']),
    // Each chunk goes out on its own write, so the gateway meets the body in pieces.
    ...pieces.map((p) => Buffer.concat([Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')])),
    '0\r\n\r\n'
  ])
  t.equal(res.status, 200)
  const seen = upstream.seen[0]!
  t.equal(seen.method, 'POST')
  t.equal(upstream.bodies.length, 1)
  t.same(upstream.bodies[0], Buffer.concat(pieces), 'the upstream read the same bytes the client sent')
  t.equal(seen.headers['transfer-encoding'], 'chunked', 'the body stays chunked upstream')
  t.equal(seen.headers['content-length'], undefined, 'and carries no invented content-length')
  t.equal(seen.headers['content-type'], 'application/octet-stream')
})
