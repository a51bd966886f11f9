// Shadowing never harms the client and never leaks. The client's answer is byte for byte the same at 0% and
// 100%; a shadow backend that hangs, resets or answers 10 MB costs the client nothing over thousands of
// requests, and the gateway's memory, the shadow byte budget, the shadows in flight and the shadow
// backend's sockets all stay bounded; an exhausted budget drops shadows, not answers; a slow shadow does
// not slow the client; a client that leaves mid-answer drops its shadow and gives its bytes back.
// Legacy answers every client (the flag is at 0%), so every shadow goes to new.
import { createHash } from 'node:crypto'
import { Agent, request, type IncomingMessage, type RequestListener } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { startGateway, type TestGateway } from './helpers/gateway.ts'
import { clientPool, runLoad, tallyConnections } from './helpers/load.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { shadowRoute, untilCompared, type ShadowRouteJson } from './helpers/shadow.ts'
import { startUpstream, type TestUpstream } from './helpers/upstream.ts'

const KB = 1024
const MB = 1024 * KB
const ROUTE = 'items'

function shadowed (shadow: Record<string, unknown>, top: Record<string, unknown> = {}): Record<string, unknown> {
  return { routes: [{ name: ROUTE, paths: ['/items', '/items/*'], flag: 'items-api', shadow }], ...top }
}

/** Deterministic, incompressible bytes, so that a shifted or altered byte cannot go unnoticed. */
function bytes (seed: string, size: number): Buffer {
  const out = Buffer.alloc(size)
  let block = createHash('sha256').update(seed).digest()
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at)
    block = createHash('sha256').update(block).digest()
  }
  return out
}

/** An upstream answer of fixed bytes with a declared length. */
function fixed (body: Buffer, contentType = 'application/octet-stream'): RequestListener {
  return (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': contentType, 'content-length': body.length })
    res.end(body)
  }
}

function shadowing (g: TestGateway) {
  if (g.gw.shadowing === null) throw new Error('the gateway has no shadowing')
  return g.gw.shadowing
}

/** Waits until no shadow of the route is in flight and the byte budget is wholly given back. */
async function untilQuiet (g: TestGateway, ms = 10_000): Promise<ShadowRouteJson> {
  const { value } = await within(ms, 'no shadow in flight and the budget back to 0', async () => {
    const route = await shadowRoute(g.adminUrl, ROUTE)
    return route.inflight === 0 && shadowing(g).budget.used === 0 ? route : undefined
  })
  return value
}

// tap starts node without --expose-gc; set at run time, the flag gives a new context a gc() to call, so
// that the live heap can be compared rather than rss alone, which garbage not yet collected inflates.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
// 400 bytes a request over 10,000 requests: what a record kept per request would cost.
const MAX_HEAP_GROWTH = 4 * MB

/**
 * The heap still in use after a full collection. The test upstreams record every request they see, which
 * is the test's memory, not the gateway's: those records are dropped first.
 */
function liveHeap (...upstreams: TestUpstream[]): number {
  for (const u of upstreams) u.seen.length = 0
  gc()
  return process.memoryUsage().heapUsed
}

const total = (r: ShadowRouteJson): number => r.counts.match + r.counts.mismatch + r.counts.error + r.counts.dropped

