// Every metric of the DESIGN contract that the gateway produces, declared once against an injected
// registry. Label values are bounded: route names, backend ids, reasons, methods, status codes and error
// kinds. Children are cached so the hot path does one Map lookup instead of hashing a label object.
import client, { type Registry, type Counter, type Histogram, type Gauge } from 'prom-client'
import type { BackendId } from '../config/schema.ts'
import type { UpstreamErrorKind } from '../proxy/upstream-error.ts'

export type Reason = 'version' | 'override' | 'flag' | 'default' | 'failover'
export type ShadowResult = 'match' | 'mismatch' | 'error' | 'dropped'
/** Why a shadow was not compared: a bounded set, so that the label stays bounded. */
export type ShadowDropReason = 'concurrency' | 'buffer_budget' | 'too_large' | 'client_aborted' | 'primary_failed' | 'failover' | 'shutdown'

// Upstream latencies from sub-millisecond to the longest upstream timeout.
export const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

export interface MetricsOptions {
  /** Reads the current percentage of every flag, at scrape time. */
  rolloutPercents: () => Iterable<[string, number]>
  buckets?: number[]
  /** Whether each dependency the gateway is configured with (redis, unleash, prometheus) answers, at scrape time. */
  dependencies?: () => Iterable<[string, boolean]>
  /** Whether this replica holds the rule evaluator's lease now, at scrape time. */
  leader?: () => boolean
  /** Collect Node's default process metrics (on by default). */
  processMetrics?: boolean
}

export class GatewayMetrics {
  readonly registry: Registry
  readonly #requests: Counter<'route' | 'backend' | 'method' | 'code'>
  readonly #duration: Histogram<'route' | 'backend'>
  readonly #decisions: Counter<'route' | 'backend' | 'reason'>
  readonly #upstreamErrors: Counter<'route' | 'backend' | 'kind'>
  readonly #shadows: Counter<'route' | 'result'>
  readonly #shadowDrops: Counter<'route' | 'reason'>
  readonly #shadowErrors: Counter<'route' | 'kind'>
  readonly #shadowFields: Counter<'route' | 'field' | 'class'>
  readonly #shadowDuration: Histogram<'route' | 'backend'>
  readonly #rollbacks: Counter<'flag' | 'rule'>
  readonly #verdicts: Counter<'rule' | 'flag' | 'verdict'>
  readonly #dependencyErrors: Counter<'dependency'>
  readonly #children = new Map<string, any>()

