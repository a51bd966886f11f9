// Every interval, each rule is evaluated against each flag in its scope, on the sliding windows of that
// flag's routes. A rule that fails `consecutive` evaluations in a row rolls the flag back: the override
// sends its routes to legacy at once, the percentage goes to 0 in the flag source, and the audit event
// records the rule, the observed value, the window and the samples. Only a person resumes it. An
// inconclusive verdict (too few samples) neither counts as a failure nor resets the count.
// Rules of metric promql ask Prometheus instead. Their queries all run at once, while the in-process rules
// are evaluated and act, so that a slow Prometheus delays no rollback of theirs; the tick then waits for
// the answers, at most the query timeout, and the next tick is skipped while it does. Their {{window}}
// starts no earlier than the flag's last resume: Prometheus still holds the requests that made the flag
// roll back, and they must not roll it back again the moment a person resumes it.
import type { FastifyBaseLogger } from 'fastify'
import type { RuleConfig } from '../config/schema.ts'
import type { RolloutControl } from '../control/rollout-control.ts'
import type { GatewayMetrics } from '../metrics/metrics.ts'
import type { TrafficWindow, WindowTotals } from '../metrics/traffic-window.ts'
import type { Route } from '../routing/route-table.ts'
import type { Shadowing } from '../shadow/shadowing.ts'
import type { ErrorReporter } from '../observability/error-reporter.ts'
import type { FlagStates } from '../state/flag-states.ts'
import { expandQuery, type PrometheusQuery } from './prometheus-query.ts'
import { evidenceSeconds, evidenceSlots } from './evidence.ts'
import { evaluate, evaluatePromql, type RuleInput, type Verdict } from './verdict.ts'

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
  /** The Prometheus that rules of metric promql query (PROMETHEUS_URL); the evaluator closes it on stop. */
  prometheus?: PrometheusQuery | null
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
  /** promql only: the queries last sent for this flag, placeholders replaced, and which side of the threshold fails. */
  query?: string
  samples_query?: string
  fail_when?: 'above' | 'below'
}

export class RuleEvaluator {
  readonly #o: RuleEvaluatorOptions
  readonly #now: () => number
  readonly #state = new Map<string, RuleState>()
  readonly #routesOf = new Map<string, Route[]>()
  readonly #routeNames = new Map<string, string[]>()
  #timer: NodeJS.Timeout | null = null
  #running: Promise<void> | null = null

  constructor (opts: RuleEvaluatorOptions) {
    this.#o = opts
    this.#now = opts.now ?? Date.now
    for (const r of opts.routes) {
      if (r.flag === null) continue
      this.#routesOf.set(r.flag, [...(this.#routesOf.get(r.flag) ?? []), r])
    }
    for (const [flag, routes] of this.#routesOf) this.#routeNames.set(flag, routes.map((r) => r.name))
    for (const rule of opts.rules) {
      for (const flag of rule.flags ?? this.#routesOf.keys()) {
        const values = { flag, routes: this.#routeNames.get(flag) ?? [], windowSeconds: rule.window_seconds }
        this.#state.set(key(rule.name, flag), {
          rule: rule.name,
          flag,
          metric: rule.metric,
          threshold: rule.threshold,
          window_seconds: rule.window_seconds,
          consecutive_required: rule.consecutive,
          failing: 0,
          last: null,
          ...(rule.metric === 'promql'
            ? {
                query: expandQuery(rule.query ?? '', values),
                ...(rule.samples_query !== undefined ? { samples_query: expandQuery(rule.samples_query, values) } : {}),
                fail_when: rule.fail_when ?? 'above'
              }
            : {})
        })
      }
    }
  }

