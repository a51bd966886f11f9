// The replicas' connection to Redis: one connection for commands and one for pub/sub, both reconnecting on
// their own. Commands fail at once while Redis is away (no offline queue) and time out after timeout_ms, so
// that no request, admin call or evaluation ever waits on Redis: the gateway goes on with the state it
// last knew (fail static) and says so in its logs and in switchyard_dependency_up{dependency="redis"}.
// `up` and `down` are told on each transition; a replica resynchronises on `up`.
import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export interface RedisLinkOptions {
  url: string
  prefix: string
  timeoutMs: number
  log: { info: (o: object, msg: string) => void, warn: (o: object, msg: string) => void }
  /** Counts each failed command or lost connection. */
  onError?: () => void
}

export class RedisLink extends EventEmitter<{ up: [], down: [why: string], message: [message: string] }> {
  /** Who this replica is, in keys and messages: host, process and a random part. */
  readonly replica = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  readonly client: Redis
  readonly subscriber: Redis
  readonly channel: string
  readonly #o: RedisLinkOptions
  #up = false
  #closing = false
  #lastError = 'not connected yet'

  constructor (opts: RedisLinkOptions) {
    super()
    this.#o = opts
    this.channel = this.key('changes')
    const common = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: Math.max(opts.timeoutMs, 500),
      commandTimeout: opts.timeoutMs,
      // Reconnect forever, at most a second apart: Redis coming back is noticed within a second.
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1_000)
    }
    this.client = new Redis(opts.url, { ...common, connectionName: `switchyard:${this.replica}` })
    this.subscriber = new Redis(opts.url, { ...common, connectionName: `switchyard-sub:${this.replica}`, autoResubscribe: true, commandTimeout: undefined })
    this.client.on('ready', () => this.#transition(true, ''))
    this.client.on('close', () => this.#transition(false, this.#lastError))
    this.client.on('error', (err: Error) => { this.#lastError = err.message })
    this.subscriber.on('error', (err: Error) => { this.#lastError = err.message })
    // A subscriber that reconnects may have missed messages: resynchronise as when the client comes back.
    // Its first connection is part of start(), whose caller resynchronises once.
    let subscribed = false
    this.subscriber.on('ready', () => {
      if (subscribed && this.#up) this.emit('up')
      subscribed = true
    })
    this.subscriber.on('message', (channel: string, message: string) => { if (channel === this.channel) this.emit('message', message) })
  }

  get up (): boolean { return this.#up }
  get lastError (): string { return this.#lastError }
  /** The URL without its password, for logs and status. */
  get where (): string {
    try {
      const u = new URL(this.#o.url)
      if (u.password !== '') u.password = '***'
      return u.toString()
    } catch {
      return 'redis'
    }
  }

  key (...parts: string[]): string {
    return [this.#o.prefix, ...parts].join(':')
  }

  /** Connects both; resolves even when Redis is down (the gateway starts on its local state and keeps trying). */
  async start (): Promise<void> {
    await Promise.all([
      this.client.connect().catch(() => {}),
      this.subscriber.connect().then(() => this.subscriber.subscribe(this.channel)).catch(() => {})
    ])
    if (!this.#up) this.#o.log.warn({ redis: this.where, err: this.#lastError }, 'Redis cannot be reached: starting on this replica\'s own state, and retrying')
  }

  /** Runs a command; a failure marks Redis down until the connection is ready again, and is rethrown. */
  async run<T> (fn: (r: Redis) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client)
    } catch (err) {
      this.#o.onError?.()
      this.#lastError = (err as Error).message
      // A timed-out command on a live connection: treat Redis as away until a reconnect proves otherwise.
      // An error Redis answered (a ReplyError) says nothing about the connection.
      if ((err as Error).name !== 'ReplyError' && this.#up && this.client.status === 'ready') this.client.disconnect(true)
      throw err
    }
  }

  async close (): Promise<void> {
    this.#closing = true
    await Promise.all([
      this.client.quit().catch(() => this.client.disconnect()),
      this.subscriber.quit().catch(() => this.subscriber.disconnect())
    ])
  }

  #transition (up: boolean, why: string): void {
    if (up === this.#up || this.#closing) return
    this.#up = up
    if (up) {
      this.#o.log.info({ redis: this.where }, 'Redis reachable: resynchronising this replica')
      this.emit('up')
    } else {
      this.#o.onError?.()
      this.#o.log.warn({ redis: this.where, err: why }, 'Redis unreachable: routing on the last known state; a rollback applies here and reaches the other replicas when Redis is back')
      this.emit('down', why)
    }
  }
}
