// Bodies stream through the gateway: a 50 MB upload (with a declared length, then chunked) and a 50 MB
// download arrive byte for byte (sha256 on both ends), the gateway's resident memory stays well below the
// size of a body, and a slow reader on either side slows the writer down instead of making the gateway
// buffer. The gateway runs in a child process so that /proc shows its memory alone.
import { createCipheriv, createHash } from 'node:crypto'
import { once } from 'node:events'
import { request, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'
import { connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { drainOrClose } from './fixtures/raw-http.ts'
import { memoryOf, spawnGateway } from './fixtures/spawn-gateway.ts'
import { startGateway } from './helpers/gateway.ts'
import { startUpstream } from './helpers/upstream.ts'

const MB = 1024 * 1024
const SIZE = 50 * MB
const CHUNK = 64 * 1024
const MAX_GROWTH = 64 * MB
// The reader stops for PAUSE_MS after every PAUSE_EVERY bytes: long enough for every socket buffer between
// it and the writer to fill, so the writer must wait.
const PAUSE_EVERY = 5 * MB
const PAUSE_MS = 250
// Loopback socket buffers (tcp_rmem autotuning) hold a few MB to a few tens of MB; a gateway that buffered
// the body would let the writer finish during the first pause, about 45 MB ahead of the reader.
const MAX_LEAD = 35 * MB

/** A deterministic, incompressible byte stream: the AES-256-CTR keystream of a seed, CHUNK bytes at a time. */
function * payload (seed: string, size: number): Generator<Buffer> {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16))
  const zeros = Buffer.alloc(CHUNK)
  for (let done = 0; done < size; done += CHUNK) {
    yield cipher.update(zeros.subarray(0, Math.min(CHUNK, size - done)))
  }
}

/** One 50 MB transfer as both ends see it. */
class Flow {
  bytesWritten = 0
  bytesRead = 0
  /** The sha256 of what the writer wrote, once it is done. */
  writtenDigest = ''
  /** The most the writer was ahead of the reader, sampled at the end of each of the reader's pauses. */
  largestLead = 0
  /** The longest single wait of the writer for 'drain'. */
  longestStallMs = 0
  stalls = 0

  /** Writes the payload with backpressure and returns its sha256. */
  async write (to: { write (chunk: Buffer): boolean } & NodeJS.EventEmitter, seed: string): Promise<string> {
    const hash = createHash('sha256')
    for (const chunk of payload(seed, SIZE)) {
      hash.update(chunk)
      this.bytesWritten += chunk.length
      if (!to.write(chunk)) {
        const since = performance.now()
        await once(to, 'drain')
        this.stalls++
        this.longestStallMs = Math.max(this.longestStallMs, performance.now() - since)
      }
    }
    this.writtenDigest = hash.digest('hex')
    return this.writtenDigest
  }

  /** Reads a body, pausing PAUSE_MS every PAUSE_EVERY bytes, and returns its sha256. */
  async read (from: AsyncIterable<unknown>): Promise<string> {
    const hash = createHash('sha256')
    let nextPause = PAUSE_EVERY
    for await (const chunk of from) {
      hash.update(chunk as Buffer)
      this.bytesRead += (chunk as Buffer).length
      if (this.bytesRead >= nextPause && this.bytesRead < SIZE) {
        nextPause += PAUSE_EVERY
        await sleep(PAUSE_MS)
        this.largestLead = Math.max(this.largestLead, this.bytesWritten - this.bytesRead)
      }
    }
    return hash.digest('hex')
  }

  describe (): string {
    return `the writer waited for drain ${this.stalls} times, longest ${this.longestStallMs.toFixed(0)} ms; ` +
      `it was at most ${(this.largestLead / MB).toFixed(1)} MB ahead of the reader`
  }
}

async function readText (res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8')
  let body = ''
  for await (const s of res) body += s as string
  return body
}

