// Load from inside the test's process: a keep-alive client pool to the gateway, a fixed number of requests
// with a bounded number in flight, and a tally of the connections a server holds open.
import type { Server } from 'node:net'
import { Pool } from 'undici'

interface Teardown { teardown (fn: () => unknown): void }

/** A keep-alive pool to `url`, closed by the test's teardown. */
export function clientPool (t: Teardown, url: string, connections: number): Pool {
  const pool = new Pool(url, { connections, pipelining: 1 })
  t.teardown(() => pool.close())
  return pool
}

export interface LoadResult {
  readonly requests: number
  readonly failures: number
  /** The first few failures, described, so that a failing run says what went wrong. */
  readonly examples: string[]
  readonly ms: number
}

/**
 * Runs `one(i)` for i in [0, n) with at most `inFlight` at a time. A rejection counts as a failure and the
 * run goes on, so that one bad answer among thousands is reported instead of hiding the rest.
 */
export async function runLoad (n: number, inFlight: number, one: (i: number) => Promise<void>): Promise<LoadResult> {
  const started = performance.now()
  let next = 0
  let failures = 0
  const examples: string[] = []
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++
      try {
        await one(i)
      } catch (err) {
        failures++
        if (examples.length < 5) examples.push(`request ${i}: ${(err as Error).message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker))
  return { requests: n, failures, examples, ms: performance.now() - started }
}

export interface ConnectionTally {
  /** Connections open now, as the server sees them. */
  readonly open: number
  /** The most open at once since the last resetPeak(). */
  readonly peak: number
  /** Connections accepted since the start. */
  readonly accepted: number
  resetPeak (): void
}

/** Counts a server's connections from its own 'connection' and each socket's 'close' events. */
export function tallyConnections (server: Server): ConnectionTally {
  let open = 0
  let peak = 0
  let accepted = 0
  server.on('connection', (socket) => {
    open++
    accepted++
    peak = Math.max(peak, open)
    socket.once('close', () => { open-- })
  })
  return {
    get open () { return open },
    get peak () { return peak },
    get accepted () { return accepted },
    resetPeak () { peak = open }
  }
}
