// The upstream of the benchmark: plain node:http answering GET /items/:id with about 200 bytes of JSON, on
// as many ports as asked (argument 1, default 1), so that legacy and new can be two listeners of one process.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { announce, close, listen } from './announce.ts'

const KEEP_ALIVE_MS = 65_000

function item (id: number): string {
  return JSON.stringify({
    id,
    title: 'Vintage Levi\'s 501 jeans, straight leg',
    brand: 'Levi\'s',
    size: 'W32 L32',
    condition: 'good',
    price: { amount: 45, currency: 'GBP' },
    category: 'bottoms',
    seller: 'depop_user_1234',
    created_at: '2024-05-01T12:00:00Z'
  })
}

function handle (req: IncomingMessage, res: ServerResponse): void {
  const match = /^\/items\/(\d+)$/.exec(req.url ?? '')
  if (match === null || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
    return
  }
  const body = item(Number(match[1]))
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(req.method === 'HEAD' ? undefined : body)
}

const count = Number(process.argv[2] ?? '1')
const servers = Array.from({ length: count }, () => {
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS }, handle)
  server.headersTimeout = KEEP_ALIVE_MS + 1_000
  return server
})
const urls = await Promise.all(servers.map(listen))
announce({ urls, url: urls[0] }, async () => {
  await Promise.all(servers.map(close))
})
