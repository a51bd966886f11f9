// A WebSocket echo at /ws/{session}, added to the example's services so that the example shows WebSocket
// routing through the gateway. It is the example's, not part of either API.
import type { Server } from 'node:http'
import { WebSocketServer } from 'ws'

/** Returns a function that ends the open sessions (upgraded sockets would otherwise hold the server open). */
export function attachSessionEcho (server: Server, backend: string): () => void {
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req, socket, head) => {
    const m = /^\/ws\/([^/?]+)/.exec(req.url ?? '')
    if (m === null) {
      socket.destroy()
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ hello: m[1], backend }))
      ws.on('message', (data, binary) => ws.send(data, { binary }))
    })
  })
  return () => {
    for (const c of wss.clients) c.terminate()
    wss.close()
  }
}
