// Flags from the Unleash server at UNLEASH_URL, polled at flags.refresh_interval_ms, with the last known
// flags backed up in the state directory so a restart during an Unleash outage still routes. With an admin
// token, percentages are written back through the Admin API (unleash-admin.ts).
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { Unleash } from 'unleash-client'
import type { ClientFeaturesResponse, FeatureInterface } from 'unleash-client/lib/feature.js'
import type * as PollingRepositoryModule from 'unleash-client/lib/repository/index.js'
import type { StorageProvider } from 'unleash-client/lib/repository/storage-provider.js'
import { errors } from '../errors.ts'
import { readJsonIfExists, writeJsonAtomic } from '../state/atomic-file.ts'
import { UnleashBacked, type Common, type PendingWrite } from './flag-source.ts'
import { DEFAULT_TIMEOUT_MS, UnleashAdmin, isDependencyFailure, isUnreachable } from './unleash-admin.ts'

// unleash-client's polling repository is CommonJS with a default export; required, it is the same class
// under tsx and under plain node.
const { default: PollingRepository } = createRequire(import.meta.url)('unleash-client/lib/repository/index.js') as typeof PollingRepositoryModule.default

export const DEFAULT_RETRY_MIN_MS = 500
export const DEFAULT_RETRY_MAX_MS = 15_000
const PENDING_FILE = 'unleash-pending-writes.json'
/** The longest wait between polls while the server refuses the client token. */
export const REFUSED_POLL_MAX_MS = 60_000

export interface ServerFlagsOptions extends Common {
  log: Common['log'] & { info?: (o: object, msg: string) => void }
  /** UNLEASH_API_TOKEN: a client (backend) token of the server, for polling. */
  apiToken: string
  /** UNLEASH_ADMIN_TOKEN: with it, percentages are written back through the Admin API; without, they are read-only. */
  adminToken?: string | null
  refreshIntervalMs: number
  /** The state directory: the backup of the server's last answer and the writes it has not taken yet. */
  backupPath: string
  /** Told of every failed call to the server, poll or write (switchyard_dependency_errors_total). */
  onError?: () => void
  /** The deadline of each call to the server, poll or write (DEFAULT_TIMEOUT_MS of unleash-admin.ts when left out). */
  timeoutMs?: number
  /** The wait between attempts of a pending write: doubling from minMs, at most maxMs. */
  retry?: { minMs?: number, maxMs?: number }
  now?: () => number
}

interface Pending { flag: string, percent: number, since: number, attempts: number, lastError: string, nextAt: number, timer: NodeJS.Timeout | null }

/** A percentage the gateway wrote, and the server's answer for the flag (JSON) when it was laid over it. */
interface Written { percent: number, enabled: boolean | null, base: string | null }

export class ServerFlags extends UnleashBacked {
  readonly kind = 'unleash' as const
  readonly location: string
  /** The last failed poll or write; null once one succeeds. */
  lastError: Error | null = null
  readonly #opts: ServerFlagsOptions
  readonly #now: () => number
  readonly #admin: UnleashAdmin | null
  readonly #pendingFile: string
  #repository!: LayeredRepository
  #storage!: AtomicFileStorage
  #healthy = false
  readonly #written = new Map<string, Written>()
  readonly #pending = new Map<string, Pending>()
  #writes: Promise<unknown> = Promise.resolve()
  #saving: Promise<void> = Promise.resolve()
  #closed = false
  /** While the server refuses the client token: how many polls in a row it refused, and the next one. */
  #refusals = 0
  #repoll: NodeJS.Timeout | null = null
  /** Errors already handled as the repository's, so that the client's copy of them is not logged twice. */
  readonly #seen = new WeakSet<object>()

