// The embedded flag file's percentages, shared by every replica: each replica reads its own file (the same
// ConfigMap in a deployment), and a percentage set through any replica goes to Redis first, then into every
// replica's file and flag client. (With UNLEASH_URL the Unleash server is the shared source instead.)
import { errors } from '../errors.ts'
import type { FlagSource } from '../flags/flag-source.ts'
import type { RedisLink } from './redis-link.ts'
import { SharedMap } from './shared-map.ts'

export class SharedPercents implements FlagSource {
  readonly map: SharedMap<number>
  readonly #inner: FlagSource
  readonly #stamps = new Map<string, number>()

  constructor (inner: FlagSource, link: RedisLink) {
    this.#inner = inner
    this.map = new SharedMap<number>({
      link,
      name: 'percents',
      local: () => this.#inner.names().map((flag) => [flag, this.#stamped(flag)]),
      localOf: (flag) => this.#inner.has(flag) ? this.#stamped(flag) : undefined,
      adopt: async (flag, entry) => {
        if (!this.#inner.has(flag) || !Number.isInteger(entry.value) || entry.value < 0 || entry.value > 100) return
        if (this.#inner.percent(flag) !== entry.value) await this.#inner.setPercent(flag, entry.value)
        this.#stamps.set(flag, entry.at)
      }
    })
  }

  #stamped (flag: string): { at: number, value: number } {
    return { at: this.#stamps.get(flag) ?? 0, value: this.#inner.percent(flag) }
  }

  get kind (): FlagSource['kind'] { return this.#inner.kind }
  get location (): string { return this.#inner.location }
  get ready (): boolean { return this.#inner.ready }
  start (): Promise<void> { return this.#inner.start() }
  has (flag: string): boolean { return this.#inner.has(flag) }
  percent (flag: string): number { return this.#inner.percent(flag) }
  names (): string[] { return this.#inner.names() }
  isEnabled (flag: string, stickyKey: string): boolean { return this.#inner.isEnabled(flag, stickyKey) }
  close (): Promise<void> { return this.#inner.close() }

  /**
   * Redis first, then here. Lowering to 0 % (a rollback) also works while Redis is away, and reaches the
   * other replicas when it returns; any other change is refused then, and changes nothing.
   */
  async setPercent (flag: string, percent: number): Promise<void> {
    if (!this.#inner.has(flag)) throw errors.UNKNOWN_FLAG(flag, this.#inner.names())
    let entry
    try {
      entry = await this.map.write(flag, percent, { safe: percent === 0 })
    } catch (err) {
      throw Object.assign(errors.SHARED_STATE_UNAVAILABLE((err as Error).message), { cause: err })
    }
    await this.#inner.setPercent(flag, entry.value)
    this.#stamps.set(flag, entry.at)
  }
}
