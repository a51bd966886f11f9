// The flags, read through unleash-client in both modes so that a percentage means exactly what it means in
// Unleash (flexibleRollout: murmur3 of "groupId:stickyKey", normalised to 1..100):
// - embedded: the flag file, served by a StaticRepository (no network, no metrics, in-memory storage);
//   admin changes are written to the file first, then handed to the client;
// - server: the Unleash server at UNLEASH_URL (server-flags.ts).
import { EventEmitter } from 'node:events'
import { Unleash, InMemStorageProvider } from 'unleash-client'
import type { ClientFeaturesResponse } from 'unleash-client/lib/feature.js'
import { errors } from '../errors.ts'
import type { FlagEvaluator } from '../routing/decide.ts'
import { StaticRepository } from './static-repository.ts'
import { readFeaturesFile, rolloutPercent, withRolloutPercent, writeFeaturesFile } from './features-file.ts'

/** A write the Unleash server could not take, retried until it does. */
export interface PendingWrite {
  flag: string
  percent: number
  /** When the first attempt failed (ISO 8601). */
  since: string
  /** Failed attempts so far. */
  attempts: number
  last_error: string
  /** When the next attempt is due (ISO 8601). */
  next_attempt_at: string
}

export interface FlagSource extends FlagEvaluator {
  readonly kind: 'embedded' | 'unleash'
  /** Where the flags come from, for status output. */
  readonly location: string
  readonly ready: boolean
  start (): Promise<void>
  has (flag: string): boolean
  percent (flag: string): number
  names (): string[]
  setPercent (flag: string, percent: number): Promise<void>
  close (): Promise<void>
  /** Whether the flag server answered the last poll or write; left out where there is no server. */
  readonly healthy?: boolean
  /** Why the last poll or write failed; null once one succeeds; left out where there is no server. */
  readonly lastError?: Error | null
  /** Writes the flag server could not take yet, retried until it does; left out where there is no server. */
  pendingWrites? (): PendingWrite[]
}

export interface Common { appName: string, environment: string, log: { warn: (o: object, msg: string) => void } }

export abstract class UnleashBacked extends EventEmitter implements FlagSource {
  abstract readonly kind: 'embedded' | 'unleash'
  abstract readonly location: string
  protected unleash!: Unleash
  protected isReady = false

  get ready (): boolean { return this.isReady }

  abstract start (): Promise<void>
  abstract setPercent (flag: string, percent: number): Promise<void>

  isEnabled (flag: string, stickyKey: string): boolean {
    return this.unleash.isEnabled(flag, { userId: stickyKey })
  }

  has (flag: string): boolean {
    return this.unleash.getFeatureToggleDefinition(flag) !== undefined
  }

  percent (flag: string): number {
    return rolloutPercent(this.unleash.getFeatureToggleDefinition(flag))
  }

  names (): string[] {
    return (this.unleash.getFeatureToggleDefinitions() ?? []).map((f) => f.name)
  }

  async close (): Promise<void> {
    this.unleash?.destroy()
  }
}

export class EmbeddedFlags extends UnleashBacked {
  readonly kind = 'embedded' as const
  readonly location: string
  readonly #opts: Common
  #repository!: StaticRepository
  #writes: Promise<void> = Promise.resolve()

  constructor (file: string, opts: Common) {
    super()
    this.location = file
    this.#opts = opts
  }

  async start (): Promise<void> {
    this.#repository = new StaticRepository(await readFeaturesFile(this.location))
    this.unleash = new Unleash({
      appName: this.#opts.appName,
      environment: this.#opts.environment,
      url: 'http://embedded.switchyard.invalid/api/',
      refreshInterval: 0,
      disableMetrics: true,
      storageProvider: new InMemStorageProvider<ClientFeaturesResponse>(),
      repository: this.#repository,
      skipInstanceCountWarning: true
    })
    this.unleash.on('error', (err) => this.#opts.log.warn({ err }, 'flag client error'))
    this.isReady = true
  }

  setPercent (flag: string, percent: number): Promise<void> {
    // Writes are serialised so that two admin calls cannot interleave their read-modify-write.
    const run = this.#writes.then(async () => {
      const data = this.#repository.data
      const i = data.features.findIndex((f) => f.name === flag)
      if (i === -1) throw errors.UNKNOWN_FLAG(flag, this.names())
      const next: ClientFeaturesResponse = { ...data, features: data.features.slice() }
      next.features[i] = withRolloutPercent(data.features[i]!, percent)
      try {
        await writeFeaturesFile(this.location, next)
      } catch (err) {
        throw Object.assign(errors.FLAG_WRITE_FAILED(flag, (err as Error).message), { cause: err })
      }
      this.#repository.replace(next)
    })
    this.#writes = run.catch(() => {})
    return run
  }
}