t.test('the client\'s answer is byte-identical with shadowing at 0% and at 100%', async (t) => {
  // Pieces that a text decoder or a re-framing would change: a BOM, invalid UTF-8, a NUL, a two-byte
  // character split across two pieces, the bytes of a chunk terminator inside the data, and 16 kB of noise.
  const pieces = [
    Buffer.from('\uFEFF{"opening":true}\n'),
    Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]),
    Buffer.concat([Buffer.from([0xa9]), Buffer.from('\r\n0\r\n\r\n')]),
    bytes('noise', 16 * KB)
  ]
  const whole = Buffer.concat(pieces)
  const headers = (url: string) => [
    'Content-Type', 'application/octet-stream',
    'ETag', '"v1-abc"',
    'Cache-Control', 'private, max-age=0',
    'Set-Cookie', 'a=1; Path=/',
    'Set-Cookie', 'b=2; Path=/; HttpOnly',
    'X-Custom-Case', 'MiXeD',
    'Vary', 'Accept-Encoding',
    'X-Seen-Url', url
  ]
  const legacy = await startUpstream(t, async (req, res) => {
    req.resume()
    res.sendDate = false
    const url = req.url ?? ''
    if (url.startsWith('/items/missing')) {
      const body = '{"error":"not found"}'
      res.writeHead(404, ['Content-Type', 'application/json', 'Content-Length', String(body.length), 'X-Seen-Url', url])
      res.end(body)
      return
    }
    const sized = url.startsWith('/items/sized')
    res.writeHead(200, sized ? [...headers(url), 'Content-Length', String(whole.length)] : headers(url))
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    // In pieces, each on its own turn of the event loop, so the gateway relays several chunks.
    for (const piece of pieces) {
      res.write(piece)
      await new Promise(setImmediate)
    }
    res.end()
  })
  // New answers something else, so every comparison is a mismatch that must not reach the client.
  const neu = await startUpstream(t, fixed(Buffer.from('{"other":"answer"}'), 'application/json'))
  const off = await startGateway(t, { legacy: legacy.url, new: neu.url, config: shadowed({ percent: 0 }) })
  const on = await startGateway(t, { legacy: legacy.url, new: neu.url, config: shadowed({ percent: 100 }) })
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())

  const requests = [
    { method: 'GET', path: '/items/chunked?b=2&a=1&q=%C3%A9&empty=&a=3', body: whole },
    { method: 'GET', path: '/items/sized?x=1&y=%20z', body: whole },
    { method: 'HEAD', path: '/items/sized?x=1&y=%20z', body: Buffer.alloc(0) },
    { method: 'GET', path: '/items/missing?id=7', body: Buffer.from('{"error":"not found"}') }
  ]
  for (const [i, r] of requests.entries()) {
    const requestId = `isolation-${i}`
    const a = await exchange(off.proxyUrl, r.method, r.path, requestId, agent)
    const b = await exchange(on.proxyUrl, r.method, r.path, requestId, agent)
    const what = `${r.method} ${r.path}`
    t.equal(b.status, a.status, `${what}: the same status`)
    t.equal(b.statusMessage, a.statusMessage, `${what}: the same reason phrase`)
    t.same(b.headers, a.headers, `${what}: the same header lines, in order, but Date`)
    t.ok(b.body.equals(a.body), `${what}: the same body bytes (${b.body.length} at 100%, ${a.body.length} at 0%)`)
    t.ok(b.body.equals(r.body), `${what}: which are the primary's`)
    if (r.method === 'GET' && r.body === whole) t.ok(b.chunks > 1, `${what}: relayed in ${b.chunks} chunks`)
  }

  const route = await untilCompared(on.adminUrl, ROUTE, requests.length)
  t.equal(total(route), requests.length, 'at 100% every request was shadowed')
  t.ok(route.counts.mismatch >= 3, `and new's different answers were seen as mismatches (${route.counts.mismatch})`)
  t.same(neu.seen.map((s) => `${s.method} ${s.url}`).sort(), requests.map((r) => `${r.method} ${r.path}`).sort(),
    'new got each request, query string included, from the 100% gateway only')
  t.equal(total(await shadowRoute(off.adminUrl, ROUTE)), 0, 'at 0% nothing was shadowed')
})

interface RawAnswer {
  status: number
  statusMessage: string
  /** Header lines as sent, names in their case, repeated fields separate, without the per-request Date. */
  headers: Array<[string, string]>
  body: Buffer
  chunks: number
}

/** One request over node:http, read as raw header lines and raw body bytes: no decoding of any kind. */
async function exchange (origin: string, method: string, path: string, requestId: string, agent: Agent): Promise<RawAnswer> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(origin + path, { method, agent, headers: { 'x-request-id': requestId } }, resolve)
    req.once('error', reject)
    req.end()
  })
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  const headers: Array<[string, string]> = []
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i]!
    if (name.toLowerCase() !== 'date') headers.push([name, res.rawHeaders[i + 1]!])
  }
  return { status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers, body: Buffer.concat(chunks), chunks: chunks.length }
}

// A shadow backend that fails in one way, under sustained load. The concurrency limit is small so that most
// shadows are dropped for it; the timeout of the hanging one is small so that it frees its slots quickly.
const CONCURRENCY = 8
const TIMEOUT_MS = 200
const CLIENT_IN_FLIGHT = 50
const SHADOW_KEEP_ALIVE_MS = 500
const WARMUP = 1_000
const MAX_RSS_GROWTH = 150 * MB
const PRIMARY = Buffer.from('{"id":1,"title":"Jacket","from":"legacy"}')
const BIG = 10 * MB
const BIG_CHUNK = bytes('big', 64 * KB)

