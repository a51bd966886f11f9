// One undici pool per backend. A test or an embedding program may inject its own Dispatcher; the
// gateway closes only the pools it created.
import { Pool, type Dispatcher } from 'undici'
import type { BackendConfig, BackendId } from '../config/schema.ts'

export class Upstream {
  readonly id: BackendId
  readonly dispatcher: Dispatcher
  readonly origin: string
  /** The base path of the backend URL, prepended to every forwarded path ('' for none). */
  readonly basePath: string
  /** The Host header sent upstream. */
  readonly host: string
  readonly responseTimeout: number
  readonly idleTimeout: number
  readonly #owned: boolean

  constructor (id: BackendId, config: BackendConfig, dispatcher?: Dispatcher) {
    const url = new URL(config.url)
    this.id = id
    this.origin = url.origin
    this.basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
    this.host = url.host
    this.responseTimeout = config.timeouts.response_ms
    this.idleTimeout = config.timeouts.idle_ms
    this.#owned = dispatcher === undefined
    this.dispatcher = dispatcher ?? new Pool(url.origin, {
      connections: config.connections,
      keepAliveTimeout: config.keep_alive_ms,
      connect: { timeout: config.timeouts.connect_ms },
      headersTimeout: config.timeouts.response_ms,
      bodyTimeout: config.timeouts.idle_ms,
      pipelining: 1
    })
  }

  /** The base URL for WebSocket upgrades: same origin and base path. */
  get baseUrl (): string {
    return this.origin + this.basePath
  }

  async close (): Promise<void> {
    if (this.#owned) await this.dispatcher.close()
  }
}
