// When the upstream is down, refuses, resets or hangs, the client gets the gateway's own error (502 or
// 504, JSON, with a stable code), the failure is counted by kind, and the gateway keeps serving. When the
// upstream dies after the status line, the client sees a cut connection, never a truncated body presented
// as complete and never a hang. The requests go to legacy (items-api at 0 %), so failover plays no part.
import { request, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { sample as metricValue, scrape as scrapeMetrics } from './helpers/metrics.ts'
import { drainOrClose } from './fixtures/raw-http.ts'
import { afterRequestHead, closedPort, startRawUpstream, type Behaviour } from './fixtures/raw-upstream.ts'
import { startGateway, type TestGateway } from './helpers/gateway.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

const RESPONSE_TIMEOUT_MS = 300
const IDLE_TIMEOUT_MS = 300
// undici checks the headers and body timeouts on a coarse timer (ticks of about half a second), so a
// timeout fires up to about a second late; the rest is scheduling on a loaded machine.
const SLACK_MS = 1_500
const KINDS = ['refused', 'reset', 'connect_timeout', 'timeout', 'body_timeout', 'dns', 'protocol', 'other']
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

interface Failure {
  name: string
  /** The legacy upstream: 'down' (nothing listens), or the behaviour of its first connection (later ones answer normally). */
  legacy: Behaviour | 'down'
  status: 502 | 504
  code: 'SY_ERR_UPSTREAM_UNAVAILABLE' | 'SY_ERR_UPSTREAM_TIMEOUT'
  kind: string
}

const FAILURES: Failure[] = [
  {
    name: 'down: nothing listens on the port',
    legacy: 'down',
    status: 502,
    code: 'SY_ERR_UPSTREAM_UNAVAILABLE',
    kind: 'refused'
  },
  {
    name: 'refuses: closes every connection as soon as it is accepted',
    legacy: (socket) => socket.destroy(),
    status: 502,
    code: 'SY_ERR_UPSTREAM_UNAVAILABLE',
    kind: 'reset'
  },
  {
    name: 'resets: destroys the socket on the first data',
    legacy: (socket) => socket.once('data', () => socket.destroy()),
    status: 502,
    code: 'SY_ERR_UPSTREAM_UNAVAILABLE',
    kind: 'reset'
  },
  {
    name: 'resets: sends a TCP RST (resetAndDestroy) on the first data',
    legacy: (socket) => socket.once('data', () => socket.resetAndDestroy()),
    status: 502,
    code: 'SY_ERR_UPSTREAM_UNAVAILABLE',
    kind: 'reset'
  },
  {
    name: 'hangs: accepts, reads the request and never answers',
    legacy: (socket) => { socket.resume() },
    status: 504,
    code: 'SY_ERR_UPSTREAM_TIMEOUT',
    kind: 'timeout'
  }
]

async function gatewayInFrontOf (t: Test, legacy: string, extra: Record<string, unknown> = {}): Promise<{ g: TestGateway, neu: string }> {
  const neu = await startUpstream(t, namedJson('new'))
  const g = await startGateway(t, {
    legacy,
    new: neu.url,
    percents: { 'items-api': 0 },
    config: {
      backends: {
        legacy: { url: legacy, timeouts: { response_ms: RESPONSE_TIMEOUT_MS, idle_ms: IDLE_TIMEOUT_MS } },
        new: { url: neu.url, timeouts: { response_ms: RESPONSE_TIMEOUT_MS, idle_ms: IDLE_TIMEOUT_MS } }
      },
      ...extra
    }
  })
  return { g, neu: neu.url }
}

function upstreamErrors (metrics: string, backend: string): Record<string, number> {
  return Object.fromEntries(KINDS.map((kind) => [kind, metricValue(metrics, 'switchyard_upstream_errors_total', { route: 'items', backend, kind })]))
}

/** Waits until every exchange has let go of its response: the in-flight count goes back to zero. */
async function settled (g: TestGateway): Promise<number> {
  for (let i = 0; i < 100 && g.gw.inflight !== 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  return g.gw.inflight
}

async function checkError (t: Test, res: Response, expected: { status: number, code: string, backend: string }): Promise<void> {
  t.equal(res.status, expected.status, `status ${expected.status}`)
  t.match(res.headers.get('content-type'), /^application\/json/, 'a JSON body')
  t.equal(res.headers.get('x-switchyard-backend'), expected.backend, `x-switchyard-backend: ${expected.backend}`)
  t.match(res.headers.get('x-request-id'), UUID, 'x-request-id set')
  const body = await res.json() as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'], 'the body is { statusCode, code, error, message }')
  t.equal(body.statusCode, expected.status)
  t.equal(body.code, expected.code)
  t.equal(body.error, expected.status === 504 ? 'Gateway Timeout' : 'Bad Gateway')
  t.match(body.message, new RegExp(`the ${expected.backend} backend`), 'the message names the backend')
}

for (const f of FAILURES) {
  t.test(f.name, async (t) => {
    const raw = f.legacy === 'down' ? null : await startRawUpstream(t, [f.legacy])
    const legacy = raw?.url ?? `http://127.0.0.1:${await closedPort()}`
    const { g } = await gatewayInFrontOf(t, legacy)
    const before = await scrapeMetrics(g.adminUrl)

    const started = performance.now()
    const res = await fetch(`${g.proxyUrl}/items/1`, { signal: AbortSignal.timeout(10_000) })
    const elapsed = performance.now() - started
    await checkError(t, res, { status: f.status, code: f.code, backend: 'legacy' })
    if (f.status === 504) {
      t.ok(elapsed >= RESPONSE_TIMEOUT_MS - 5, `answered after the response timeout (${elapsed.toFixed(0)} ms)`)
      t.ok(elapsed < RESPONSE_TIMEOUT_MS + SLACK_MS, `answered within the response timeout plus ${SLACK_MS} ms (${elapsed.toFixed(0)} ms)`)
    } else {
      t.ok(elapsed < SLACK_MS, `answered at once (${elapsed.toFixed(0)} ms)`)
    }
    t.comment(`${f.name}: ${res.status} after ${elapsed.toFixed(0)} ms`)

    const after = await scrapeMetrics(g.adminUrl)
    const was = upstreamErrors(before, 'legacy')
    const is = upstreamErrors(after, 'legacy')
    const grew = Object.fromEntries(KINDS.map((k) => [k, (is[k] ?? 0) - (was[k] ?? 0)]).filter(([, d]) => d !== 0))
    t.same(grew, { [f.kind]: 1 }, `switchyard_upstream_errors_total{route="items",backend="legacy",kind="${f.kind}"} went up by one, and no other kind`)
    t.equal(metricValue(after, 'switchyard_requests_total', { route: 'items', backend: 'legacy', method: 'GET', code: String(f.status) }), 1,
      `the request counts as a ${f.status} of legacy`)
    t.equal(metricValue(after, 'switchyard_decisions_total', { route: 'items', backend: 'legacy', reason: 'failover' }), 0, 'no failover')

    // The gateway keeps serving: the same backend, once it behaves, and the other one.
    if (raw !== null) {
      const next = await fetch(`${g.proxyUrl}/items/2`)
      t.equal(next.status, 200, 'the next request to legacy is answered')
      t.same(await next.json(), { answer: 'ok' })
      t.equal(next.headers.get('x-switchyard-backend'), 'legacy')
    }
    const pinned = await fetch(`${g.proxyUrl}/v2/items/3`)
    t.equal(pinned.status, 200, 'a request to new is answered')
    t.same(await pinned.json(), { backend: 'new', method: 'GET', url: '/items/3' })
    const health = await fetch(`${g.adminUrl}/healthz`)
    t.equal(health.status, 200, 'the admin server still answers')
    t.ok(g.gw.ready, 'the gateway is still ready')
    t.equal(await settled(g), 0, 'no exchange is left in flight')
  })
}

interface Cut {
  name: string
  /** Sends the status line, headers and part of the body, then breaks the connection or goes silent. */
  legacy: Behaviour
  framing: 'content-length' | 'chunked'
  kind: 'reset' | 'body_timeout'
}

const PART = 64 * 1024
const DECLARED = 1024 * 1024

function partThen (framing: Cut['framing'], end: (socket: Socket) => void): Behaviour {
  return afterRequestHead((socket) => {
    const part = Buffer.alloc(PART, 'x')
    const head = 'HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n' +
      (framing === 'chunked' ? 'transfer-encoding: chunked\r\n\r\n' : `content-length: ${DECLARED}\r\n\r\n`)
    socket.write(head)
    socket.write(framing === 'chunked' ? Buffer.concat([Buffer.from(`${PART.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part,
      () => end(socket))
  })
}

const CUTS: Cut[] = [
  { name: 'resets (RST) mid-body after a content-length', legacy: partThen('content-length', (s) => s.resetAndDestroy()), framing: 'content-length', kind: 'reset' },
  { name: 'resets (RST) mid-body of a chunked response', legacy: partThen('chunked', (s) => s.resetAndDestroy()), framing: 'chunked', kind: 'reset' },
  { name: 'closes (FIN) mid-body of a chunked response', legacy: partThen('chunked', (s) => s.destroy()), framing: 'chunked', kind: 'reset' },
  { name: 'goes silent mid-body', legacy: partThen('content-length', (s) => { s.resume() }), framing: 'content-length', kind: 'body_timeout' }
]

for (const c of CUTS) {
  const when = c.kind === 'reset' ? 'at once' : 'after the idle timeout'
  t.test(`${c.name}: the client sees the connection cut ${when}, not a hang`, async (t) => {
    const raw = await startRawUpstream(t, [c.legacy])
    const { g } = await gatewayInFrontOf(t, raw.url)
    const before = upstreamErrors(await scrapeMetrics(g.adminUrl), 'legacy')

    const started = performance.now()
    // The signal only bounds a failing run: a hang shows up as an AbortError below.
    const req = request(`${g.proxyUrl}/items/big`, { agent: false, signal: AbortSignal.timeout(10_000) })
    req.end()
    const [res] = await once(req, 'response') as [IncomingMessage]
    t.equal(res.statusCode, 200, 'the status line had gone out')
    t.equal(res.headers['x-switchyard-backend'], 'legacy', 'with x-switchyard-backend')
    if (c.framing === 'content-length') t.equal(res.headers['content-length'], String(DECLARED))
    else t.equal(res.headers['transfer-encoding'], 'chunked')
    let received = 0
    let failure: unknown = null
    try {
      for await (const chunk of res) received += (chunk as Buffer).length
    } catch (err) {
      failure = err
    }
    const elapsed = performance.now() - started
    t.comment(`${c.name}: ${received} bytes, then ${String(failure)} after ${elapsed.toFixed(0)} ms`)
    t.ok(failure !== null, 'reading the body fails')
    t.not((failure as { name?: string } | null)?.name, 'AbortError', 'because the connection was cut, not because the client gave up')
    t.notOk(res.complete, 'the response is not complete')
    t.ok(received <= PART, `at most the part the upstream sent arrived (${received} bytes)`)
    if (c.kind === 'body_timeout') t.ok(elapsed >= IDLE_TIMEOUT_MS - 5, `not before the idle timeout (${elapsed.toFixed(0)} ms)`)
    const bound = (c.kind === 'body_timeout' ? IDLE_TIMEOUT_MS : 0) + SLACK_MS
    t.ok(elapsed < bound, `the cut reached the client ${when} (${elapsed.toFixed(0)} ms, bound ${bound} ms)`)

    const after = await scrapeMetrics(g.adminUrl)
    const is = upstreamErrors(after, 'legacy')
    const grew = Object.fromEntries(KINDS.map((k) => [k, (is[k] ?? 0) - (before[k] ?? 0)]).filter(([, d]) => d !== 0))
    t.same(grew, { [c.kind]: 1 }, `switchyard_upstream_errors_total{kind="${c.kind}"} went up by one, and no other kind`)

    const next = await fetch(`${g.proxyUrl}/items/2`)
    t.equal(next.status, 200, 'the next request to legacy is answered')
    t.same(await next.json(), { answer: 'ok' })
    t.equal(raw.connections, 2)
    t.ok(g.gw.ready, 'the gateway is still ready')
    t.equal(await settled(g), 0, 'no exchange is left in flight')
  })
}

t.test('resets mid-upload: the client gets the 502 and is not left stuck with the rest of its body', async (t) => {
  // The upstream reads 2 MB of a 50 MB upload, then resets. The gateway can only answer 502; what it must
  // not do is leave the client's connection open with nobody reading it, so that the client blocks on the
  // rest of its body for ever. Either outcome is fine: the gateway closes the connection after the 502, or
  // it reads and discards the rest of the body and keeps the connection.
  const declared = 50 * 1024 * 1024
  const raw = await startRawUpstream(t, [(socket) => {
    let read = 0
    socket.on('data', (chunk: Buffer) => {
      read += chunk.length
      if (read > 2 * 1024 * 1024) socket.resetAndDestroy()
    })
  }])
  // A connection nobody reads also holds up a graceful shutdown until the drain timeout: keep that short.
  const { g } = await gatewayInFrontOf(t, raw.url, { shutdown: { drain_timeout_ms: 500 } })
  const { hostname, port } = new URL(g.proxyUrl)
  const client = connect(Number(port), hostname)
  t.teardown(() => client.destroy())
  await once(client, 'connect')
  let answer = ''
  let answeredAt = 0
  client.on('data', (chunk: Buffer) => {
    answer += chunk.toString('latin1')
    if (answeredAt === 0 && answer.includes('\r\n\r\n')) answeredAt = performance.now()
  })
  // A reset by the gateway is one of the acceptable outcomes: it shows up as the close that follows it.
  let socketError = 'none'
  client.on('error', (err) => { socketError = err.message })
  const ended = new Promise<string>((resolve) => client.once('close', () => resolve('the gateway closed the connection')))
  const sent = (async (): Promise<string> => {
    client.write(`POST /items/upload HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`)
    const chunk = Buffer.alloc(64 * 1024, 7)
    for (let written = 0; written < declared && !client.destroyed; written += chunk.length) {
      if (!client.write(chunk)) await drainOrClose(client)
    }
    return client.destroyed ? 'the gateway closed the connection' : 'the client sent its whole body'
  })()
  // Bounded so that a stuck connection fails the test instead of hanging it: on loopback the rest of the
  // body goes through, or the close arrives, in well under a second.
  const outcome = await Promise.race([sent, ended, sleep(3_000, 'stuck', { ref: false })])
  const sinceAnswer = answeredAt === 0 ? 0 : performance.now() - answeredAt
  t.comment(`resets mid-upload: ${outcome}; client socket error: ${socketError}; ${answer.length} bytes of answer; ${sinceAnswer.toFixed(0)} ms after the answer`)

  t.match(answer, /^HTTP\/1\.1 502 /, 'the client got a 502')
  t.match(answer, /x-switchyard-backend: legacy/i)
  t.match(answer, /"code":"SY_ERR_UPSTREAM_UNAVAILABLE"/)
  const metrics = await scrapeMetrics(g.adminUrl)
  t.equal(metricValue(metrics, 'switchyard_upstream_errors_total', { route: 'items', backend: 'legacy', kind: 'reset' }), 1, 'counted as a reset of legacy')
  t.not(outcome, 'stuck', 'after the 502 the connection is closed, or the rest of the body is read; the client is not left blocked')
  client.destroy()
  t.equal(await settled(g), 0, 'no exchange is left in flight')
})

t.test('a POST pinned to new (/v2) with new down gets a 502 and is not answered by legacy', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const neu = `http://127.0.0.1:${await closedPort()}`
  const g = await startGateway(t, { legacy: legacy.url, new: neu, percents: { 'items-api': 0 } })

  const res = await fetch(`${g.proxyUrl}/v2/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'denim jacket' })
  })
  await checkError(t, res, { status: 502, code: 'SY_ERR_UPSTREAM_UNAVAILABLE', backend: 'new' })
  t.equal(legacy.seen.length, 0, 'legacy never saw the request')

  const metrics = await scrapeMetrics(g.adminUrl)
  t.same(Object.fromEntries(Object.entries(upstreamErrors(metrics, 'new')).filter(([, n]) => n !== 0)), { refused: 1 },
    'switchyard_upstream_errors_total{route="items",backend="new",kind="refused"} is 1')
  t.equal(metricValue(metrics, 'switchyard_requests_total', { route: 'items', backend: 'new', method: 'POST', code: '502' }), 1)
  t.equal(metricValue(metrics, 'switchyard_decisions_total', { route: 'items', backend: 'legacy', reason: 'failover' }), 0, 'no failover')
  t.equal(metricValue(metrics, 'switchyard_requests_total', { route: 'items', backend: 'legacy', method: 'POST', code: '200' }), 0)

  const next = await fetch(`${g.proxyUrl}/items/5`)
  t.equal(next.status, 200, 'the gateway still answers a following request')
  t.same(await next.json(), { backend: 'legacy', method: 'GET', url: '/items/5' })
  t.equal(await settled(g), 0, 'no exchange is left in flight')
})
