// Step plans: a flag goes through its percentages on its own, one step at a time. A step is left only when
// it has been held for hold_seconds, new has served min_requests during it, and every rule watching the
// flag *passes*: an inconclusive verdict holds the step, and a failing one is the rules' to act on (they roll
// back, which ends the plan's progress until a person resumes). Reaching 100 % promotes the flag. A paused,
// rolled-back or promoted flag does not move. A percentage changed by hand starts the step over. A person
// starts a plan by setting its first step.
import type { FastifyBaseLogger } from 'fastify'
import type { PlanConfig } from '../config/schema.ts'
import type { RolloutControl } from '../control/rollout-control.ts'
import type { FlagSource } from '../flags/flag-source.ts'
import type { TrafficWindow } from '../metrics/traffic-window.ts'
import type { Route } from '../routing/route-table.ts'
import type { FlagStates } from '../state/flag-states.ts'
import type { RuleState } from './rule-evaluator.ts'

export interface StepPlansOptions {
  plans: readonly PlanConfig[]
  routes: readonly Route[]
  /** Requests each backend has answered per route: this replica's, or with REDIS_URL every replica's. */
  traffic: Pick<TrafficWindow, 'cumulative'>
  flags: FlagSource
  states: FlagStates
  control: RolloutControl
  /** The rules' latest verdicts. */
  verdicts: () => readonly RuleState[]
  log: FastifyBaseLogger
  now?: () => number
}

export interface PlanStatus {
  flag: string
  steps: readonly number[]
  percent: number
  state: string
  /** The next percentage, or null once the plan is through. */
  next: number | null
  step_started_at: string
  hold_remaining_seconds: number
  requests: { served: number, needed: number }
  /** What the next step waits for; empty when it is about to be taken. */
  waiting_for: string[]
}

interface Progress { percent: number, since: number, baseline: number }

export class StepPlans {
  readonly #o: StepPlansOptions
  readonly #now: () => number
  readonly #progress = new Map<string, Progress>()

  constructor (opts: StepPlansOptions) {
    this.#o = opts
    this.#now = opts.now ?? Date.now
  }

  async tick (): Promise<void> {
    for (const plan of this.#o.plans) {
      const status = this.#status(plan)
      if (status.state !== 'running' || status.waiting_for.length > 0) continue
      const who = { actor: 'plan', source: 'step-plan', reason: '' }
      if (status.next === null) {
        if (status.percent === 100) {
          await this.#o.control.promote(plan.flag, { ...who, reason: `plan done: ${plan.steps.join(' → ')} %, every rule passing` })
        }
        continue
      }
      const k = plan.steps.indexOf(status.next) + 1
      const reason = `plan step ${k} of ${plan.steps.length}: ${status.percent} → ${status.next} % after ${plan.hold_seconds} s and ` +
        `${status.requests.served} requests to new, every rule passing`
      this.#o.log.info({ flag: plan.flag, from: status.percent, to: status.next }, reason)
      await this.#o.control.setPercent(plan.flag, status.next, { ...who, reason })
    }
  }

  snapshot (): PlanStatus[] {
    return this.#o.plans.map((p) => this.#status(p))
  }

  #status (plan: PlanConfig): PlanStatus {
    const now = this.#now()
    const percent = this.#o.flags.percent(plan.flag)
    const served = this.#servedByNew(plan.flag)
    let progress = this.#progress.get(plan.flag)
    if (progress === undefined || progress.percent !== percent) {
      // A new step, by the plan or by hand: its hold and its requests start now.
      progress = { percent, since: now, baseline: served }
      this.#progress.set(plan.flag, progress)
    }
    const state = this.#o.states.get(plan.flag).state
    const next = plan.steps.find((s) => s > percent) ?? null
    const holdRemaining = Math.max(0, plan.hold_seconds - (now - progress.since) / 1000)
    const requests = { served: served - progress.baseline, needed: plan.min_requests }
    const waiting: string[] = []
    // Below its first step no evidence can exist (new serves nothing at 0 %): a person starts the plan.
    if (percent < plan.steps[0]!) waiting.push(`a person to start it: switchyard rollout ${plan.flag} ${plan.steps[0]!} --reason ...`)
    if (state !== 'running') waiting.push(`the flag is ${state}`)
    if (holdRemaining > 0) waiting.push(`the hold (${Math.ceil(holdRemaining)} s left)`)
    if (requests.served < requests.needed) waiting.push(`requests to new (${requests.served} of ${requests.needed})`)
    for (const r of this.#o.verdicts()) {
      if (r.flag !== plan.flag || r.last?.status === 'pass') continue
      waiting.push(`rule ${r.rule} to pass (${r.last === null ? 'not evaluated yet' : `${r.last.status}: ${r.last.summary}`})`)
    }
    return {
      flag: plan.flag,
      steps: plan.steps,
      percent,
      state,
      next,
      step_started_at: new Date(progress.since).toISOString(),
      hold_remaining_seconds: Math.ceil(holdRemaining),
      requests,
      waiting_for: waiting
    }
  }

  #servedByNew (flag: string): number {
    let n = 0
    for (const r of this.#o.routes) if (r.flag === flag) n += this.#o.traffic.cumulative(r.name).new
    return n
  }
}