interface FailingShadow {
  name: string
  handler: RequestListener
  /**
   * Only the hanging backend needs a short timeout; the others get a long one, so that a slow turn of the
   * event loop under load cannot turn their failure into a timeout.
   */
  timeoutMs: number
  /** Requests after the warm-up. */
  requests: number
  /** The only outcomes expected, besides drops for concurrency: errors by kind or drops by reason. */
  errors: string[]
  drops: string[]
}

const FAILING: FailingShadow[] = [
  {
    name: 'hangs (accepts, never answers)',
    handler: (req) => { req.resume() },
    timeoutMs: TIMEOUT_MS,
    requests: 10_000,
    errors: ['timeout'],
    drops: []
  },
  {
    name: 'resets the connection after the request',
    handler: (req) => { req.socket.destroy() },
    timeoutMs: 5_000,
    requests: 10_000,
    errors: ['reset'],
    drops: []
  },
  {
    name: 'streams 10 MB, over max_body_bytes',
    handler: (req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      let sent = 0
      const pump = (): void => {
        while (sent < BIG && !res.destroyed) {
          sent += BIG_CHUNK.length
          if (!res.write(BIG_CHUNK)) {
            res.once('drain', pump)
            return
          }
        }
        if (!res.destroyed) res.end()
      }
      pump()
    },
    timeoutMs: 5_000,
    requests: 10_000,
    errors: [],
    drops: ['too_large']
  }
]

