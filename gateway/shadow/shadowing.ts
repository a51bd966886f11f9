// Shadow traffic for the whole gateway: which requests are shadowed, the pools the shadows go through, the
// shared byte budget, and what happens to each result (comparison, noise, statistics, metrics). The
// client's exchange only asks begin() for a tap; everything else happens off its path, after its answer.
import { Pool, type Dispatcher } from 'undici'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { GatewayConfig } from '../config/load.ts'
import type { BackendId, ShadowConfig } from '../config/schema.ts'
import type { GatewayMetrics } from '../metrics/metrics.ts'
import type { Decision } from '../routing/decide.ts'
import type { Route } from '../routing/route-table.ts'
import type { StickyKey } from '../routing/sticky-key.ts'
import type { Upstream } from '../proxy/upstream.ts'
import { ByteBudget } from './byte-budget.ts'
import { compareAnswers } from './compare.ts'
import { FieldCounts } from './field-counts.ts'
import { FetchRegistry, type ShadowRequest } from './shadow-fetch.ts'
import { ShadowJob, type JobOutcome } from './shadow-job.ts'
import { ShadowStats, type MismatchRate, type ShadowSnapshot } from './shadow-stats.ts'
import type { Sample } from './sample-ring.ts'
import type { CompareRules } from './types.ts'
import type { ErrorReporter } from '../observability/error-reporter.ts'

export interface ShadowingOptions {
  config: GatewayConfig
  upstreams: Readonly<Record<BackendId, Upstream>>
  /** Injected dispatchers (tests) are used for shadows too; otherwise shadows get pools of their own. */
  dispatchers?: Partial<Record<BackendId, Dispatcher>>
  metrics: GatewayMetrics
  log: FastifyBaseLogger
  /** The rollout's sticky key, which the sample is drawn by. */
  sticky: StickyKey
  now?: () => number
  /** Which shadowed requests also learn noise; injected so that tests can pin it. */
  random?: () => number
  reporter?: ErrorReporter
  /** Told of every comparison (with REDIS_URL: the mismatch counts shared with the other replicas). */
  onCompared?: (route: string, mismatched: boolean) => void
}

interface ShadowRequestInfo {
  method: string
  /** The path forwarded upstream, query string included. */
  path: string
  headers: Record<string, string | string[]>
  hasBody: boolean
  requestId: string
}

export interface RouteShadowView extends ShadowSnapshot {
  route: string
  percent: number
  methods: string[]
  side_effect_free: boolean
  noise_percent: number
  inflight: number
}

interface Plan {
  readonly route: string
  readonly config: ShadowConfig
  readonly rules: CompareRules
  readonly methods: ReadonlySet<string>
  readonly stats: ShadowStats
  /** The bounded labels of noise fields in the metrics: the first `fields` by name, then 'other'. */
  readonly noiseLabels: FieldCounts
  inflight: number
}

export class Shadowing {
  readonly budget: ByteBudget
  readonly #plans = new Map<string, Plan>()
  readonly #o: ShadowingOptions
  readonly #random: () => number
  readonly #dispatchers: Record<BackendId, Dispatcher>
  readonly #owned: Dispatcher[] = []
  readonly #fetches = new FetchRegistry()

