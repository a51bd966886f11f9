// A `ws` client for tests: it keeps the 101 response (its headers say which backend the gateway chose),
// queues incoming messages so a test can await them in order, and is terminated by the test's teardown.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { WebSocket } from 'ws'

interface Teardown { teardown (fn: () => unknown): void }

export interface WsClose { code: number, reason: string }

export interface WsClient {
  readonly ws: WebSocket
  /** The handshake response (101 Switching Protocols). */
  readonly response: IncomingMessage
  /** Sends `text` and resolves with the next message received. */
  echo (text: string, timeoutMs?: number): Promise<string>
  readonly closed: Promise<WsClose>
  close (): Promise<WsClose>
}

const DEFAULT_TIMEOUT_MS = 5_000

export function wsUrl (httpUrl: string, path: string): string {
  return httpUrl.replace(/^http/, 'ws') + path
}

export async function openWs (t: Teardown, url: string, headers: OutgoingHttpHeaders = {}): Promise<WsClient> {
  const ws = new WebSocket(url, { headers })
  t.teardown(() => ws.terminate())
  const queue: string[] = []
  const waiters: Array<(msg: string) => void> = []
  ws.on('message', (data) => {
    const msg = String(data)
    const next = waiters.shift()
    if (next !== undefined) next(msg)
    else queue.push(msg)
  })
  const closed = new Promise<WsClose>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: String(reason) }))
  })
  // A socket error after the handshake shows up as the close code; without a listener it would throw.
  ws.on('error', () => {})
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    let upgrade: IncomingMessage | null = null
    ws.once('upgrade', (res) => { upgrade = res })
    ws.once('open', () => resolve(upgrade!))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`the handshake was answered ${res.statusCode ?? '?'} ${res.headers['x-switchyard-backend'] ?? ''}`))
      ws.terminate()
    })
  })

  function next (timeoutMs: number): Promise<string> {
    const queued = queue.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1)
        reject(new Error(`no message within ${timeoutMs} ms on ${url}`))
      }, timeoutMs)
      const waiter = (msg: string): void => { clearTimeout(timer); resolve(msg) }
      waiters.push(waiter)
      closed.then((c) => { clearTimeout(timer); reject(new Error(`closed (${c.code}) before a message arrived on ${url}`)) }, () => {})
    })
  }

  return {
    ws,
    response,
    echo (text, timeoutMs = DEFAULT_TIMEOUT_MS) {
      const reply = next(timeoutMs)
      ws.send(text)
      return reply
    },
    closed,
    close () {
      ws.close(1000)
      return closed
    }
  }
}

export interface WsOutcome {
  /** The handshake completed (101). */
  opened: boolean
  /** The status of a non-101 answer to the handshake, if any. */
  status: number | null
  error: Error | null
  close: WsClose | null
  /** Messages received before the end. */
  messages: string[]
}

/**
 * Opens a WebSocket, sends `text` once open, and reports how the connection ended, without throwing:
 * for a connection that is expected to fail. Rejects only if it neither ends nor fails within the bound.
 */
export function wsOutcome (t: Teardown, url: string, headers: OutgoingHttpHeaders, text: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<WsOutcome> {
  const ws = new WebSocket(url, { headers })
  t.teardown(() => ws.terminate())
  const outcome: WsOutcome = { opened: false, status: null, error: null, close: null, messages: [] }
  return new Promise<WsOutcome>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the WebSocket to ${url} neither failed nor closed within ${timeoutMs} ms: ${JSON.stringify(outcome)}`)), timeoutMs)
    ws.on('open', () => { outcome.opened = true; ws.send(text) })
    ws.on('message', (data) => outcome.messages.push(String(data)))
    ws.on('error', (err) => { outcome.error = err })
    ws.on('unexpected-response', (_req, res) => {
      outcome.status = res.statusCode ?? null
      res.resume()
      ws.terminate()
    })
    ws.on('close', (code, reason) => {
      outcome.close = { code, reason: String(reason) }
      clearTimeout(timer)
      resolve(outcome)
    })
  })
}