  /** The Prometheus the promql rules query, or null: its health is the gateway's dependency on it. */
  get prometheus (): PrometheusQuery | null {
    return this.#o.prometheus ?? null
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
    await this.#o.prometheus?.close()
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
    const asked: Array<{ rule: RuleConfig, state: RuleState, verdict: Promise<Verdict> }> = []
    for (const rule of this.#o.rules) {
      if (rule.metric !== 'promql') continue
      for (const flag of rule.flags ?? this.#routesOf.keys()) {
        const state = this.#state.get(key(rule.name, flag))!
        if (this.#watches(state)) asked.push({ rule, state, verdict: this.#ask(rule, state) })
      }
    }
    const answered = Promise.all(asked.map((a) => a.verdict))
    try {
      for (const rule of this.#o.rules) {
        if (rule.metric === 'promql') continue
        for (const flag of rule.flags ?? this.#routesOf.keys()) {
          const state = this.#state.get(key(rule.name, flag))!
          if (this.#watches(state)) await this.#record(rule, state, evaluate(rule, this.#input(rule, flag)))
        }
      }
    } finally {
      // Even when a rollback fails, the tick lasts until Prometheus has answered, so that ticks never overlap.
      await answered
    }
    const verdicts = await answered
    for (const [i, { rule, state }] of asked.entries()) {
      // Another rule may have rolled the flag back while Prometheus answered.
      if (this.#watches(state)) await this.#record(rule, state, verdicts[i]!)
    }
    await this.#o.after?.()
  }

  snapshot (): RuleState[] {
    return [...this.#state.values()].map((s) => ({ ...s }))
  }

  /** Whether the rule still watches its flag: a rolled-back flag waits for a person; a promoted one has nothing left to roll back to. */
  #watches (state: RuleState): boolean {
    const current = this.#o.states.get(state.flag).state
    if (current !== 'rolled_back' && current !== 'promoted') return true
    state.failing = 0
    return false
  }

  async #record (rule: RuleConfig, state: RuleState, verdict: Verdict): Promise<void> {
    state.last = { ...verdict, at: new Date(this.#now()).toISOString() }
    this.#o.metrics.ruleVerdict(rule.name, state.flag, verdict.status)
    if (verdict.status === 'pass') state.failing = 0
    if (verdict.status !== 'fail') return
    state.failing++
    if (state.failing < rule.consecutive) return
    state.failing = 0
    await this.#rollBack(rule, state, verdict)
  }

  /** A promql rule's verdict on one flag. A query never rejects: Prometheus's failures are answers too. */
  async #ask (rule: RuleConfig, state: RuleState): Promise<Verdict> {
    const prometheus = this.#o.prometheus!
    // In milliseconds once cut by a resume: Prometheus takes ranges such as [1500ms].
    const values = { flag: state.flag, routes: this.#routeNames.get(state.flag) ?? [], windowSeconds: this.#evidence(rule, state.flag) }
    state.query = expandQuery(rule.query!, values)
    if (rule.samples_query !== undefined) state.samples_query = expandQuery(rule.samples_query, values)
    const [value, samples] = await Promise.all([
      prometheus.query(state.query, rule.timeout_ms),
      state.samples_query === undefined ? null : prometheus.query(state.samples_query, rule.timeout_ms)
    ])
    return evaluatePromql(rule, { value, samples })
  }

  /** The rule's window on the flag, cut to the time since a person resumed it (evidence.ts). */
  #evidence (rule: RuleConfig, flag: string): number {
    return evidenceSeconds(this.#o.states.get(flag), rule.window_seconds, this.#now())
  }

  #input (rule: RuleConfig, flag: string): RuleInput {
    const totals: WindowTotals = { legacy: 0, new: 0, legacyErrors: 0, newErrors: 0 }
    let newLatencies: number[] = []
    const shadow = { compared: 0, mismatched: 0 }
    // The windows are kept per second: a window cut by a resume covers the second it began in.
    const seconds = evidenceSlots(this.#o.states.get(flag), rule.window_seconds, this.#now())
    for (const route of this.#routesOf.get(flag) ?? []) {
      const t = this.#o.traffic.totals(route.name, seconds)
      totals.legacy += t.legacy
      totals.new += t.new
      totals.legacyErrors += t.legacyErrors
      totals.newErrors += t.newErrors
      const l = this.#o.traffic.latencies(route.name, 'new', seconds)
      newLatencies = newLatencies.length === 0 ? l : newLatencies.map((c, i) => c + l[i]!)
      const m = this.#o.shadowing?.mismatchRate(route.name, seconds)
      if (m !== null && m !== undefined) {
        shadow.compared += m.compared
        shadow.mismatched += m.mismatched
      }
    }
    return { totals, newLatencies, shadow }
  }

  async #rollBack (rule: RuleConfig, state: RuleState, verdict: Verdict): Promise<void> {
    const flag = state.flag
    const reason = `rule ${rule.name}: ${verdict.summary}, failing ${rule.consecutive} evaluation(s) in a row`
    this.#o.log.warn({ rule: rule.name, flag, observed: verdict.observed, samples: verdict.samples }, `rolling back ${flag}: ${reason}`)
    const details = {
      rule: rule.name,
      metric: rule.metric,
      ...(state.query !== undefined ? { query: state.query, samples_query: state.samples_query ?? null, fail_when: state.fail_when } : {}),
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
