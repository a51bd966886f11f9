// Several replicas of the gateway, one Redis (REDIS_URL). What they share:
// - route states (running, paused, rolled_back, promoted) and, with the embedded flag file, percentages:
//   written to Redis first and published, so every replica applies a change within a second; each replica
//   also keeps them in its state directory, so a restart during a Redis outage still routes as before;
// - the rules' windows: every replica's counters, summed (SharedWindows);
// - the evaluator: one replica at a time holds the lease and evaluates the rules and step plans.
// When Redis is away every replica keeps routing on the state it last knew (fail static), says so in its
// logs and in switchyard_dependency_up{dependency="redis"}, refuses changes that need agreement (503), and
// still rolls back on its own windows: a rollback is always safe, and reaches the others when Redis returns.
// On its return each replica resynchronises: it pushes what it holds where newer, then adopts the rest.
import type { FastifyBaseLogger } from 'fastify'
import type { GatewayConfig } from '../config/load.ts'
import { errors } from '../errors.ts'
import type { FlagSource } from '../flags/flag-source.ts'
import type { GatewayMetrics } from '../metrics/metrics.ts'
import type { FlagState, FlagStates } from '../state/flag-states.ts'
import type { AuditLog } from '../state/audit-log.ts'
import { Lease } from './lease.ts'
import { SharedAudit } from './shared-audit.ts'
import { RedisLink } from './redis-link.ts'
import { SharedMap, type ChangeMessage } from './shared-map.ts'
import { SharedPercents } from './shared-percents.ts'
import { SharedWindows } from './shared-windows.ts'

export interface ClusterOptions {
  url: string
  config: GatewayConfig['cluster']
  states: FlagStates
  audit: AuditLog
  routes: readonly string[]
  /** The longest window the rules read, in seconds. */
  seconds: number
  metrics: GatewayMetrics
  log: FastifyBaseLogger
  now?: () => number
}

export interface ClusterStatus {
  replica: string
  redis: { url: string, up: boolean, last_error: string | null }
  /** The replica that evaluates the rules, as last seen; this one's id when it is this one. */
  leader: string | null
  this_replica_leads: boolean
  /** Whether the rules read every replica's counters (false: only this replica's, while Redis is away). */
  shared_windows: boolean
  /** Changes made here while Redis was away, not yet shared. */
  pending_changes: number
  /** Audit events written here while Redis was away, not yet in the shared trail. */
  pending_events: number
  last_resync: string | null
}

export class Cluster {
  readonly link: RedisLink
  readonly windows: SharedWindows
  readonly lease: Lease
  readonly audit: SharedAudit
  readonly #o: ClusterOptions
  readonly #states: SharedMap<FlagState>
  #percents: SharedPercents | null = null
  #timers: NodeJS.Timeout[] = []
  #resyncing: Promise<void> | null = null
  #lastResync: Date | null = null

