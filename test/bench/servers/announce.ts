// The handshake every benchmark child follows: once it is listening, one line on stdout made of READY_MARKER
// and JSON (a marker, because a logger may write JSON lines to stdout as well), then it runs until SIGTERM or
// SIGINT, closes what it opened and exits 0.
import type { AddressInfo, Server } from 'node:net'

export const READY_MARKER = 'BENCH_READY '

export function announce (info: Record<string, unknown>, stop: () => Promise<void>): void {
  process.stdout.write(`${READY_MARKER}${JSON.stringify({ pid: process.pid, ...info })}\n`)
  let stopping = false
  const onSignal = () => {
    if (stopping) return
    stopping = true
    stop().then(() => process.exit(0), (err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}

export function urlOf (server: Server): string {
  const { port } = server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

export function listen (server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(urlOf(server)))
  })
}

export function close (server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

/** The upstream URL a proxy child forwards to: its first argument. */
export function upstreamArg (): string {
  const url = process.argv[2]
  if (url === undefined || !/^http:\/\//.test(url)) {
    console.error('usage: <child> http://127.0.0.1:<port>')
    process.exit(2)
  }
  return url
}
