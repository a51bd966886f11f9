// Real HTTP upstreams on port 0, closed by the test's own teardown.
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestUpstream {
  readonly url: string
  readonly port: number
  readonly server: Server
  /** Every request seen: method, url and headers. */
  readonly seen: Array<{ method: string, url: string, headers: IncomingMessage['headers'] }>
}

interface Teardown { teardown (fn: () => unknown): void }

export async function startUpstream (t: Teardown, handler: RequestListener): Promise<TestUpstream> {
  const seen: TestUpstream['seen'] = []
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${port}`, port, server, seen }
}

/** An upstream that answers JSON naming itself, so a test can tell which backend served. */
export function namedJson (name: string, status = 200): RequestListener {
  return (req, res) => {
    req.resume()
    req.on('end', () => {
      const body = JSON.stringify({ backend: name, method: req.method, url: req.url })
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  }
}