  constructor (opts: ClusterOptions) {
    this.#o = opts
    this.link = new RedisLink({
      url: opts.url,
      prefix: opts.config.key_prefix,
      timeoutMs: opts.config.timeout_ms,
      log: opts.log,
      onError: () => opts.metrics.dependencyError('redis')
    })
    this.windows = new SharedWindows({ link: this.link, routes: opts.routes, seconds: opts.seconds, now: opts.now })
    this.lease = new Lease(this.link, { ms: opts.config.lease_ms, log: opts.log })
    this.audit = new SharedAudit(this.link)
    opts.audit.onAppend = (event) => { this.audit.add(event) }
    this.#states = new SharedMap<FlagState>({
      link: this.link,
      name: 'states',
      local: () => opts.states.stamped(),
      localOf: (flag) => opts.states.stampedOf(flag),
      adopt: (flag, entry) => opts.states.adopt(flag, entry)
    })
    opts.states.shareWith(async (flag, value) => {
      try {
        // A rollback must hold even without Redis; anything else needs every replica to agree.
        return await this.#states.write(flag, value, { safe: value.state === 'rolled_back' })
      } catch (err) {
        throw Object.assign(errors.SHARED_STATE_UNAVAILABLE((err as Error).message), { cause: err })
      }
    })
    this.link.on('up', () => { this.resync().catch(() => {}) })
    this.link.on('message', (text) => { this.#receive(text).catch(() => {}) })
  }

  /** With the embedded flag file, the percentages are shared too: route through the returned source. */
  shareFlags (flags: FlagSource): FlagSource {
    if (flags.kind !== 'embedded') return flags
    this.#percents = new SharedPercents(flags, this.link)
    return this.#percents
  }

  /** The rule evaluator's leadership: the lease holder, or every replica on its own while Redis is away. */
  readonly leader = {
    holds: (): boolean => !this.link.up || this.lease.held,
    before: async (): Promise<void> => { await this.windows.refresh() }
  }

  async start (): Promise<void> {
    await this.link.start()
    if (this.link.up) await this.resync()
    this.lease.start()
    const every = (ms: number, fn: () => Promise<void>): void => {
      const t = setInterval(() => { fn().catch(() => {}) }, ms)
      t.unref()
      this.#timers.push(t)
    }
    every(this.#o.config.flush_interval_ms, async () => {
      if (this.link.up) await this.windows.flush()
      else this.windows.prune()
    })
    every(this.#o.config.resync_interval_ms, async () => { if (this.link.up) await this.resync() })
  }

  /** Pushes this replica's states and percentages where newer, then adopts Redis's where newer. */
  resync (): Promise<void> {
    this.#resyncing ??= (async () => {
      try {
        const states = await this.#states.resync()
        const percents = await this.#percents?.map.resync() ?? { pushed: 0, adopted: 0 }
        await this.audit.flush()
        this.#lastResync = new Date()
        if (states.adopted + percents.adopted > 0) {
          this.#o.log.info({ states, percents }, 'resynchronised with Redis: adopted changes made elsewhere')
        }
      } catch (err) {
        this.#o.log.warn({ err }, 'resynchronising with Redis failed; retrying')
      }
    })().finally(() => { this.#resyncing = null })
    return this.#resyncing
  }

  /**
   * Before a change to a flag: adopts its state and percentage from Redis if they are newer, so that a
   * change made through another replica a moment ago is seen even if its message has not arrived yet.
   * Without Redis it does nothing: the change is then judged on what this replica knows.
   */
  async refresh (flag: string): Promise<void> {
    if (!this.link.up) return
    try {
      await this.#states.refresh(flag)
      await this.#percents?.map.refresh(flag)
    } catch {
      // Redis went away meanwhile: judged on what this replica knows.
    }
  }

  status (): ClusterStatus {
    return {
      replica: this.link.replica,
      redis: { url: this.link.where, up: this.link.up, last_error: this.link.up ? null : this.link.lastError },
      leader: this.link.up ? this.lease.holder : null,
      this_replica_leads: this.leader.holds(),
      shared_windows: this.windows.shared,
      pending_changes: this.#states.pending + (this.#percents?.map.pending ?? 0),
      pending_events: this.audit.pending,
      last_resync: this.#lastResync?.toISOString() ?? null
    }
  }

  /** Hands the lease over, flushes the last counters, and disconnects. */
  async close (): Promise<void> {
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    await this.lease.stop()
    if (this.link.up) {
      await this.windows.flush().catch(() => {})
      await this.audit.flush().catch(() => {})
    }
    await this.link.close()
  }

  async #receive (text: string): Promise<void> {
    let message: ChangeMessage
    try {
      message = JSON.parse(text) as ChangeMessage
    } catch {
      return
    }
    if (message.from === this.link.replica) return
    try {
      await this.#states.receive(message)
      await this.#percents?.map.receive(message)
    } catch (err) {
      this.#o.log.warn({ err, change: message }, 'could not apply a change from another replica; the next resync retries')
    }
  }
}