  constructor (opts: ShadowingOptions) {
    this.#o = opts
    this.#random = opts.random ?? Math.random
    const g = opts.config.shadow
    this.budget = new ByteBudget(g.buffer_budget_bytes)
    let connections = 0
    for (const r of opts.config.routes) {
      if (r.shadow === undefined) continue
      const c = r.shadow
      const rules: CompareRules = {
        headers: c.compare.headers,
        ignore: c.compare.ignore,
        tolerance: c.compare.tolerance,
        unordered: c.compare.unordered
      }
      const stats = new ShadowStats({
        fieldLimit: g.fields,
        samples: { capacity: g.samples, bodyBytes: g.sample_body_bytes, totalBytes: g.samples_bytes },
        redact: c.redact,
        windowSeconds: g.window_seconds,
        now: opts.now
      })
      this.#plans.set(r.name, { route: r.name, config: c, rules, methods: new Set(c.methods), stats, noiseLabels: new FieldCounts({ limit: g.fields }), inflight: 0 })
      connections += c.concurrency * (c.noise_percent > 0 ? 2 : 1)
    }
    // Pools of their own, so that shadows never take the sockets the clients' requests need.
    const pool = (id: BackendId): Dispatcher => {
      const injected = opts.dispatchers?.[id]
      if (injected !== undefined) return injected
      const b = opts.config.backends[id]
      const p = new Pool(opts.upstreams[id].origin, {
        connections: Math.max(1, Math.min(connections, 1024)),
        keepAliveTimeout: b.keep_alive_ms,
        connect: { timeout: b.timeouts.connect_ms },
        pipelining: 1
      })
      this.#owned.push(p)
      return p
    }
    this.#dispatchers = { legacy: pool('legacy'), new: pool('new') }
  }

