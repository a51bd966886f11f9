// The flags, read through unleash-client in both modes so that a percentage means exactly what it means in
// Unleash (flexibleRollout: murmur3 of "groupId:stickyKey", normalised to 1..100):
// - embedded: the flag file, served by a StaticRepository (no network, no metrics, in-memory storage);
//   admin changes are written to the file first, then handed to the client;
// - server: the Unleash server at UNLEASH_URL, polled at flags.refresh_interval_ms, with the last known
//   flags backed up in the state directory so a restart during an Unleash outage still routes.
import { EventEmitter } from 'node:events'
import { Unleash, InMemStorageProvider } from 'unleash-client'
import type { ClientFeaturesResponse } from 'unleash-client/lib/feature.js'
import { errors } from '../errors.ts'
import type { FlagEvaluator } from '../routing/decide.ts'
import { StaticRepository } from './static-repository.ts'
import { readFeaturesFile, rolloutPercent, withRolloutPercent, writeFeaturesFile } from './features-file.ts'

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
}

interface Common { appName: string, environment: string, log: { warn: (o: object, msg: string) => void } }

abstract class UnleashBacked extends EventEmitter implements FlagSource {
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

export class ServerFlags extends UnleashBacked {
  readonly kind = 'unleash' as const
  readonly location: string
  readonly #opts: Common & { apiToken: string, refreshIntervalMs: number, backupPath: string }
  lastError: Error | null = null

  constructor (url: string, opts: Common & { apiToken: string, refreshIntervalMs: number, backupPath: string }) {
    super()
    this.location = url
    this.#opts = opts
  }

  async start (): Promise<void> {
    this.unleash = new Unleash({
      appName: this.#opts.appName,
      environment: this.#opts.environment,
      url: this.location,
      refreshInterval: this.#opts.refreshIntervalMs,
      customHeaders: { Authorization: this.#opts.apiToken },
      backupPath: this.#opts.backupPath,
      skipInstanceCountWarning: true
    })
    // Until the first answer (or the backup) arrives, flags read as off and every route goes to legacy;
    // /readyz stays false meanwhile.
    this.unleash.on('ready', () => { this.isReady = true })
    this.unleash.on('changed', () => { this.isReady = true; this.lastError = null })
    this.unleash.on('error', (err: Error) => {
      this.lastError = err
      this.#opts.log.warn({ err }, 'cannot reach the Unleash server; routing on the last known flags')
    })
    this.unleash.on('warn', (msg: string) => this.#opts.log.warn({ msg }, 'unleash client warning'))
  }

  async setPercent (): Promise<void> {
    throw errors.FLAG_READ_ONLY(`flags are read from the Unleash server at ${this.location}; change the rollout there`)
  }
}
