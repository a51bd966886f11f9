// A real backend on port 0 that speaks both HTTP and WebSocket: plain requests get JSON naming the
// backend, and every WebSocket echoes each message prefixed with that name ("legacy:hello"). Each
// handshake is recorded, so a test can check the path and the headers the gateway sent upstream.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

interface Teardown { teardown (fn: () => unknown): void }

export interface WsHandshake {
  readonly url: string
  readonly headers: IncomingHttpHeaders
}

export interface WsUpstream {
  readonly name: string
  readonly url: string
  readonly port: number
  readonly server: Server
  /** Every WebSocket handshake seen, in order. */
  readonly handshakes: WsHandshake[]
  /** The WebSockets currently open on this backend. */
  readonly sockets: Set<WebSocket>
}

export async function startWsUpstream (t: Teardown, name: string): Promise<WsUpstream> {
  const handshakes: WsHandshake[] = []
  const sockets = new Set<WebSocket>()
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const body = JSON.stringify({ backend: name, method: req.method, url: req.url })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
  })
  const wss = new WebSocketServer({ noServer: true })
  const raw = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    raw.add(socket)
    socket.once('close', () => raw.delete(socket))
  })
  server.on('upgrade', (req, socket, head) => {
    handshakes.push({ url: req.url ?? '', headers: req.headers })
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws)
      ws.once('close', () => sockets.delete(ws))
      ws.on('message', (data) => ws.send(`${name}:${String(data)}`))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  t.teardown(() => new Promise<void>((resolve) => {
    // Upgraded sockets no longer belong to the HTTP server's bookkeeping: end them by hand, or close() waits.
    for (const ws of sockets) ws.terminate()
    for (const socket of raw) socket.destroy()
    wss.close()
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return { name, url: `http://127.0.0.1:${port}`, port, server, handshakes, sockets }
}