for (const c of FAILING) {
  t.test(`a shadow backend that ${c.name}: every client answer is the primary's, and nothing leaks`, async (t) => {
    const legacy = await startUpstream(t, fixed(PRIMARY, 'application/json'))
    const neu = await startUpstream(t, c.handler)
    const sockets = tallyConnections(neu.server)
    const g = await startGateway(t, {
      legacy: legacy.url,
      new: neu.url,
      config: shadowed({ percent: 100, concurrency: CONCURRENCY, timeout_ms: c.timeoutMs }, {
        backends: { legacy: { url: legacy.url }, new: { url: neu.url, keep_alive_ms: SHADOW_KEEP_ALIVE_MS } }
      })
    })
    const client = clientPool(t, g.proxyUrl, CLIENT_IN_FLIGHT)
    const one = async (i: number): Promise<void> => {
      const res = await client.request({ method: 'GET', path: `/items/${i % 100}?n=${i}` })
      const body = Buffer.from(await res.body.arrayBuffer())
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${body.toString('latin1').slice(0, 200)}`)
      if (!body.equals(PRIMARY)) throw new Error(`body ${body.toString('latin1').slice(0, 200)}`)
      if (res.headers['x-switchyard-backend'] !== 'legacy') throw new Error(`answered by ${String(res.headers['x-switchyard-backend'])}`)
    }

    const warm = await runLoad(WARMUP, CLIENT_IN_FLIGHT, one)
    t.equal(warm.failures, 0, `warm-up: ${WARMUP} answers intact`, { examples: warm.examples })
    await untilQuiet(g)
    const heapBefore = liveHeap(legacy, neu)
    const memory = watchMemory(g)
    sockets.resetPeak()

    const run = await runLoad(c.requests, CLIENT_IN_FLIGHT, (i) => one(WARMUP + i))
    const { rss, peakRss } = memory.stop()
    t.equal(run.failures, 0, `${c.requests} client requests in ${Math.round(run.ms)} ms, every one answered 200 with the primary's body`, { examples: run.examples })

    const route = await untilQuiet(g)
    const heapAfter = liveHeap(legacy, neu)
    t.ok(peakRss - rss.before < MAX_RSS_GROWTH,
      `rss grew by less than ${mb(MAX_RSS_GROWTH)}: ${mb(rss.before)} after the warm-up, ${mb(rss.after)} at the end, ${mb(peakRss)} at most`)
    t.ok(heapAfter - heapBefore < MAX_HEAP_GROWTH,
      `the live heap grew by less than ${mb(MAX_HEAP_GROWTH)}: ${mb(heapBefore)} after the warm-up, ${mb(heapAfter)} at the end`)
    t.ok(memory.peakBudget <= shadowing(g).budget.limit, `the byte budget held at most ${mb(memory.peakBudget)} of ${mb(shadowing(g).budget.limit)}`)
    t.equal(shadowing(g).budget.used, 0, 'the byte budget is wholly given back')
    t.equal(route.inflight, 0, 'no shadow is in flight')
    // The server sees a socket the gateway destroyed close a moment later.
    t.ok(await eventually(2_000, async () => sockets.open <= CONCURRENCY),
      `the shadow backend holds ${sockets.open} connections, at most the concurrency limit (${CONCURRENCY}); ${sockets.accepted} accepted in all, at most ${sockets.peak} at once during the run`)
    // undici replaces a socket it destroyed to abort a request with a new connection that then carries
    // nothing: idle, it must close after the backend's keep_alive_ms like any other.
    t.ok(await eventually(SHADOW_KEEP_ALIVE_MS + 3_000, async () => sockets.open === 0),
      `and none once idle for keep_alive_ms (${SHADOW_KEEP_ALIVE_MS} ms): ${sockets.open} open`)

    const requests = WARMUP + c.requests
    t.equal(total(route), requests, `every request's shadow was counted: ${JSON.stringify({ errors: route.errors, drops: route.drops })}`)
    t.equal(route.counts.match + route.counts.mismatch, 0, 'none could be compared')
    t.ok((route.drops.concurrency ?? 0) > 0, `${route.drops.concurrency ?? 0} dropped for the concurrency limit`)
    t.same(Object.keys(route.errors).sort(), c.errors, `errors only of the expected kinds: ${JSON.stringify(route.errors)}`)
    t.same(Object.keys(route.drops).filter((r) => r !== 'concurrency').sort(), c.drops, `drops only for the expected reasons: ${JSON.stringify(route.drops)}`)
    for (const kind of c.errors) t.ok((route.errors[kind] ?? 0) > 0, `${route.errors[kind] ?? 0} failed with ${kind}`)
    for (const reason of c.drops) t.ok((route.drops[reason] ?? 0) > 0, `${route.drops[reason] ?? 0} dropped as ${reason}`)

    const metrics = await scrape(g.adminUrl)
    for (const [kind, n] of Object.entries(route.errors)) {
      t.equal(sample(metrics, 'switchyard_shadow_errors_total', { route: ROUTE, kind }), n, `switchyard_shadow_errors_total{kind="${kind}"} agrees`)
    }
    for (const [reason, n] of Object.entries(route.drops)) {
      t.equal(sample(metrics, 'switchyard_shadow_dropped_total', { route: ROUTE, reason }), n, `switchyard_shadow_dropped_total{reason="${reason}"} agrees`)
    }
    t.equal(sample(metrics, 'switchyard_shadow_total', { route: ROUTE, result: 'error' }) +
      sample(metrics, 'switchyard_shadow_total', { route: ROUTE, result: 'dropped' }), requests, 'switchyard_shadow_total counts every request')
  })
}

t.test('an exhausted buffer budget drops shadows as buffer_budget, and every client answer stays intact', async (t) => {
  // Each comparison would hold the copy of the primary's answer and the shadow's, 1.2 MB of a 1 MB budget.
  const answer = bytes('six hundred', 600 * KB)
  const legacy = await startUpstream(t, fixed(answer))
  const neu = await startUpstream(t, fixed(answer))
  const g = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    config: shadowed({ percent: 100, max_body_bytes: MB, concurrency: 32 }, { shadow: { buffer_budget_bytes: MB } })
  })
  const requests = 300
  const client = clientPool(t, g.proxyUrl, 16)
  const memory = watchMemory(g)
  const run = await runLoad(requests, 16, async (i) => {
    const res = await client.request({ method: 'GET', path: `/items/${i}` })
    const body = Buffer.from(await res.body.arrayBuffer())
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`)
    if (!body.equals(answer)) throw new Error(`a body of ${body.length} bytes that is not the primary's`)
  })
  const { peakRss, rss } = memory.stop()
  t.equal(run.failures, 0, `${requests} answers of 600 kB in ${Math.round(run.ms)} ms, every one intact`, { examples: run.examples })
  t.ok(memory.peakBudget <= MB, `the budget held at most ${mb(memory.peakBudget)} of 1 MB`)

  const route = await untilQuiet(g)
  t.equal(shadowing(g).budget.used, 0, 'the byte budget is wholly given back')
  t.equal(total(route), requests, `every request's shadow was counted: ${JSON.stringify(route.drops)}`)
  t.ok((route.drops.buffer_budget ?? 0) > 0, `${route.drops.buffer_budget ?? 0} dropped for the buffer budget`)
  t.equal(route.counts.match + route.counts.mismatch + route.counts.error, 0, 'none compared, none failed')
  const metrics = await scrape(g.adminUrl)
  t.equal(sample(metrics, 'switchyard_shadow_dropped_total', { route: ROUTE, reason: 'buffer_budget' }), route.drops.buffer_budget,
    'switchyard_shadow_dropped_total{reason="buffer_budget"} agrees')
  t.ok(peakRss - rss.before < MAX_RSS_GROWTH, `rss grew by less than ${mb(MAX_RSS_GROWTH)}: ${mb(rss.before)} at the start, ${mb(rss.after)} at the end, ${mb(peakRss)} at most`)
})

