// A map shared by every replica through a Redis hash: each value is stamped with the time it was written
// (`at`, ms), and the newest wins. A write while Redis is up is ordered by Redis itself (its stamp is made
// newer than the one stored), stored and published in one script, so every replica hears of it at once.
// While Redis is down a write fails and changes nothing, unless it is a safe one (a rollback): that one
// applies here and is pushed when Redis returns. On every resynchronisation a replica pushes what it holds
// (only where it is newer than Redis's: an emptied Redis is refilled from the replicas) and then adopts
// whatever Redis holds that is newer than its own.
import type { RedisLink } from './redis-link.ts'

export interface Stamped<V> { at: number, value: V }

/** Sent on the link's channel for every write. */
export interface ChangeMessage { map: string, key: string, entry: string, from: string }

// KEYS: hash, channel. ARGV: field, entry (JSON with `at`), force (1: a fresh write, stamped after the
// stored one; 0: a resync push, stored only if newer), map name, replica. Returns the stored entry, or
// false when a push was older than what Redis holds.
const WRITE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local entry = cjson.decode(ARGV[2])
if cur then
  local ok, stored = pcall(cjson.decode, cur)
  if ok and type(stored) == 'table' and tonumber(stored.at) then
    if ARGV[3] == '1' then
      if entry.at <= stored.at then entry.at = stored.at + 1 end
    elseif entry.at <= stored.at then
      return false
    end
  end
end
local text = cjson.encode(entry)
redis.call('HSET', KEYS[1], ARGV[1], text)
redis.call('PUBLISH', KEYS[2], cjson.encode({ map = ARGV[4], key = ARGV[1], entry = text, from = ARGV[5] }))
return text
`

export interface SharedMapOptions<V> {
  link: RedisLink
  /** The hash's name under the link's prefix, also the map's name in messages. */
  name: string
  /** What this replica holds now, with stamps. */
  local: () => Iterable<[string, Stamped<V>]>
  /** What this replica holds for one key. */
  localOf: (key: string) => Stamped<V> | undefined
  /** Makes `entry` this replica's value of `key` (persisting it as the caller does for its own writes). */
  adopt: (key: string, entry: Stamped<V>) => Promise<void>
  now?: () => number
}

export class SharedMap<V> {
  readonly name: string
  readonly #o: SharedMapOptions<V>
  readonly #hash: string
  readonly #now: () => number
  /** Safe writes made while Redis was away, pushed on the next resync. */
  readonly #pending = new Map<string, Stamped<V>>()

  constructor (opts: SharedMapOptions<V>) {
    this.#o = opts
    this.name = opts.name
    this.#hash = opts.link.key(opts.name)
    this.#now = opts.now ?? Date.now
    opts.link.client.defineCommand('switchyardWrite', { numberOfKeys: 2, lua: WRITE })
  }

  get pending (): number { return this.#pending.size }

  /**
   * Shares a new value; resolves with the entry Redis stored (its stamp may be later than now). When Redis
   * cannot take it: a `safe` value is kept to push later and returned as is; any other rejects.
   */
  async write (key: string, value: V, opts: { safe: boolean }): Promise<Stamped<V>> {
    const entry: Stamped<V> = { at: this.#now(), value }
    try {
      const stored = await this.#script(key, entry, true)
      this.#pending.delete(key)
      return stored ?? entry
    } catch (err) {
      if (!opts.safe) throw err
      this.#pending.set(key, entry)
      return entry
    }
  }

  /** A message from the channel: adopted when it is newer than what this replica holds. */
  async receive (message: ChangeMessage): Promise<void> {
    if (message.map !== this.name) return
    const entry = JSON.parse(message.entry) as Stamped<V>
    await this.#adoptIfNewer(message.key, entry)
  }

  /** Adopts Redis's value of one key if it is newer: read-your-writes for a change made through another replica. */
  async refresh (key: string): Promise<void> {
    const text = await this.#o.link.run((r) => r.hget(this.#hash, key))
    if (text !== null) await this.#adoptIfNewer(key, JSON.parse(text) as Stamped<V>)
  }

  /** Pushes this replica's values where they are newer, then adopts Redis's where they are newer. */
  async resync (): Promise<{ pushed: number, adopted: number }> {
    let pushed = 0
    for (const [key, entry] of [...this.#o.local(), ...this.#pending]) {
      if (await this.#script(key, entry, false) !== null) pushed++
    }
    this.#pending.clear()
    const all = await this.#o.link.run((r) => r.hgetall(this.#hash))
    let adopted = 0
    for (const [key, text] of Object.entries(all)) {
      let entry: Stamped<V>
      try {
        entry = JSON.parse(text) as Stamped<V>
      } catch {
        continue
      }
      if (await this.#adoptIfNewer(key, entry)) adopted++
    }
    return { pushed, adopted }
  }

  async #adoptIfNewer (key: string, entry: Stamped<V>): Promise<boolean> {
    if (typeof entry?.at !== 'number') return false
    const mine = this.#o.localOf(key)
    const pending = this.#pending.get(key)
    if (pending !== undefined && pending.at >= entry.at) return false
    if (mine !== undefined && mine.at >= entry.at) return false
    this.#pending.delete(key)
    await this.#o.adopt(key, entry)
    return true
  }

  async #script (key: string, entry: Stamped<V>, force: boolean): Promise<Stamped<V> | null> {
    const link = this.#o.link
    const text = await link.run((r) => (r as any).switchyardWrite(this.#hash, link.channel, key, JSON.stringify(entry), force ? '1' : '0', this.name, link.replica) as Promise<string | null>)
    return text === null ? null : JSON.parse(text) as Stamped<V>
  }
}