function sendJson (res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

t.test('50 MB each way streams through with bounded gateway memory and end-to-end backpressure', async (t) => {
  let flow = new Flow()
  const upstream = await startUpstream(t, (req, res) => {
    if (req.url === '/items/warm-up') {
      if (req.method === 'POST') {
        let bytes = 0
        req.on('data', (chunk: Buffer) => { bytes += chunk.length })
        req.on('end', () => sendJson(res, { bytes }))
      } else {
        res.end(Buffer.alloc(MB, 2))
      }
      return
    }
    if (req.method === 'POST') {
      // Consumes the upload as a stream: hashed as it comes, nothing kept, read at a slow reader's pace.
      flow.read(req).then((sha256) => sendJson(res, { bytes: flow.bytesRead, sha256, framing: req.headers['transfer-encoding'] ?? 'content-length' }),
        (err: unknown) => res.destroy(err as Error))
      return
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE })
    flow.write(res, 'download').then(() => res.end(), (err: unknown) => res.destroy(err as Error))
  })
  const gw = await spawnGateway(t, { config: { backends: { legacy: { url: upstream.url }, new: { url: upstream.url } } } })

  // Warm up both directions, so that what follows measures the transfers and not code loading.
  const warm = await fetch(`${gw.proxyUrl}/items/warm-up`)
  t.equal(warm.status, 200, 'warm-up download answered')
  t.equal((await warm.arrayBuffer()).byteLength, MB)
  const warmUp = await fetch(`${gw.proxyUrl}/items/warm-up`, { method: 'POST', body: Buffer.alloc(MB, 1) })
  t.equal(warmUp.status, 200, 'warm-up upload answered')
  t.same(await warmUp.json(), { bytes: MB })
  const baseline = memoryOf(gw.pid)
  t.comment(`gateway after warm-up: VmRSS ${(baseline.rss / MB).toFixed(1)} MB, VmHWM ${(baseline.hwm / MB).toFixed(1)} MB`)

  const uploads: Array<[string, OutgoingHttpHeaders]> = [
    ['content-length', { 'content-length': SIZE }],
    ['chunked', { 'transfer-encoding': 'chunked' }]
  ]
  for (const [framing, headers] of uploads) {
    flow = new Flow()
    const started = performance.now()
    const req = request(`${gw.proxyUrl}/items/upload`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/octet-stream', ...headers }
    })
    const response = once(req, 'response') as Promise<[IncomingMessage]>
    const sent = await flow.write(req, 'upload')
    req.end()
    const [res] = await response
    const got = JSON.parse(await readText(res)) as { bytes: number, sha256: string, framing: string }
    t.equal(res.statusCode, 200, `${framing} upload answered`)
    t.equal(res.headers['x-switchyard-backend'], 'legacy', `${framing} upload carries x-switchyard-backend`)
    t.equal(flow.bytesWritten, SIZE)
    t.equal(got.bytes, SIZE, `${framing} upload: the upstream received every byte`)
    t.equal(got.sha256, sent, `${framing} upload: the sha256 the client sent is the one the upstream read`)
    t.equal(got.framing, framing, `${framing} upload kept its framing`)
    t.comment(`${framing} upload of 50 MB: ${(performance.now() - started).toFixed(0)} ms; ${flow.describe()}`)
    t.ok(flow.longestStallMs >= PAUSE_MS / 2, `${framing} upload: the slow upstream held the client back (${flow.longestStallMs.toFixed(0)} ms at once)`)
    t.ok(flow.largestLead < MAX_LEAD, `${framing} upload: the client never got far ahead of the upstream (${(flow.largestLead / MB).toFixed(1)} MB)`)
  }

  flow = new Flow()
  const started = performance.now()
  const req = request(`${gw.proxyUrl}/items/download`, { agent: false })
  req.end()
  const [res] = await once(req, 'response') as [IncomingMessage]
  t.equal(res.statusCode, 200, 'download answered')
  t.equal(res.headers['x-switchyard-backend'], 'legacy', 'download carries x-switchyard-backend')
  t.equal(res.headers['content-length'], String(SIZE), 'the declared length is passed on')
  const got = await flow.read(res)
  t.equal(flow.bytesRead, SIZE, 'the client received every byte of the download')
  t.equal(got, flow.writtenDigest, 'download: the sha256 the client read is the one the upstream wrote')
  t.comment(`download of 50 MB: ${(performance.now() - started).toFixed(0)} ms; ${flow.describe()}`)
  t.ok(flow.longestStallMs >= PAUSE_MS / 2, `download: the slow client held the upstream back (${flow.longestStallMs.toFixed(0)} ms at once)`)
  t.ok(flow.largestLead < MAX_LEAD, `download: the upstream never got far ahead of the client (${(flow.largestLead / MB).toFixed(1)} MB)`)

  const after = memoryOf(gw.pid)
  const growth = after.hwm - baseline.rss
  t.comment(`gateway after the transfers: VmRSS ${(after.rss / MB).toFixed(1)} MB, VmHWM ${(after.hwm / MB).toFixed(1)} MB; ` +
    `peak growth over the warm baseline ${(growth / MB).toFixed(1)} MB`)
  t.ok(growth < MAX_GROWTH, `the gateway's peak RSS grew by ${(growth / MB).toFixed(1)} MB (under ${MAX_GROWTH / MB} MB) while 150 MB went through`)

  const { code, signal } = await gw.stop()
  t.same({ code, signal }, { code: 0, signal: null }, 'the gateway child shut down cleanly on SIGTERM')
  t.match(gw.stderr(), /drained: true/, 'and drained')
})

