// A small stand-in for a backend, so that `npm start` shows traffic being split before the real services
// exist: a catalogue of items, a visual search, and a WebSocket echo per session. Both backends give the
// same answers in the same shapes, as the real pair must.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'

export interface ExampleBackend {
  readonly name: string
  readonly url: string
  close (): Promise<void>
}

const ITEMS = Array.from({ length: 50 }, (_, i) => ({
  id: i + 1,
  title: `Vintage piece #${i + 1}`,
  category: ['tops', 'bottoms', 'outerwear', 'shoes', 'accessories'][i % 5],
  price: 10 + ((i * 37) % 190),
  currency: 'AUD'
}))

export async function startExampleBackend (name: string, opts: { host?: string, port?: number } = {}): Promise<ExampleBackend> {
  const server = createServer((req, res) => { handle(name, req, res) })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const m = /^\/ws\/([^/?]+)/.exec(req.url ?? '')
    if (m === null) { socket.destroy(); return }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ hello: m[1], backend: name }))
      ws.on('message', (data, binary) => ws.send(data, { binary }))
    })
  })
  await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 0)
  const { port } = server.address() as AddressInfo
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate()
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}

function handle (name: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://backend')
  const json = (status: number, body: unknown): void => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-served-by': name })
    res.end(text)
  }
  if (req.method === 'GET' && url.pathname === '/items') {
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 10) || 10, 50)
    json(200, { items: ITEMS.slice(0, limit), total: ITEMS.length })
    return
  }
  const item = /^\/items\/(\d+)$/.exec(url.pathname)
  if (req.method === 'GET' && item !== null) {
    const found = ITEMS[Number(item[1]) - 1]
    if (found === undefined) json(404, { error: 'item not found' })
    else json(200, found)
    return
  }
  if (req.method === 'POST' && url.pathname === '/search_by_image') {
    req.resume()
    req.on('end', () => json(200, { results: ITEMS.slice(0, 3).map((it, i) => ({ id: it.id, score: 0.9 - i * 0.1 })) }))
    return
  }
  json(404, { error: `no such endpoint: ${req.method} ${url.pathname}` })
}

function listen (server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
}
