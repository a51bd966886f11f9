// `switchyard serve` as a real process: SIGTERM turns /readyz to 503, stops accepting connections, lets
// in-flight requests finish within shutdown.drain_timeout_ms, cuts the ones that outlive it, and exits 0.
// A bad config stops it at once with a message naming the key.
import { request, type IncomingHttpHeaders } from 'node:http'
import t from 'tap'
import { tempDir } from './helpers/gateway.ts'
import { spawnServe, waitReady, writeServeConfig } from './helpers/process-serve.ts'
import { freePort } from './helpers/servers.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

const SLOW_MS = 1_500
const SLOW_BODY = JSON.stringify({ items: Array.from({ length: 2_000 }, (_, i) => ({ id: i, title: `piece ${i}` })) })

interface Teardown { teardown (fn: () => unknown): void }

interface Answer { status: number, headers: IncomingHttpHeaders, body: string }

/** One request on its own connection; rejects with the socket error if the connection is refused or cut. */
function get (url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => { body += s })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Resolves on the first call of the returned `signal`. */
function latch (): { promise: Promise<void>, signal: () => void } {
  let signal!: () => void
  const promise = new Promise<void>((resolve) => { signal = resolve })
  return { promise, signal }
}

async function startServe (t: Teardown, legacy: string, newUrl: string, drainTimeoutMs: number) {
  const dir = tempDir(t)
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const file = writeServeConfig(dir, { proxyPort, adminPort, legacy, new: newUrl, drainTimeoutMs })
  const serve = spawnServe(t, ['--config', file])
  const proxyUrl = `http://127.0.0.1:${proxyPort}`
  const adminUrl = `http://127.0.0.1:${adminPort}`
  await waitReady(serve, adminUrl)
  return { serve, proxyUrl, adminUrl }
}

t.test('SIGTERM drains an in-flight request, refuses new connections and exits 0', async (t) => {
  const arrived = latch()
  const legacy = await startUpstream(t, (req, res) => {
    if (req.url !== '/items/slow') return namedJson('legacy')(req, res)
    arrived.signal()
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SLOW_BODY) })
      res.end(SLOW_BODY)
    }, SLOW_MS)
  })
  const next = await startUpstream(t, namedJson('new'))
  const { serve, proxyUrl, adminUrl } = await startServe(t, legacy.url, next.url, 5_000)

  const warm = await get(`${proxyUrl}/items/1`)
  t.equal(warm.status, 200, 'the gateway serves before the signal')
  t.equal(warm.headers['x-switchyard-backend'], 'legacy')

  const slow = get(`${proxyUrl}/items/slow`)
  slow.catch(() => {})
  await arrived.promise
  const signalled = performance.now()
  t.ok(serve.child.kill('SIGTERM'), 'SIGTERM sent')

  // Right after the signal the admin port is still up (it closes after the drain): /readyz must say 503.
  let ready: { status: number, body: string } | { error: string } | null = null
  while (performance.now() - signalled < 1_000) {
    try {
      const res = await fetch(`${adminUrl}/readyz`)
      const body = await res.text()
      if (res.status !== 200) { ready = { status: res.status, body }; break }
    } catch (err) {
      ready = { error: String((err as { cause?: { code?: string } }).cause?.code ?? err) }
      break
    }
  }
  t.ok(ready !== null && 'status' in ready && ready.status === 503, `/readyz turns 503 while draining (${JSON.stringify(ready)})`)
  if (ready !== null && 'body' in ready) t.match(JSON.parse(ready.body), { status: 'not_ready', reasons: ['shutting down'] })

  // A new connection after the signal is refused, or told to go away.
  try {
    const late = await get(`${proxyUrl}/items/2`, { connection: 'keep-alive' })
    t.equal(late.headers.connection, 'close', `a request on a new connection is answered with connection: close (status ${late.status})`)
  } catch (err) {
    t.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED', 'a new connection is refused')
  }

  const answer = await slow
  t.equal(answer.status, 200, 'the in-flight request completes')
  t.equal(answer.body, SLOW_BODY, 'with its full body')
  t.equal(answer.headers['x-switchyard-backend'], 'legacy')

  const exit = await serve.exited
  t.equal(exit.code, 0, `exit code 0 (stderr: ${serve.stderr()})`)
  t.equal(exit.signal, null)
  const took = exit.at - signalled
  t.ok(took >= SLOW_MS - 200, `it waited for the in-flight request (${Math.round(took)} ms)`)
  t.ok(took < 5_000, `it exited within the drain bound (${Math.round(took)} ms)`)
})

t.test('a request that outlives drain_timeout_ms is cut and the process still exits 0', async (t) => {
  const arrived = latch()
  const legacy = await startUpstream(t, (req, res) => {
    if (req.url !== '/items/never') return namedJson('legacy')(req, res)
    arrived.signal()
    // Never answers; the upstream helper's teardown closes the connection.
  })
  const next = await startUpstream(t, namedJson('new'))
  const drainMs = 500
  const { serve, proxyUrl } = await startServe(t, legacy.url, next.url, drainMs)

  let cutAt = 0
  const hanging = get(`${proxyUrl}/items/never`).then(
    (a) => ({ answer: a, error: null }),
    (err: NodeJS.ErrnoException) => { cutAt = performance.now(); return { answer: null, error: err } }
  )
  await arrived.promise
  const signalled = performance.now()
  serve.child.kill('SIGTERM')

  const exit = await serve.exited
  const took = exit.at - signalled
  t.equal(exit.code, 0, `exit code 0 (stderr: ${serve.stderr()})`)
  t.ok(took >= drainMs - 50, `it waited for the drain bound first (${Math.round(took)} ms)`)
  t.ok(took < drainMs + 2_000, `it exited soon after the drain bound (${Math.round(took)} ms)`)
  t.match(serve.stdout(), /"level":40.*drain timeout reached/, 'the cut is logged as a warning')

  const outcome = await hanging
  t.equal(outcome.answer, null, `the client gets no answer (${JSON.stringify(outcome.answer?.status)})`)
  t.ok(outcome.error !== null && ['ECONNRESET', 'EPIPE'].includes(outcome.error.code ?? ''),
    `the client sees the connection cut (${outcome.error?.code ?? 'none'}: ${outcome.error?.message ?? ''})`)
  t.ok(cutAt - signalled < drainMs + 2_000, `the cut came with the drain bound, not a hang (${Math.round(cutAt - signalled)} ms)`)
})

t.test('a bad config stops serve with a message naming the key', async (t) => {
  const dir = tempDir(t)
  const file = writeServeConfig(dir, {
    proxyPort: 0,
    adminPort: 0,
    legacy: 'http://127.0.0.1:1',
    new: 'http://127.0.0.1:2',
    drainTimeoutMs: 1_000,
    override: { listen: { host: '127.0.0.1', port: 'abc' } }
  })
  const serve = spawnServe(t, ['--config', file])
  const exit = await serve.exited
  t.not(exit.code, 0, 'a non-zero exit code')
  t.equal(exit.signal, null, 'it exits on its own')
  t.match(serve.stderr(), /listen\.port/, 'stderr names listen.port')
  t.match(serve.stderr(), /"abc"/, 'and the bad value')
  t.equal(serve.stdout(), '', 'nothing on stdout: it never ran')
})