t.test('an upstream that answers before reading the whole upload: the client gets the answer and is not left stuck', async (t) => {
  // Common in practice: 401, 403 or 413 sent as soon as the headers are seen. Node's server then discards
  // the rest of the body. The gateway must either pass the rest on, read and discard it, or close the
  // connection after the answer; it must not leave the client blocked on a socket nobody reads.
  const upstream = await startUpstream(t, (_req, res) => {
    const body = JSON.stringify({ error: 'too large' })
    res.writeHead(413, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  // A connection nobody reads also holds up a graceful shutdown until the drain timeout: keep that short.
  const g = await startGateway(t, { legacy: upstream.url, new: upstream.url, config: { shutdown: { drain_timeout_ms: 500 } } })
  const { hostname, port } = new URL(g.proxyUrl)
  const client = connect(Number(port), hostname)
  t.teardown(() => client.destroy())
  await once(client, 'connect')
  let answer = ''
  client.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1') })
  // A reset by the gateway is one of the acceptable outcomes: it shows up as the close that follows it.
  let socketError = 'none'
  client.on('error', (err) => { socketError = err.message })
  const closed = new Promise<string>((resolve) => client.once('close', () => resolve('the gateway closed the connection')))
  const sent = (async (): Promise<string> => {
    client.write(`POST /items/upload HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/octet-stream\r\nContent-Length: ${SIZE}\r\n\r\n`)
    let written = 0
    for (const chunk of payload('early', SIZE)) {
      if (client.destroyed) break
      written += chunk.length
      if (!client.write(chunk)) await drainOrClose(client)
    }
    return client.destroyed ? 'the gateway closed the connection' : `the client sent its whole body (${written} bytes)`
  })()
  // Bounded so that a stuck connection fails the test instead of hanging it: on loopback the rest of the
  // body goes through, or the close arrives, in well under a second.
  const outcome = await Promise.race([sent, closed, sleep(3_000, 'stuck', { ref: false })])
  t.comment(`early answer to a 50 MB upload: ${outcome}; client socket error: ${socketError}`)
  t.match(answer, /^HTTP\/1\.1 413 /, 'the client got the upstream\'s 413')
  t.match(answer, /x-switchyard-backend: legacy/i)
  t.match(answer, /\{"error":"too large"\}/)
  t.not(outcome, 'stuck', 'after the answer the connection is closed, or the rest of the body is read; the client is not left blocked')
})