  constructor (url: string, opts: ServerFlagsOptions) {
    super()
    this.location = url
    this.#opts = opts
    this.#now = opts.now ?? Date.now
    this.#pendingFile = join(opts.backupPath, PENDING_FILE)
    this.#admin = opts.adminToken != null && opts.adminToken !== ''
      ? new UnleashAdmin({ url, token: opts.adminToken, environment: opts.environment, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) })
      : null
  }

  /** Whether the server answered the last poll or Admin API call. */
  get healthy (): boolean { return this.#healthy }

  async start (): Promise<void> {
    const instanceId = `${this.#opts.appName}-${hostname()}-${randomUUID().slice(0, 8)}`
    // unleash-client's own default is 10 s, tried three times: an outage would take half a minute to show.
    const timeout = this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const repository = new LayeredRepository({
      url: this.location.endsWith('/') ? this.location : `${this.location}/`,
      appName: this.#opts.appName,
      instanceId,
      connectionId: randomUUID(),
      refreshInterval: this.#opts.refreshIntervalMs,
      timeout,
      headers: { Authorization: this.#opts.apiToken },
      bootstrapProvider: { readBootstrap: async () => undefined },
      storageProvider: this.#storage = new AtomicFileStorage(this.#opts.backupPath),
      mode: { type: 'polling', format: 'full' }
    })
    this.#repository = repository
    // Registered before the client's own listeners, which re-emit these events.
    repository.on('changed', () => { this.#answered(null); this.#relay() })
    repository.on('unchanged', () => this.#answered(null))
    repository.on('error', (err: Error) => {
      this.#seen.add(err)
      const refused = refusedStatus(err)
      this.#answered(refused === null ? err : this.#refusedPoll(refused))
    })
    repository.on('warn', (msg: unknown) => this.#answered(msg instanceof Error ? msg : new Error(String(msg))))
    this.unleash = new Unleash({
      appName: this.#opts.appName,
      environment: this.#opts.environment,
      url: this.location,
      instanceId,
      refreshInterval: this.#opts.refreshIntervalMs,
      timeout,
      customHeaders: { Authorization: this.#opts.apiToken },
      repository,
      skipInstanceCountWarning: true
    })
    // Until the first answer (or the backup) arrives, flags read as off and every route goes to legacy;
    // /readyz stays false meanwhile.
    this.unleash.on('ready', () => { this.isReady = true; this.#relay() })
    this.unleash.on('changed', () => { this.isReady = true })
    this.unleash.on('error', (err: Error) => {
      if (!this.#seen.has(err)) this.#opts.log.warn({ err }, 'unleash client error')
    })
    await this.#loadPending()
  }

  setPercent (flag: string, percent: number): Promise<void> {
    if (this.#admin === null) {
      return Promise.reject(errors.FLAG_READ_ONLY(`flags are read from the Unleash server at ${this.location}, and UNLEASH_ADMIN_TOKEN is not set: ` +
        'set it to an admin token of that server to let the gateway change percentages, or change them in Unleash'))
    }
    return this.#serial(() => this.#write(flag, percent))
  }

  pendingWrites (): PendingWrite[] {
    return [...this.#pending.values()].map((p) => ({
      flag: p.flag,
      percent: p.percent,
      since: new Date(p.since).toISOString(),
      attempts: p.attempts,
      last_error: p.lastError,
      next_attempt_at: new Date(p.nextAt).toISOString()
    }))
  }

  override async close (): Promise<void> {
    this.#closed = true
    if (this.#repoll !== null) clearTimeout(this.#repoll)
    for (const p of this.#pending.values()) if (p.timer !== null) clearTimeout(p.timer)
    await this.#writes
    await this.#saving
    if (this.#pending.size > 0) {
      this.#opts.log.warn({ pending: [...this.#pending.keys()], file: this.#pendingFile }, 'the Unleash server has not taken every write; they are retried at the next start')
    }
    await this.#admin?.close()
    await super.close()
    // Stopping the client drops the repository's listeners, but a poll already under way still ends, and
    // its failure would be emitted with no one to hear it: it is of no interest once closed.
    this.#repository?.on('error', () => {})
    await this.#storage?.close()
  }

  async #write (flag: string, percent: number): Promise<void> {
    const admin = this.#admin!
    // A rollback must reach Unleash, or the next poll after a restart would undo it there: a 0 % the
    // server cannot take is kept and retried. A raise that fails is the caller's to retry.
    const keep = percent === 0
    try {
      const done = await admin.setRollout(flag, percent, {
        project: this.#repository.polled(flag)?.project,
        ...(keep ? { ifUnreachable: `the gateway routes ${flag} at 0 % meanwhile, and retries the write until the server takes it` } : {})
      })
      this.#answered(null, 'write')
      this.#forget(flag)
      this.#written.set(flag, { percent, enabled: done.enabled, base: null })
      this.#relay()
    } catch (err) {
      this.#answered(isDependencyFailure(err) ? err as Error : null)
      if (keep && isUnreachable(err)) this.#remember(flag, percent, err as Error)
      throw err
    }
  }

  async #retry (flag: string): Promise<void> {
    const p = this.#pending.get(flag)
    if (p === undefined || this.#closed) return
    try {
      await this.#write(flag, p.percent)
      this.#opts.log.info?.({ flag, percent: p.percent, attempts: p.attempts + 1 }, 'the Unleash server took a pending write')
    } catch (err) {
      // Unreachable again: #write has already counted the attempt and set the next one.
      if (isUnreachable(err) || this.#pending.get(flag) !== p) return
      if ((err as { code?: unknown }).code === errors.UNLEASH_FLAG_NOT_FOUND.code) {
        this.#opts.log.warn({ err, flag }, 'the flag of a pending write is gone from Unleash; dropping the write')
        this.#forget(flag)
        this.#written.delete(flag)
        this.#repository.layers.delete(flag)
        return
      }
      this.#opts.log.warn({ err, flag }, 'the Unleash server refused a pending write; retrying')
      p.attempts += 1
      p.lastError = (err as Error).message
      this.#schedule(p, this.#backoff(p.attempts))
      this.#savePending()
    }
  }

  #remember (flag: string, percent: number, err: Error): void {
    const now = this.#now()
    const p = this.#pending.get(flag) ?? { flag, percent, since: now, attempts: 0, lastError: '', nextAt: now, timer: null }
    p.percent = percent
    p.attempts += 1
    p.lastError = err.message
    this.#pending.set(flag, p)
    this.#schedule(p, this.#backoff(p.attempts))
    this.#written.set(flag, { percent, enabled: null, base: null })
    this.#relay()
    this.#savePending()
  }

  #forget (flag: string): void {
    const p = this.#pending.get(flag)
    if (p === undefined) return
    if (p.timer !== null) clearTimeout(p.timer)
    this.#pending.delete(flag)
    this.#savePending()
  }

  #schedule (p: Pending, delayMs: number): void {
    if (p.timer !== null) clearTimeout(p.timer)
    if (this.#closed) return
    p.nextAt = this.#now() + delayMs
    p.timer = setTimeout(() => {
      p.timer = null
      // #retry handles its own failures; the catch only keeps the chain from rejecting unobserved.
      this.#serial(() => this.#retry(p.flag)).catch((err) => this.#opts.log.warn({ err, flag: p.flag }, 'a pending Unleash write failed'))
    }, delayMs)
    p.timer.unref()
  }

  #backoff (attempts: number): number {
    const min = this.#opts.retry?.minMs ?? DEFAULT_RETRY_MIN_MS
    const max = this.#opts.retry?.maxMs ?? DEFAULT_RETRY_MAX_MS
    return Math.min(max, min * 2 ** Math.min(attempts - 1, 20))
  }

  /**
   * unleash-client stops polling for good once the server answers 401 or 403 (its "API key is not
   * allowed to connect"). A token refused for a while (rotated, not yet known to a server that is still
   * starting, refused by a proxy in front of it) would leave the gateway on stale flags until a restart, so
   * the gateway asks again itself: after the refresh interval, doubling, at most REFUSED_POLL_MAX_MS. It
   * asks with a request of its own rather than through the client, whose poll would count each refusal
   * towards its backoff and leave it polling slowly long after; any other answer hands polling back to the
   * client, which handles outages itself.
   */
  #refusedPoll (status: number): Error {
    this.#refusals += 1
    const delay = Math.min(REFUSED_POLL_MAX_MS, Math.max(this.#opts.refreshIntervalMs, 100) * 2 ** Math.min(this.#refusals - 1, 20))
    if (this.#repoll !== null) clearTimeout(this.#repoll)
    if (!this.#closed) {
      this.#repoll = setTimeout(() => {
        this.#repoll = null
        this.#askAgain().catch((err) => this.#opts.log.warn({ err }, 'asking the Unleash server again failed'))
      }, delay)
      this.#repoll.unref()
    }
    return new Error(`it refuses UNLEASH_API_TOKEN with HTTP ${status}, asked again in ${(delay / 1000).toFixed(1)} s; ` +
      `set UNLEASH_API_TOKEN to a client token of the environment "${this.#opts.environment}"`)
  }

  async #askAgain (): Promise<void> {
    if (this.#closed) return
    const base = this.location.endsWith('/') ? this.location : `${this.location}/`
    const status = await fetch(new URL('client/features', base), {
      headers: { authorization: this.#opts.apiToken, 'unleash-appname': this.#opts.appName },
      signal: AbortSignal.timeout(this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    }).then(async (res) => { await res.body?.cancel(); return res.status }, () => null)
    if (this.#closed) return
    if (status === 401 || status === 403) this.#answered(this.#refusedPoll(status))
    // fetch() reports its own failures through the repository's events.
    else await this.#repository.fetch()
  }

  /**
   * A poll or an Admin API call ended: `err` is null when the server answered. An Admin API call that
   * succeeds does not make the flag source healthy while the server refuses its polls.
   */
  #answered (err: Error | null, from: 'poll' | 'write' = 'poll'): void {
    if (err === null && from === 'write' && this.#refusals > 0) return
    if (err === null) {
      this.#refusals = 0
      const recovered = !this.#healthy && this.lastError !== null
      this.#healthy = true
      this.lastError = null
      if (recovered) {
        this.#opts.log.info?.({ pending: this.#pending.size }, 'the Unleash server answers again')
        // The server is back: pending writes need not wait out their backoff.
        for (const p of this.#pending.values()) if (p.timer !== null) this.#schedule(p, 0)
      }
      return
    }
    if (this.#healthy || this.lastError === null) {
      this.#opts.log.warn({ err }, 'the Unleash server gives no flags; routing on the last known flags')
    }
    this.#healthy = false
    this.lastError = err
    try {
      this.#opts.onError?.()
    } catch (hookErr) {
      this.#opts.log.warn({ err: hookErr }, 'the onError hook of the Unleash flag source failed')
    }
  }

  /**
   * Lays each percentage the gateway wrote over the flag the server last answered with, so that routing
   * and status show a write at once (Unleash serves it to clients up to a second or so later). A layer is
   * lifted as soon as the server's answer for the flag changes: from then on the server's answer is the
   * newer one. A pending write's layer stays until the server takes the write.
   */
  #relay (): void {
    for (const [flag, w] of this.#written) {
      const polled = this.#repository.polled(flag)
      const now = polled === undefined ? null : JSON.stringify(polled)
      if (w.base !== null && w.base !== now && !this.#pending.has(flag)) {
        this.#written.delete(flag)
        this.#repository.layers.delete(flag)
        continue
      }
      w.base = now
      const layer = polled === undefined ? undefined : withRollout(polled, w.percent, w.enabled)
      if (layer === undefined) this.#repository.layers.delete(flag)
      else this.#repository.layers.set(flag, layer)
    }
  }

  async #loadPending (): Promise<void> {
    let saved: { writes?: Array<{ flag?: unknown, percent?: unknown, since?: unknown, attempts?: unknown, last_error?: unknown }> } | undefined
    try {
      saved = await readJsonIfExists(this.#pendingFile)
    } catch (err) {
      this.#opts.log.warn({ err, file: this.#pendingFile }, 'cannot read the pending Unleash writes; starting without them')
      return
    }
    const writes = (saved?.writes ?? []).filter((w) => typeof w.flag === 'string' && Number.isInteger(w.percent))
    if (writes.length === 0) return
    if (this.#admin === null) {
      this.#opts.log.warn({ pending: writes.map((w) => w.flag), file: this.#pendingFile }, 'writes to Unleash are pending, but UNLEASH_ADMIN_TOKEN is not set: they are not retried')
      return
    }
    const now = this.#now()
    for (const w of writes) {
      const since = Date.parse(String(w.since))
      const p: Pending = {
        flag: w.flag as string,
        percent: w.percent as number,
        since: Number.isFinite(since) ? since : now,
        attempts: typeof w.attempts === 'number' ? w.attempts : 0,
        lastError: typeof w.last_error === 'string' ? w.last_error : '',
        nextAt: now,
        timer: null
      }
      this.#pending.set(p.flag, p)
      this.#written.set(p.flag, { percent: p.percent, enabled: null, base: null })
      this.#schedule(p, 0)
    }
    // The backup may already be loaded: route at the pending percentages from now on.
    this.#relay()
    this.#opts.log.warn({ pending: writes.map((w) => w.flag) }, 'retrying the writes the Unleash server had not taken before the restart')
  }

  #savePending (): void {
    const writes = [...this.#pending.values()].map((p) => ({ flag: p.flag, percent: p.percent, since: new Date(p.since).toISOString(), attempts: p.attempts, last_error: p.lastError }))
    this.#saving = this.#saving
      .then(() => writeJsonAtomic(this.#pendingFile, { version: 1, writes }))
      .catch((err) => this.#opts.log.warn({ err, file: this.#pendingFile }, 'cannot save the pending Unleash writes; they are retried, but not after a restart'))
  }

  #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(fn)
    this.#writes = run.catch(() => {})
    return run
  }
}

/**
 * unleash-client's polling repository, with what the gateway wrote laid over what the server last
 * answered. The client evaluates flags, and the flag source reads percentages, through getToggle.
 */
class LayeredRepository extends PollingRepository {
  readonly layers = new Map<string, FeatureInterface>()

  override getToggle (name: string): FeatureInterface | undefined {
    return this.layers.get(name) ?? super.getToggle(name)
  }

  override getToggles (): FeatureInterface[] {
    return super.getToggles().map((f) => this.layers.get(f.name) ?? f)
  }

  /** The flag as the server last answered. */
  polled (name: string): FeatureInterface | undefined {
    return super.getToggle(name)
  }
}

/** The backup of the server's last answer, replaced atomically, so that a crash mid-write leaves a whole one. */
class AtomicFileStorage implements StorageProvider<ClientFeaturesResponse> {
  readonly #dir: string
  #closed = false
  #writing: Promise<unknown> = Promise.resolve()

  constructor (dir: string) { this.#dir = dir }

  /** Waits for a backup being written, and writes no more: a poll that ends after close() is not saved. */
  async close (): Promise<void> {
    this.#closed = true
    await this.#writing
  }

  // The file unleash-client's own FileStorageProvider uses, so an existing backup is still read.
  #path (key: string): string { return join(this.#dir, `unleash-backup-${key.replace(/\//g, '_')}.json`) }

  async set (key: string, data: ClientFeaturesResponse): Promise<void> {
    if (this.#closed) return
    const write = writeJsonAtomic(this.#path(key), data)
    this.#writing = write.catch(() => {})
    await write
  }

  async get (key: string): Promise<ClientFeaturesResponse | undefined> { return await readJsonIfExists(this.#path(key)) }
}

/** The status of unleash-client's "API key is not allowed to connect" error (401 or 403); null for any other. */
function refusedStatus (err: Error): number | null {
  const m = /responded (401|403) which means your API key is not allowed to connect/.exec(err.message)
  return m === null ? null : Number(m[1])
}

/** A copy of `feature` whose first flexibleRollout is at `percent`; undefined when it has none. */
function withRollout (feature: FeatureInterface, percent: number, enabled: boolean | null): FeatureInterface | undefined {
  const i = (feature.strategies ?? []).findIndex((s) => s.name === 'flexibleRollout')
  if (i === -1) return undefined
  const copy = structuredClone(feature)
  const strategy = copy.strategies![i]!
  copy.strategies![i] = { ...strategy, parameters: { ...strategy.parameters, rollout: String(percent) } }
  if (enabled !== null) copy.enabled = enabled
  return copy
}
