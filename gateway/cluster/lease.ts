// One replica evaluates the rollback rules at a time: the one holding a lease in Redis (SET NX PX), renewed
// three times per lease. A replica that dies stops renewing and another takes the lease when it expires;
// one that shuts down hands it over at once. A holder counts its lease as lost a fifth of a lease early,
// so that two replicas never both believe they hold it, whatever their clocks. While Redis is away there is
// no lease to hold: every replica evaluates on its own windows (see Cluster).
import type { RedisLink } from './redis-link.ts'

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

export class Lease {
  readonly #link: RedisLink
  readonly #key: string
  readonly #ms: number
  readonly #log: { info: (o: object, msg: string) => void }
  readonly #onChange: (held: boolean) => void
  #validUntil = 0
  #held = false
  #holder: string | null = null
  #timer: NodeJS.Timeout | null = null
  #busy = false

  constructor (link: RedisLink, opts: { ms: number, log: { info: (o: object, msg: string) => void }, onChange?: (held: boolean) => void }) {
    this.#link = link
    this.#key = link.key('leader')
    this.#ms = opts.ms
    this.#log = opts.log
    this.#onChange = opts.onChange ?? (() => {})
    link.client.defineCommand('switchyardRenew', { numberOfKeys: 1, lua: RENEW })
    link.client.defineCommand('switchyardRelease', { numberOfKeys: 1, lua: RELEASE })
  }

  /** Whether this replica holds the lease now. */
  get held (): boolean {
    if (this.#held && performance.now() >= this.#validUntil) this.#set(false)
    return this.#held
  }

  /** Who held the lease at the last attempt (this replica's id when it is this one), or null. */
  get holder (): string | null { return this.#holder }

  start (): void {
    if (this.#timer !== null) return
    this.attempt().catch(() => {})
    this.#timer = setInterval(() => { this.attempt().catch(() => {}) }, Math.max(50, Math.floor(this.#ms / 3)))
    this.#timer.unref()
  }

  /** Takes or renews the lease once. */
  async attempt (): Promise<void> {
    if (this.#busy) return
    this.#busy = true
    const started = performance.now()
    const me = this.#link.replica
    try {
      const r = this.#link.client as any
      let ok: boolean
      if (this.#held) {
        ok = await this.#link.run(() => r.switchyardRenew(this.#key, me, String(this.#ms))) === 1
      } else {
        ok = await this.#link.run(() => this.#link.client.set(this.#key, me, 'PX', this.#ms, 'NX')) === 'OK'
      }
      if (ok) {
        this.#validUntil = started + this.#ms * 0.8
        this.#holder = me
        this.#set(true)
      } else {
        this.#set(false)
        this.#holder = await this.#link.run((c) => c.get(this.#key)).catch(() => null)
      }
    } catch {
      // Redis away: the lease runs out on its own (`held` checks the time).
    } finally {
      this.#busy = false
    }
  }

  /** Stops renewing and hands the lease over at once, if this replica holds it. */
  async stop (): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    if (!this.#held) return
    this.#set(false)
    await this.#link.run(() => (this.#link.client as any).switchyardRelease(this.#key, this.#link.replica)).catch(() => {})
  }

  #set (held: boolean): void {
    if (held === this.#held) return
    this.#held = held
    this.#log.info({ replica: this.#link.replica }, held ? 'this replica now evaluates the rollback rules' : 'this replica no longer evaluates the rollback rules')
    this.#onChange(held)
  }
}
