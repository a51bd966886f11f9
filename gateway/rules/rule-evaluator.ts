// Every interval, each rule is evaluated against each flag in its scope, on the sliding windows of that
// flag's routes. A rule that fails `consecutive` evaluations in a row rolls the flag back: the override
// sends its routes to legacy at once, the percentage goes to 0 in the flag source, and the audit event
// records the rule, the observed value, the window and the samples. Only a person resumes it. An
// inconclusive verdict (too few samples) neither counts as a failure nor resets the count.
import type { FastifyBaseLogger } from 'fastify'
import type { RuleConfig } from '../config/schema.ts'
import type { RolloutControl } from '../control/rollout-control.ts'
import type { GatewayMetrics } from '../metrics/metrics.ts'
import type { TrafficWindow, WindowTotals } from '../metrics/traffic-window.ts'
import type { Route } from '../routing/route-table.ts'
import type { Shadowing } from '../shadow/shadowing.ts'
import type { ErrorReporter } from '../observability/error-reporter.ts'
import type { FlagStates } from '../state/flag-states.ts'
import { evaluate, type RuleInput, type Verdict } from './verdict.ts'

/** What the rules read: this replica's windows, or with REDIS_URL every replica's. */
export type RuleWindows = Pick<TrafficWindow, 'totals' | 'latencies'>
export type ShadowWindows = Pick<Shadowing, 'mismatchRate'>

export interface RuleEvaluatorOptions {
  rules: readonly RuleConfig[]
  intervalMs: number
  routes: readonly Route[]
  traffic: RuleWindows
  shadowing: ShadowWindows | null
  /**
   * Whether this replica evaluates now (with REDIS_URL, the one holding the lease), asked before each
   * evaluation; and what to do first when it does (fetch every replica's windows). Both default to this
   * replica alone.
   */
  leader?: { holds: () => boolean, before?: () => Promise<void> }
  states: FlagStates
  control: RolloutControl
  metrics: GatewayMetrics
  log: FastifyBaseLogger
  now?: () => number
  /** Runs after every evaluation, on the fresh verdicts: the step plans. */
  after?: () => Promise<void>
  /** Keep the loop running even without rules (a step plan needs it). */
  always?: boolean
  reporter?: ErrorReporter
}

export interface RuleState {
  rule: string
  flag: string
  metric: RuleConfig['metric']
  threshold: number
  window_seconds: number
  consecutive_required: number
  /** Failing evaluations in a row so far. */
  failing: number
  last: (Verdict & { at: string }) | null
}

export class RuleEvaluator {
  readonly #o: RuleEvaluatorOptions
  readonly #now: () => number
  readonly #state = new Map<string, RuleState>()
  readonly #routesOf = new Map<string, Route[]>()
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null

  constructor (opts: RuleEvaluatorOptions) {
    this.#o = opts
    this.#now = opts.now ?? Date.now
    for (const r of opts.routes) {
      if (r.flag === null) continue
      this.#routesOf.set(r.flag, [...(this.#routesOf.get(r.flag) ?? []), r])
    }
    for (const rule of opts.rules) {
      for (const flag of rule.flags ?? this.#routesOf.keys()) {
        this.#state.set(key(rule.name, flag), {
          rule: rule.name,
          flag,
          metric: rule.metric,
          threshold: rule.threshold,
          window_seconds: rule.window_seconds,
          consecutive_required: rule.consecutive,
          failing: 0,
          last: null
        })
      }
    }
  }

  start (): void {
    if (this.#timer !== null || (this.#o.rules.length === 0 && this.#o.always !== true)) return
    this.#timer = setInterval(() => {
      // One evaluation at a time: a slow rollback (an fsync) delays the next tick instead of overlapping it.
      if (this.#running !== null) return
      this.#running = this.tick().catch((err: unknown) => {
        this.#o.log.error({ err }, 'rule evaluation failed')
        this.#o.reporter?.error(err, { component: 'rules' })
      }).finally(() => { this.#running = null })
    }, this.#o.intervalMs)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    await this.#running
  }

  /** One evaluation of every rule on every flag in its scope; rolls back where a rule has failed enough. */
  async tick (): Promise<void> {
    const leader = this.#o.leader
    if (leader !== undefined) {
      if (!leader.holds()) {
        // Another replica evaluates: counts kept here would be stale when this one takes over.
        for (const s of this.#state.values()) s.failing = 0
        return
      }
      await leader.before?.()
    }
    for (const rule of this.#o.rules) {
      for (const flag of rule.flags ?? this.#routesOf.keys()) {
        const state = this.#state.get(key(rule.name, flag))!
        const current = this.#o.states.get(flag).state
        // A rolled-back flag waits for a person; a promoted one has nothing left to roll back to.
        if (current === 'rolled_back' || current === 'promoted') {
          state.failing = 0
          continue
        }
        const verdict = evaluate(rule, this.#input(rule, flag))
        state.last = { ...verdict, at: new Date(this.#now()).toISOString() }
        this.#o.metrics.ruleVerdict(rule.name, flag, verdict.status)
        if (verdict.status === 'pass') state.failing = 0
        if (verdict.status !== 'fail') continue
        state.failing++
        if (state.failing < rule.consecutive) continue
        state.failing = 0
        await this.#rollBack(rule, flag, verdict)
      }
    }
    await this.#o.after?.()
  }

  snapshot (): RuleState[] {
    return [...this.#state.values()].map((s) => ({ ...s }))
  }

  #input (rule: RuleConfig, flag: string): RuleInput {
    const totals: WindowTotals = { legacy: 0, new: 0, legacyErrors: 0, newErrors: 0 }
    let newLatencies: number[] = []
    const shadow = { compared: 0, mismatched: 0 }
    for (const route of this.#routesOf.get(flag) ?? []) {
      const t = this.#o.traffic.totals(route.name, rule.window_seconds)
      totals.legacy += t.legacy
      totals.new += t.new
      totals.legacyErrors += t.legacyErrors
      totals.newErrors += t.newErrors
      const l = this.#o.traffic.latencies(route.name, 'new', rule.window_seconds)
      newLatencies = newLatencies.length === 0 ? l : newLatencies.map((c, i) => c + l[i]!)
      const m = this.#o.shadowing?.mismatchRate(route.name, rule.window_seconds)
      if (m !== null && m !== undefined) {
        shadow.compared += m.compared
        shadow.mismatched += m.mismatched
      }
    }
    return { totals, newLatencies, shadow }
  }

  async #rollBack (rule: RuleConfig, flag: string, verdict: Verdict): Promise<void> {
    const reason = `rule ${rule.name}: ${verdict.summary}, failing ${rule.consecutive} evaluation(s) in a row`
    this.#o.log.warn({ rule: rule.name, flag, observed: verdict.observed, samples: verdict.samples }, `rolling back ${flag}: ${reason}`)
    const details = {
      rule: rule.name,
      metric: rule.metric,
      observed: verdict.observed,
      threshold: rule.threshold,
      window_seconds: rule.window_seconds,
      samples: verdict.samples,
      consecutive: rule.consecutive
    }
    await this.#o.control.rollback(flag, { actor: `rule:${rule.name}`, source: 'rule-evaluator', reason }, details)
  }
}

function key (rule: string, flag: string): string {
  return `${rule}\0${flag}`
}