  constructor (registry: Registry, opts: MetricsOptions) {
    this.registry = registry
    const registers = [registry]
    this.#requests = new client.Counter({
      name: 'switchyard_requests_total',
      help: 'Requests answered by each backend, by route, method and status code (failovers count once per backend tried).',
      labelNames: ['route', 'backend', 'method', 'code'],
      registers
    })
    this.#duration = new client.Histogram({
      name: 'switchyard_request_duration_seconds',
      help: 'Time from the request reaching the gateway to the end of the upstream response, by route and backend.',
      labelNames: ['route', 'backend'],
      buckets: opts.buckets ?? DEFAULT_BUCKETS,
      registers
    })
    this.#decisions = new client.Counter({
      name: 'switchyard_decisions_total',
      help: 'Routing decisions by route, chosen backend and reason (version, override, flag, default, failover).',
      labelNames: ['route', 'backend', 'reason'],
      registers
    })
    this.#upstreamErrors = new client.Counter({
      name: 'switchyard_upstream_errors_total',
      help: 'Upstream transport failures (refused, reset, timeouts, protocol errors) by route, backend and kind.',
      labelNames: ['route', 'backend', 'kind'],
      registers
    })
    this.#shadows = new client.Counter({
      name: 'switchyard_shadow_total',
      help: 'Shadowed requests by route and result: match, mismatch (after normalisation and noise), error (the shadow failed), dropped (not compared: see switchyard_shadow_dropped_total).',
      labelNames: ['route', 'result'],
      registers
    })
    this.#shadowDrops = new client.Counter({
      name: 'switchyard_shadow_dropped_total',
      help: 'Shadows not compared, by route and reason (concurrency, buffer_budget, too_large, client_aborted, primary_failed, failover, shutdown).',
      labelNames: ['route', 'reason'],
      registers
    })
    this.#shadowErrors = new client.Counter({
      name: 'switchyard_shadow_errors_total',
      help: 'Shadow requests that failed, by route and kind (timeout, refused, reset, ...).',
      labelNames: ['route', 'kind'],
      registers
    })
    this.#shadowFields = new client.Counter({
      name: 'switchyard_shadow_fields_total',
      help: 'Differing fields by route, field (array indexes as *; past the configured number of fields, "other") and class (mismatch, or noise learned from two answers of one backend).',
      labelNames: ['route', 'field', 'class'],
      registers
    })
    this.#shadowDuration = new client.Histogram({
      name: 'switchyard_shadow_duration_seconds',
      help: 'Time a shadow request took, body included, by route and the backend it went to.',
      labelNames: ['route', 'backend'],
      buckets: opts.buckets ?? DEFAULT_BUCKETS,
      registers
    })
    this.#rollbacks = new client.Counter({
      name: 'switchyard_rollbacks_total',
      help: 'Rollbacks by flag and the rule that caused them ("manual" for a person\'s); a flag already rolled back is not counted again.',
      labelNames: ['flag', 'rule'],
      registers
    })
    this.#verdicts = new client.Counter({
      name: 'switchyard_rule_evaluations_total',
      help: 'Rule evaluations by rule, flag and verdict (pass, fail, inconclusive: too few samples in the window).',
      labelNames: ['rule', 'flag', 'verdict'],
      registers
    })
    const percents = opts.rolloutPercents
    const gauge: Gauge<'flag'> = new client.Gauge({
      name: 'switchyard_rollout_percent',
      help: 'The share of sticky keys a flag sends to the new backend, in percent.',
      labelNames: ['flag'],
      registers,
      collect () {
        gauge.reset()
        for (const [flag, pct] of percents()) gauge.set({ flag }, pct)
      }
    })
    const dependencies = opts.dependencies ?? (() => [])
    const up: Gauge<'dependency'> = new client.Gauge({
      name: 'switchyard_dependency_up',
      help: 'Whether a dependency of the gateway answers (1) or not (0): redis, unleash, prometheus. While one is down the gateway routes on the last state it knew.',
      labelNames: ['dependency'],
      registers,
      collect () {
        up.reset()
        for (const [dependency, ok] of dependencies()) up.set({ dependency }, ok ? 1 : 0)
      }
    })
    this.#dependencyErrors = new client.Counter({
      name: 'switchyard_dependency_errors_total',
      help: 'Failed calls to a dependency of the gateway (redis, unleash, prometheus).',
      labelNames: ['dependency'],
      registers
    })
    const leader = opts.leader ?? (() => true)
    const lease: Gauge = new client.Gauge({
      name: 'switchyard_rule_evaluator_leader',
      help: 'Whether this replica evaluates the rollback rules now (1): with REDIS_URL one replica at a time holds the lease.',
      registers,
      collect () { lease.set(leader() ? 1 : 0) }
    })
    if (opts.processMetrics !== false) client.collectDefaultMetrics({ register: registry })
  }

  decision (route: string, backend: BackendId, reason: Reason): void {
    this.#child(this.#decisions, `d\0${route}\0${backend}\0${reason}`, [route, backend, reason]).inc()
  }

  response (route: string, backend: BackendId, method: string, code: number, seconds: number): void {
    const m = KNOWN_METHODS.has(method) ? method : 'OTHER'
    this.#child(this.#requests, `r\0${route}\0${backend}\0${m}\0${code}`, [route, backend, m, String(code)]).inc()
    this.#child(this.#duration, `h\0${route}\0${backend}`, [route, backend]).observe(seconds)
  }

  upstreamError (route: string, backend: BackendId, kind: UpstreamErrorKind): void {
    this.#child(this.#upstreamErrors, `e\0${route}\0${backend}\0${kind}`, [route, backend, kind]).inc()
  }

  shadow (route: string, result: ShadowResult): void {
    this.#child(this.#shadows, `s\0${route}\0${result}`, [route, result]).inc()
  }

  shadowDropped (route: string, reason: ShadowDropReason): void {
    this.shadow(route, 'dropped')
    this.#child(this.#shadowDrops, `sd\0${route}\0${reason}`, [route, reason]).inc()
  }

  shadowError (route: string, kind: string): void {
    this.shadow(route, 'error')
    this.#child(this.#shadowErrors, `se\0${route}\0${kind}`, [route, kind]).inc()
  }

  /** `field` must already be bounded: a counted field name, or 'other'. */
  shadowField (route: string, field: string, kind: 'mismatch' | 'noise'): void {
    this.#child(this.#shadowFields, `sf\0${route}\0${field}\0${kind}`, [route, field, kind]).inc()
  }

  shadowDuration (route: string, backend: BackendId, seconds: number): void {
    this.#child(this.#shadowDuration, `sh\0${route}\0${backend}`, [route, backend]).observe(seconds)
  }

  /**
   * Starts each flag's rollback counters at 0, for each rule that watches it and for a person's ("manual"),
   * so that increase() sees the first rollback, even the first after a restart.
   */
  declareRollbacks (pairs: Iterable<[string, string]>): void {
    for (const [flag, rule] of pairs) this.#child(this.#rollbacks, `rb\0${flag}\0${rule}`, [flag, rule]).inc(0)
  }

  rollback (flag: string, rule: string): void {
    this.#child(this.#rollbacks, `rb\0${flag}\0${rule}`, [flag, rule]).inc()
  }

  ruleVerdict (rule: string, flag: string, verdict: 'pass' | 'fail' | 'inconclusive'): void {
    this.#child(this.#verdicts, `rv\0${rule}\0${flag}\0${verdict}`, [rule, flag, verdict]).inc()
  }

  dependencyError (dependency: 'redis' | 'unleash' | 'prometheus'): void {
    this.#child(this.#dependencyErrors, `de\0${dependency}`, [dependency]).inc()
  }

  #child (metric: Counter<any> | Histogram<any>, key: string, labels: string[]): any {
    let c = this.#children.get(key)
    if (c === undefined) {
      c = metric.labels(...labels)
      this.#children.set(key, c)
    }
    return c
  }
}
