// One audit trail for every replica: each event, once fsynced to the replica's own log, is also added to a
// Redis stream (capped at the newest 10,000), named with the replica it came from, so that `switchyard
// events` through any replica shows every change, a rule's rollback made by the evaluating replica among
// them. Events written while Redis is away wait in memory (bounded) and are added when it returns, after
// the ones already there. While Redis is away a replica answers from its own log.
import type { AuditEvent } from '../state/audit-log.ts'
import type { RedisLink } from './redis-link.ts'

export type SharedAuditEvent = AuditEvent & { replica: string }

const KEEP = 10_000

export class SharedAudit {
  readonly #link: RedisLink
  readonly #key: string
  #pending: SharedAuditEvent[] = []

  constructor (link: RedisLink) {
    this.#link = link
    this.#key = link.key('audit')
  }

  get pending (): number { return this.#pending.length }

  /** Adds an event of this replica; never throws (the replica's own log already holds it). */
  add (event: AuditEvent): void {
    this.#pending.push({ ...event, replica: this.#link.replica })
    if (this.#pending.length > KEEP) this.#pending.splice(0, this.#pending.length - KEEP)
    if (this.#link.up) this.flush().catch(() => {})
  }

  /** Adds what waits, in order; on failure it waits for the next attempt. */
  async flush (): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.slice(0, 500)
      await this.#link.run(async (r) => {
        const p = r.multi()
        for (const e of batch) p.xadd(this.#key, 'MAXLEN', '~', String(KEEP), '*', 'event', JSON.stringify(e))
        const results = await p.exec()
        const failed = results?.find(([err]) => err !== null)
        if (failed !== undefined) throw failed[0]
      })
      // Only what was added leaves the queue: add() may have pushed more meanwhile.
      this.#pending = this.#pending.filter((e) => !batch.includes(e))
    }
  }

  /** Newest first, from every replica; null when Redis cannot answer (the caller reads its own log). */
  async list (opts: { limit: number, flag?: string }): Promise<SharedAuditEvent[] | null> {
    if (!this.#link.up) return null
    try {
      const out: SharedAuditEvent[] = []
      let end = '+'
      while (out.length < opts.limit) {
        const page = await this.#link.run((r) => r.xrevrange(this.#key, end, '-', 'COUNT', 1_000))
        for (const [, fields] of page) {
          const e = JSON.parse(fields[1] ?? 'null') as SharedAuditEvent | null
          if (e !== null && (opts.flag === undefined || e.flag === opts.flag)) out.push(e)
          if (out.length >= opts.limit) break
        }
        if (page.length < 1_000) break
        end = `(${page[page.length - 1]![0]}`
      }
      return out
    } catch {
      return null
    }
  }
}
