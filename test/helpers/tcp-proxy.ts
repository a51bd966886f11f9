// A TCP proxy on 127.0.0.1 in front of a server, to take that server off the network and bring it back:
// cut() destroys every connection and closes the listener, so that new connections are refused, as when a
// database host goes away; restore() listens again on the same port. Closed by the test's teardown.
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

interface Teardown { teardown (fn: () => unknown): void }

export interface TcpProxy {
  readonly port: number
  /** Connections open through the proxy now. */
  readonly connections: number
  cut (): Promise<void>
  restore (): Promise<void>
}

export async function tcpProxy (t: Teardown, target: { host: string, port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(a)
      a.on('error', () => b.destroy())
      a.on('close', () => { sockets.delete(a); b.destroy() })
      a.pipe(b)
    }
  })
  let listening = false
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      listening = true
      resolve()
    })
  })
  const cut = async (): Promise<void> => {
    if (!listening) return
    listening = false
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    for (const s of sockets) s.destroy()
    await closed
  }
  await listen(0)
  const port = (server.address() as AddressInfo).port
  t.teardown(cut)
  return {
    port,
    get connections () { return Math.floor(sockets.size / 2) },
    cut,
    restore: () => listen(port)
  }
}