t.test('a slow shadow does not delay the client', async (t) => {
  const SHADOW_DELAY_MS = 2_000
  const body = Buffer.from('{"id":1}')
  const legacy = await startUpstream(t, fixed(body, 'application/json'))
  const neu = await startUpstream(t, (req, res) => {
    req.resume()
    const timer = setTimeout(() => fixed(body, 'application/json')(req, res), SHADOW_DELAY_MS)
    res.once('close', () => clearTimeout(timer))
  })
  const off = await startGateway(t, { legacy: legacy.url, new: neu.url, config: shadowed({ percent: 0 }) })
  const on = await startGateway(t, { legacy: legacy.url, new: neu.url, config: shadowed({ percent: 100 }) })
  const timed = async (url: string, path: string): Promise<{ ms: number, status: number, body: Buffer }> => {
    const started = performance.now()
    const res = await fetch(url + path)
    const got = Buffer.from(await res.arrayBuffer())
    return { ms: performance.now() - started, status: res.status, body: got }
  }

  const without = await timed(off.proxyUrl, '/items/1')
  const first = await timed(on.proxyUrl, '/items/1')
  const second = await timed(on.proxyUrl, '/items/2')
  t.equal(first.status, 200)
  t.ok(first.body.equals(body), 'the primary\'s answer')
  t.ok(first.ms < 1_000, `answered in ${Math.round(first.ms)} ms with a shadow that takes ${SHADOW_DELAY_MS} ms (${Math.round(without.ms)} ms unshadowed)`)
  t.ok(second.ms < 1_000, `and the next request too, in ${Math.round(second.ms)} ms`)
  await within(1_000, 'both shadow requests at new', async () => neu.seen.length === 2 ? true : undefined)
  t.equal(total(await shadowRoute(on.adminUrl, ROUTE)), 0, 'both shadows are still waiting for new')
  const route = await untilCompared(on.adminUrl, ROUTE, 2, 3 * SHADOW_DELAY_MS)
  t.equal(route.counts.match, 2, 'both are compared once new answers')
})

