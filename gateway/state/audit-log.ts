// Who changed what, when, from what to what, and why. Append-only JSON lines, fsynced before the change
// is acknowledged, so a restart loses no event. The newest events are also kept in memory (bounded) for
// the admin API.
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

export interface AuditEvent {
  id: number
  at: string
  actor: string
  /** The address the call came from. */
  source: string
  action: string
  flag: string
  from: unknown
  to: unknown
  reason: string
  /** What an automatic action rested on: for a rule's rollback, the rule, the value observed, the window and the samples. */
  details?: unknown
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at'>

const DEFAULT_MEMORY = 10_000

export class AuditLog {
  readonly file: string
  readonly #memory: number
  readonly #now: () => Date
  #events: AuditEvent[] = []
  #nextId = 1
  #fh: FileHandle | null = null
  #writes: Promise<unknown> = Promise.resolve()
  /** Lines of the file that could not be read back (a torn last line after a crash). */
  skipped = 0
  /** Told of every event once it is on disk (with several replicas: the shared trail). */
  onAppend: ((event: AuditEvent) => void) | null = null

  constructor (stateDir: string, opts: { memory?: number, now?: () => Date } = {}) {
    this.file = join(stateDir, 'audit.jsonl')
    this.#memory = opts.memory ?? DEFAULT_MEMORY
    this.#now = opts.now ?? (() => new Date())
  }

  async open (): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true })
    let text = ''
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue
      try {
        const e = JSON.parse(line) as AuditEvent
        this.#keep(e)
        this.#nextId = Math.max(this.#nextId, e.id + 1)
      } catch {
        this.skipped++
      }
    }
    // A torn last line has no newline: start the next event on a line of its own.
    this.#fh = await open(this.file, 'a', 0o640)
    if (text.length > 0 && !text.endsWith('\n')) await this.#fh.write('\n')
  }

  append (event: NewAuditEvent): Promise<AuditEvent> {
    const run = this.#writes.then(async () => {
      if (this.#fh === null) throw new Error('the audit log is not open')
      const full: AuditEvent = { id: this.#nextId, at: this.#now().toISOString(), ...event }
      await this.#fh.write(JSON.stringify(full) + '\n')
      await this.#fh.datasync()
      this.#nextId++
      this.#keep(full)
      this.onAppend?.(full)
      return full
    })
    this.#writes = run.catch(() => {})
    return run
  }

  /** Newest first. */
  list (opts: { limit?: number, flag?: string } = {}): AuditEvent[] {
    const out: AuditEvent[] = []
    const limit = opts.limit ?? 100
    for (let i = this.#events.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.#events[i]!
      if (opts.flag === undefined || e.flag === opts.flag) out.push(e)
    }
    return out
  }

  async close (): Promise<void> {
    await this.#writes
    await this.#fh?.close()
    this.#fh = null
  }

  #keep (e: AuditEvent): void {
    this.#events.push(e)
    if (this.#events.length > this.#memory * 1.5) this.#events = this.#events.slice(-this.#memory)
  }
}