  /**
   * The tap for this request if it is shadowed, else null. A request pinned to a version is never shadowed:
   * the other backend does not speak that version. Sampling hashes the sticky key with the route, so a
   * user is always, or never, shadowed at a given percentage, independently of the rollout's own buckets.
   */
  begin (route: Route, decision: Decision, client: FastifyRequest, path: string, headers: Record<string, string | string[]>, hasBody: boolean): ShadowJob | null {
    // On the request path: the cheap refusals come first, and nothing is built for a request not shadowed.
    const plan = this.#plans.get(route.name)
    if (plan === undefined || plan.config.percent === 0 || decision.reason === 'version' || this.#fetches.closed) return null
    const method = client.raw.method ?? 'GET'
    if (!plan.methods.has(method)) return null
    if (sampleBucket(this.#o.sticky.of(client.raw.headers, client.ip), route.name) >= plan.config.percent) return null
    if (plan.inflight >= plan.config.concurrency) {
      this.#record(plan, { kind: 'dropped', reason: 'concurrency' })
      return null
    }
    plan.inflight++
    const request: ShadowRequestInfo = { method, path, headers, hasBody, requestId: client.id }
    const primary = decision.backend
    const limits = { timeoutMs: plan.config.timeout_ms, maxBytes: plan.config.max_body_bytes, budget: this.budget }
    return new ShadowJob({
      primary,
      shadow: primary === 'legacy' ? 'new' : 'legacy',
      request: { method: request.method, path: request.path, headers: { ...request.headers } },
      hasBody: request.hasBody,
      learnNoise: plan.config.noise_percent > 0 && this.#random() * 100 < plan.config.noise_percent,
      maxBytes: plan.config.max_body_bytes,
      budget: this.budget,
      send: (backend: BackendId, req: ShadowRequest) => {
        const fetch = this.#fetches.fetch(this.#dispatchers[backend], this.#o.upstreams[backend], req, limits)
        return {
          outcome: fetch.outcome.then((outcome) => {
            if (outcome.ok) this.#o.metrics.shadowDuration(route.name, backend, outcome.seconds)
            return outcome
          }),
          cancel: fetch.cancel
        }
      },
      failed: (err) => {
        this.#o.log.error({ err, route: route.name }, 'shadow failed unexpectedly')
        this.#o.reporter?.error(err, { component: 'shadow', route: route.name })
      },
      // The slot is free only once the job's fetches have ended too: a shadow cancelled on the wire still
      // holds a socket of the shadow pool until then.
      settled: () => { plan.inflight-- },
      done: (outcome, release) => {
        if (outcome.kind !== 'compare') {
          this.#record(plan, outcome)
          return
        }
        // Compared on a later turn of the event loop, so that the client's exchange has finished first.
        setImmediate(() => {
          try {
            this.#compare(plan, outcome, primary, request)
          } catch (err) {
            this.#o.log.error({ err, route: plan.route }, 'shadow comparison failed')
            this.#o.reporter?.error(err, { component: 'shadow', route: plan.route })
            this.#record(plan, { kind: 'error', error: 'other' })
          } finally {
            release()
          }
        })
      }
    })
  }

  /** The mismatch rate of a route over the last `seconds` (at most the configured window), for the rules. */
  mismatchRate (route: string, seconds?: number): MismatchRate | null {
    return this.#plans.get(route)?.stats.mismatchRate(seconds) ?? null
  }

  routes (): RouteShadowView[] {
    return [...this.#plans.values()].map((p) => this.#view(p))
  }

  route (name: string): { view: RouteShadowView, samples: Sample[] } | null {
    const plan = this.#plans.get(name)
    return plan === undefined ? null : { view: this.#view(plan), samples: plan.stats.samples() }
  }

  /** Stops shadowing: fetches in flight end as dropped ('shutdown'), and the shadow pools close. */
  async close (): Promise<void> {
    this.#fetches.close()
    await Promise.all(this.#owned.map((d) => d.close().catch(() => {})))
  }

  #compare (plan: Plan, outcome: Extract<JobOutcome, { kind: 'compare' }>, primaryBackend: BackendId, request: ShadowRequestInfo): void {
    if (outcome.second !== null) plan.stats.learnNoise(compareAnswers(outcome.primary, outcome.second, plan.rules))
    const differences = compareAnswers(outcome.primary, outcome.shadow, plan.rules)
    const metrics = this.#o.metrics
    const recorded = differences.length === 0
      ? plan.stats.record({ result: 'match' })
      : plan.stats.record({
        result: 'mismatch',
        differences,
        sample: {
          request: { method: request.method, path: request.path, requestId: request.requestId },
          primary: { ...outcome.primary, backend: primaryBackend },
          shadow: { ...outcome.shadow, backend: primaryBackend === 'legacy' ? 'new' : 'legacy' }
        }
      })
    metrics.shadow(plan.route, recorded.result === 'mismatch' ? 'mismatch' : 'match')
    this.#o.onCompared?.(plan.route, recorded.result === 'mismatch')
    for (const field of recorded.mismatchFields) metrics.shadowField(plan.route, field, 'mismatch')
    for (const field of recorded.noiseFields) metrics.shadowField(plan.route, plan.noiseLabels.add(field), 'noise')
  }

  #record (plan: Plan, outcome: Exclude<JobOutcome, { kind: 'compare' }>): void {
    if (outcome.kind === 'dropped') {
      plan.stats.record({ result: 'dropped', reason: outcome.reason })
      this.#o.metrics.shadowDropped(plan.route, outcome.reason)
    } else {
      plan.stats.record({ result: 'error', reason: outcome.error })
      this.#o.metrics.shadowError(plan.route, outcome.error)
    }
  }

  #view (p: Plan): RouteShadowView {
    return {
      route: p.route,
      percent: p.config.percent,
      methods: [...p.config.methods],
      side_effect_free: p.config.side_effect_free,
      noise_percent: p.config.noise_percent,
      inflight: p.inflight,
      ...p.stats.snapshot()
    }
  }
}

/**
 * A stable number in [0, 100) for a sticky key on a route: MurmurHash3 (x86, 32-bit) of the UTF-16 code
 * units of `route + "\0" + stickyKey`, seed 0, scaled. It runs for every request of a shadowed route, so
 * it must cost a fraction of a microsecond (SHA-1 through node:crypto costs several); it needs to be
 * uniform and reproducible, not secret.
 */
export function sampleBucket (stickyKey: string, route: string): number {
  return (murmur3(`${route}\0${stickyKey}`) / 0x1_0000_0000) * 100
}

function murmur3 (key: string): number {
  let h = 0
  const n = key.length
  const blocks = n - (n % 2)
  // Two UTF-16 code units make one 32-bit block.
  for (let i = 0; i < blocks; i += 2) {
    let k = (key.charCodeAt(i) & 0xffff) | ((key.charCodeAt(i + 1) & 0xffff) << 16)
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  if (n % 2 === 1) {
    let k = key.charCodeAt(n - 1) & 0xffff
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
  }
  h ^= n * 2
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