t.test('a client that leaves mid-answer drops its shadow as client_aborted, and its bytes come back', async (t) => {
  const FIRST = 64 * KB
  const SHADOW = 32 * KB
  const ABORTS = 5
  // The primary's answers the gateway has cut: it does so when it learns that the client left.
  let primaryCuts = 0
  const legacy = await startUpstream(t, (req, res) => {
    req.resume()
    res.once('close', () => { primaryCuts++ })
    // The first part only: the rest would come after the client has left, so it never does.
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 4 * FIRST })
    res.write(bytes('first', FIRST))
  })
  // A held shadow request: answered when the test says so; `cut` once the gateway closed it unanswered.
  let held: Array<{ answer: () => void, cut: boolean }> = []
  const neu = await startUpstream(t, (req, res) => {
    req.resume()
    const answer = (): void => { fixed(bytes('shadow', SHADOW))(req, res) }
    if (req.url?.includes('hold') !== true) {
      answer()
      return
    }
    const entry = { answer, cut: false }
    res.once('close', () => { entry.cut = !res.writableFinished })
    held.push(entry)
  })
  const legacySockets = tallyConnections(legacy.server)
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url, config: shadowed({ percent: 100 }) })
  const budget = shadowing(g).budget
  const dropped = async (): Promise<number> => (await shadowRoute(g.adminUrl, ROUTE)).drops.client_aborted ?? 0
  const answered = async (): Promise<number> =>
    sample(await scrape(g.adminUrl), 'switchyard_shadow_duration_seconds_count', { route: ROUTE, backend: 'new' })

  // The shadow's answer has been read before the client leaves: the job gives back both copies at once.
  for (let i = 0; i < ABORTS; i++) {
    const before = await dropped()
    await leaveMidAnswer(g.proxyUrl, `/items/read-${i}`, async () => {
      await within(5_000, 'the shadow\'s answer read and the first part copied', async () => budget.used === FIRST + SHADOW ? true : undefined)
    })
    await within(5_000, 'the shadow dropped as client_aborted', async () => await dropped() === before + 1 ? true : undefined)
    await untilQuiet(g)
  }
  t.equal(budget.used, 0, `${ABORTS} shadows answered before the client left: the budget is back to 0`)

  // The shadow's answer comes only after the client has left: what the fetch reads then is given back too.
  // Until then, the shadow must either be cancelled or keep its place in the concurrency limit: a request
  // that still runs but no longer counts lets the route exceed its limit, unseen, in the shadow pool.
  let orphans = 0
  for (let i = 0; i < ABORTS; i++) {
    const before = await dropped()
    const fetched = await answered()
    const cuts = primaryCuts
    await leaveMidAnswer(g.proxyUrl, `/items/hold-${i}`, async () => {
      await within(5_000, 'the shadow request at new', async () => held.length === 1 ? true : undefined)
    })
    await within(5_000, 'the primary\'s answer cut', async () => primaryCuts === cuts + 1 ? true : undefined)
    const entry = held[0]!
    held = []
    if (!await eventually(1_000, async () => entry.cut || (await shadowRoute(g.adminUrl, ROUTE)).inflight === 1)) orphans++
    if (!entry.cut) {
      entry.answer()
      await within(5_000, 'the late shadow answer read', async () => await answered() === fetched + 1 ? true : undefined)
    }
    await within(5_000, 'the shadow dropped as client_aborted', async () => await dropped() === before + 1 ? true : undefined)
    await untilQuiet(g)
  }
  t.equal(orphans, 0, `every shadow whose client left was cancelled, or counted in flight while its request ran (${orphans} of ${ABORTS} were neither)`)
  t.equal(budget.used, 0, `${ABORTS} shadows answered after the client left: the budget is back to 0`)

  const route = await shadowRoute(g.adminUrl, ROUTE)
  t.same(route.counts, { match: 0, mismatch: 0, error: 0, dropped: 2 * ABORTS }, 'every shadow dropped, none compared')
  t.same(route.drops, { client_aborted: 2 * ABORTS }, 'all as client_aborted')
  t.equal(route.inflight, 0, 'no shadow in flight')
  t.equal(sample(await scrape(g.adminUrl), 'switchyard_shadow_dropped_total', { route: ROUTE, reason: 'client_aborted' }), 2 * ABORTS,
    'switchyard_shadow_dropped_total{reason="client_aborted"} agrees')
  await within(5_000, 'the cut primary connections closed', async () => legacySockets.open === 0 ? true : undefined)
  t.equal(g.gw.inflight, 0, 'no client exchange left open')
})

/**
 * Requests `path`, reads the head and the first bytes of the body, waits for `before`, then destroys the
 * connection; resolves once it is closed.
 */
async function leaveMidAnswer (origin: string, path: string, before: () => Promise<void>): Promise<void> {
  const agent = new Agent({ keepAlive: false })
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(origin + path, { agent }, resolve)
      req.once('error', reject)
      req.end()
    })
    await new Promise<void>((resolve) => res.once('data', () => { res.pause(); resolve() }))
    await before()
    // Destroying an unfinished response emits 'aborted' errors, which are the point here.
    res.on('error', () => {})
    const closed = new Promise<void>((resolve) => res.socket.once('close', () => resolve()))
    res.socket.destroy()
    await closed
  } finally {
    agent.destroy()
  }
}

/** Whether `probe` comes true within `ms`, asked every 20 ms. */
async function eventually (ms: number, probe: () => Promise<boolean>): Promise<boolean> {
  const started = performance.now()
  for (;;) {
    if (await probe()) return true
    if (performance.now() - started > ms) return false
    await sleep(20)
  }
}

interface MemoryWatch {
  /** The most the shadow byte budget held at any sample. */
  readonly peakBudget: number
  stop (): { rss: { before: number, after: number }, peakRss: number }
}

/** Samples rss and the shadow budget's use every 50 ms until stopped. */
function watchMemory (g: TestGateway): MemoryWatch {
  const before = process.memoryUsage().rss
  const budget = shadowing(g).budget
  let peakRss = before
  let peakBudget = budget.used
  const timer = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    peakBudget = Math.max(peakBudget, budget.used)
  }, 50)
  return {
    get peakBudget () { return peakBudget },
    stop () {
      clearInterval(timer)
      const after = process.memoryUsage().rss
      return { rss: { before, after }, peakRss: Math.max(peakRss, after) }
    }
  }
}

function mb (n: number): string {
  return Math.abs(n) < MB ? `${(n / KB).toFixed(1)} kB` : `${(n / MB).toFixed(1)} MB`
}
