// The release manager's levers, independent of HTTP: set a percentage, roll back, resume. Each change is
// applied to its source of truth first and written to the audit log before it is acknowledged. Calls are
// serialised, so two operators cannot interleave a read-modify-write.
import { errors } from '../errors.ts'
import type { FlagSource } from '../flags/flag-source.ts'
import type { AuditEvent, AuditLog } from '../state/audit-log.ts'
import type { FlagStates, RolloutState } from '../state/flag-states.ts'

export interface Actor {
  actor: string
  source: string
  reason: string
}

export interface SetPercentResult { flag: string, percent: number, previous: number, changed: boolean, event: AuditEvent | null }
export interface StateChangeResult { flag: string, state: RolloutState, percent: number, previous: number, event: AuditEvent }

export class RolloutControl {
  readonly #flags: FlagSource
  readonly #states: FlagStates
  readonly #audit: AuditLog
  readonly #log: { error: (o: object, msg: string) => void }
  #queue: Promise<unknown> = Promise.resolve()

  readonly #onRollback: (flag: string, rule: string, event: AuditEvent) => void
  readonly #fresh: (flag: string) => Promise<void>

  constructor (deps: {
    flags: FlagSource
    states: FlagStates
    audit: AuditLog
    log: { error: (o: object, msg: string) => void }
    /** Runs before each change, with the flag: with several replicas, reads its latest state from Redis. */
    fresh?: (flag: string) => Promise<void>
    /** Told of each flag that goes from another state to rolled_back, by which rule ("manual" for a person), and its event. */
    onRollback?: (flag: string, rule: string, event: AuditEvent) => void
  }) {
    this.#flags = deps.flags
    this.#states = deps.states
    this.#audit = deps.audit
    this.#log = deps.log
    this.#onRollback = deps.onRollback ?? (() => {})
    this.#fresh = deps.fresh ?? (async () => {})
  }

  setPercent (flag: string, percent: number, who: Actor): Promise<SetPercentResult> {
    return this.#serial(async () => {
      await this.#begin(flag)
      const state = this.#states.get(flag).state
      if (state === 'rolled_back') throw errors.FLAG_ROLLED_BACK(flag)
      const previous = this.#flags.percent(flag)
      if (previous === percent) return { flag, percent, previous, changed: false, event: null }
      let percentError: string | null = null
      try {
        await this.#flags.setPercent(flag, percent)
      } catch (err) {
        // A source that could not store it may still apply it here and retry (an Unleash server away, for a
        // 0 %): then the change holds, and is recorded with why it is not stored yet. Otherwise nothing changed.
        if (this.#flags.percent(flag) !== percent) throw err
        percentError = (err as Error).message
        this.#log.error({ err, flag }, `${flag} is at ${percent} % here, but its flag source has not stored it yet`)
      }
      let event: AuditEvent
      try {
        event = await this.#audit.append({ ...who, action: 'set_percent', flag, from: previous, to: percent, ...(percentError !== null ? { details: { percent_error: percentError } } : {}) })
      } catch (err) {
        await this.#flags.setPercent(flag, previous).catch((undo) => this.#log.error({ err: undo, flag }, 'could not undo a percentage change after the audit log failed'))
        throw Object.assign(errors.AUDIT_WRITE_FAILED((err as Error).message), { cause: err })
      }
      return { flag, percent, previous, changed: true, event }
    })
  }

  /**
   * Idempotent: a flag already rolled back stays so, and the call is still recorded. `details` (a rule's
   * evidence) goes into the audit event.
   */
  rollback (flag: string, who: Actor, details?: { rule: string } & Record<string, unknown>): Promise<StateChangeResult> {
    return this.#serial(async () => {
      await this.#begin(flag)
      const before = { state: this.#states.get(flag).state, percent: this.#flags.percent(flag) }
      // The override routes everything to legacy at once; the percentage follows in the flag source.
      await this.#states.set(flag, { state: 'rolled_back', reason: who.reason, actor: who.actor })
      let percentError: string | null = null
      if (before.percent !== 0) {
        await this.#flags.setPercent(flag, 0).catch((err: Error) => {
          percentError = err.message
          this.#log.error({ err, flag }, 'rolled back by override, but the flag source did not take 0%')
        })
      }
      const to = { state: 'rolled_back', percent: this.#flags.percent(flag), ...(percentError !== null ? { percent_error: percentError } : {}) }
      const event = await this.#audit.append({ ...who, action: 'rollback', flag, from: before, to, ...(details !== undefined ? { details } : {}) })
      if (before.state !== 'rolled_back') this.#onRollback(flag, details?.rule ?? 'manual', event)
      return { flag, state: 'rolled_back', percent: to.percent, previous: before.percent, event }
    })
  }

  /** Holds the flag where it is: a step plan does not advance it. Idempotent while paused. */
  pause (flag: string, who: Actor): Promise<StateChangeResult> {
    return this.#serial(async () => {
      await this.#begin(flag)
      const current = this.#states.get(flag).state
      if (current !== 'running' && current !== 'paused') throw errors.FLAG_NOT_RUNNING(flag, current, 'paused')
      const percent = this.#flags.percent(flag)
      if (current === 'running') await this.#states.set(flag, { state: 'paused', reason: who.reason, actor: who.actor })
      const event = await this.#audit.append({ ...who, action: 'pause', flag, from: { state: current, percent }, to: { state: 'paused', percent } })
      return { flag, state: 'paused', percent, previous: percent, event }
    })
  }

  /** Sends every sticky key of the flag to new (100 %) and ends its plan: the rollout is done. */
  promote (flag: string, who: Actor): Promise<StateChangeResult> {
    return this.#serial(async () => {
      await this.#begin(flag)
      const current = this.#states.get(flag).state
      if (current === 'rolled_back') throw errors.FLAG_NOT_RUNNING(flag, current, 'promoted')
      const previous = this.#flags.percent(flag)
      if (previous !== 100) await this.#flags.setPercent(flag, 100)
      await this.#states.set(flag, { state: 'promoted', reason: who.reason, actor: who.actor })
      const event = await this.#audit.append({ ...who, action: 'promote', flag, from: { state: current, percent: previous }, to: { state: 'promoted', percent: 100 } })
      return { flag, state: 'promoted', percent: 100, previous, event }
    })
  }

  resume (flag: string, who: Actor): Promise<StateChangeResult> {
    return this.#serial(async () => {
      await this.#begin(flag)
      const current = this.#states.get(flag).state
      if (current !== 'rolled_back' && current !== 'paused') throw errors.FLAG_NOT_ROLLED_BACK(flag, current)
      const percent = this.#flags.percent(flag)
      await this.#states.set(flag, { state: 'running', reason: who.reason, actor: who.actor })
      const event = await this.#audit.append({ ...who, action: 'resume', flag, from: { state: current, percent }, to: { state: 'running', percent } })
      return { flag, state: 'running', percent, previous: percent, event }
    })
  }

  /** Every change starts here, in the queue: the flag exists, and this replica knows its latest state. */
  async #begin (flag: string): Promise<void> {
    this.#mustExist(flag)
    await this.#fresh(flag)
  }

  #mustExist (flag: string): void {
    if (!this.#flags.has(flag)) throw errors.UNKNOWN_FLAG(flag, this.#flags.names())
  }

  #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn)
    this.#queue = run.catch(() => {})
    return run
  }
}
