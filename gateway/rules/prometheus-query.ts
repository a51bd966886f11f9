// Instant PromQL queries for the rollback rules of metric promql: one POST to /api/v1/query per query, with
// a timeout, and the answer turned into one number or the reason there is none. A Prometheus that is
// unreachable, failing (5xx) or slow makes a rule inconclusive, never fail and never pass: a monitoring
// outage must neither roll a route back nor let a step plan advance. The outage is logged when it begins
// and when it ends, not at every query, and every failed call is counted.
import type { FastifyBaseLogger } from 'fastify'
import { Pool, type Dispatcher } from 'undici'
import { DEFAULT_PROMQL_TIMEOUT_MS } from '../config/schema.ts'
import { errors, type SwitchyardError } from '../errors.ts'
import type { GatewayMetrics } from '../metrics/metrics.ts'

/** Answers larger than this cannot be one series: the query forgot to aggregate. */
export const MAX_ANSWER_BYTES = 1024 * 1024
const DEFAULT_CONNECTIONS = 8

/**
 * What a query gave: a finite number; no number (nothing matched, NaN or an infinity); an error of the
 * query, which its rule must fix; or Prometheus unavailable.
 */
export type QueryAnswer =
  | { kind: 'value', value: number }
  | { kind: 'no_data', why: string }
  | { kind: 'error', error: SwitchyardError }
  | { kind: 'unavailable', error: SwitchyardError }

export interface PrometheusQueryOptions {
  /** PROMETHEUS_URL, with an optional base path (http://host/prometheus). */
  url: string
  metrics: Pick<GatewayMetrics, 'dependencyError'>
  log: FastifyBaseLogger
  /** For a query whose rule sets no timeout_ms. */
  timeoutMs?: number
  /** Where the requests go; by default a pool of its own, closed by close(). */
  dispatcher?: Dispatcher
}

export class PrometheusQuery {
  readonly url: string
  readonly #origin: string
  readonly #path: string
  readonly #dispatcher: Dispatcher
  readonly #own: boolean
  readonly #timeoutMs: number
  readonly #o: PrometheusQueryOptions
  #healthy = true

  constructor (opts: PrometheusQueryOptions) {
    const base = new URL(opts.url)
    this.url = opts.url.replace(/\/+$/, '')
    this.#origin = base.origin
    this.#path = `${base.pathname.replace(/\/+$/, '')}/api/v1/query`
    this.#own = opts.dispatcher === undefined
    this.#dispatcher = opts.dispatcher ?? new Pool(base.origin, { connections: DEFAULT_CONNECTIONS })
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_PROMQL_TIMEOUT_MS
    this.#o = opts
  }

  /** Whether Prometheus answered the last query (true until a query says otherwise). */
  get healthy (): boolean {
    return this.#healthy
  }

  /** One instant query. Never throws: every failure is an answer. */
  async query (promql: string, timeoutMs = this.#timeoutMs): Promise<QueryAnswer> {
    let status: number
    let text: string
    try {
      const res = await this.#dispatcher.request({
        origin: this.#origin,
        path: this.#path,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        // Prometheus's own timeout stops the evaluation on its side too.
        body: new URLSearchParams({ query: promql, timeout: `${timeoutMs}ms` }).toString(),
        signal: AbortSignal.timeout(timeoutMs),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs
      })
      status = res.statusCode
      text = await readLimited(res.body, MAX_ANSWER_BYTES)
    } catch (err) {
      if (err instanceof TooLarge) return this.#answered({ kind: 'error', error: errors.PROMQL_TOO_LARGE(MAX_ANSWER_BYTES) })
      return this.#failed(Object.assign(errors.PROMETHEUS_UNAVAILABLE(this.url, failureOf(err, timeoutMs)), { cause: err }))
    }
    const answer = readAnswer(status, text, this.url)
    return answer.kind === 'unavailable' ? this.#failed(answer.error) : this.#answered(answer)
  }

  async close (): Promise<void> {
    if (this.#own) await this.#dispatcher.close()
  }

  #answered (answer: QueryAnswer): QueryAnswer {
    if (!this.#healthy) {
      this.#healthy = true
      this.#o.log.info({ prometheus: this.url }, 'Prometheus answers again; promql rules are evaluated again')
    }
    return answer
  }

  #failed (error: SwitchyardError): QueryAnswer {
    this.#o.metrics.dependencyError('prometheus')
    if (this.#healthy) {
      this.#healthy = false
      this.#o.log.warn({ prometheus: this.url, err: error.cause ?? error }, error.message)
    }
    return { kind: 'unavailable', error }
  }
}

class TooLarge extends Error {}

async function readLimited (body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > limit) throw new TooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function failureOf (err: unknown, timeoutMs: number): string {
  const e = err as { name?: string, code?: string, message?: string }
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') return `no answer within ${timeoutMs} ms`
  if (e.code === 'ECONNREFUSED') return 'connection refused'
  if (e.code === 'UND_ERR_SOCKET' || e.code === 'ECONNRESET') return 'the connection was closed'
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'its host name does not resolve'
  return e.message ?? String(err)
}

// Prometheus's errorType values that say Prometheus, not the query, is at fault.
const PROMETHEUS_FAULTS = new Set(['timeout', 'canceled', 'internal', 'unavailable'])

/**
 * The answer of /api/v1/query (its HTTP status and body) as a number or the reason there is none. Pure.
 * https://prometheus.io/docs/prometheus/latest/querying/api/#expression-query-result-formats
 */
export function readAnswer (status: number, text: string, url: string): QueryAnswer {
  const unavailable = (why: string): QueryAnswer => ({ kind: 'unavailable', error: errors.PROMETHEUS_UNAVAILABLE(url, why) })
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    return unavailable(`HTTP ${status} without a Prometheus API answer; check PROMETHEUS_URL`)
  }
  if (body === null || typeof body !== 'object') return unavailable(`HTTP ${status} without a Prometheus API answer; check PROMETHEUS_URL`)
  if (body.status === 'error') {
    const kind = typeof body.errorType === 'string' ? body.errorType : 'error'
    const why = typeof body.error === 'string' ? body.error : 'no reason given'
    if (status >= 500 || PROMETHEUS_FAULTS.has(kind)) return unavailable(`HTTP ${status}, ${kind}: ${why}`)
    return { kind: 'error', error: errors.PROMQL_REJECTED(kind, why) }
  }
  const data = body.data
  if (body.status !== 'success' || data === null || typeof data !== 'object') {
    return unavailable(`HTTP ${status} without a Prometheus API answer; check PROMETHEUS_URL`)
  }
  switch (data.resultType) {
    case 'scalar':
      return sampleValue(data.result)
    case 'vector': {
      const series = Array.isArray(data.result) ? data.result as Array<{ metric?: Record<string, string>, value?: unknown }> : []
      if (series.length === 0) return { kind: 'no_data', why: 'the query matched no series (no traffic yet, or a label that matches nothing)' }
      if (series.length > 1) return { kind: 'error', error: errors.PROMQL_NOT_ONE_SERIES(series.length, differingLabels(series)) }
      return sampleValue(series[0]!.value)
    }
    case 'matrix':
      return { kind: 'error', error: errors.PROMQL_RESULT_TYPE('range vector') }
    case 'string':
      return { kind: 'error', error: errors.PROMQL_RESULT_TYPE('string') }
    default:
      return unavailable(`HTTP ${status} with an unknown result type ${JSON.stringify(data.resultType)}`)
  }
}

/** A sample is [time, "value"]: values are strings, so that NaN and the infinities survive JSON. */
function sampleValue (sample: unknown): QueryAnswer {
  const raw = Array.isArray(sample) ? sample[1] : undefined
  if (raw === 'NaN') return { kind: 'no_data', why: 'the value is NaN (a division of zero by zero, such as a rate of errors over no requests)' }
  if (raw === '+Inf' || raw === '-Inf' || raw === 'Inf') return { kind: 'no_data', why: `the value is ${raw} (a division by zero, such as errors over no requests)` }
  const value = typeof raw === 'string' ? Number(raw) : NaN
  if (!Number.isFinite(value)) return { kind: 'error', error: errors.PROMQL_RESULT_TYPE(`sample that is not a number (${JSON.stringify(raw)})`) }
  return { kind: 'value', value }
}

/** The labels whose values differ between the series, with a few of the values. */
function differingLabels (series: ReadonlyArray<{ metric?: Record<string, string> }>): string {
  const names = new Set(series.flatMap((s) => Object.keys(s.metric ?? {})))
  const out: string[] = []
  for (const name of [...names].sort()) {
    const values = [...new Set(series.map((s) => s.metric?.[name] ?? ''))]
    if (values.length < 2) continue
    const shown = values.slice(0, 3).map((v) => v === '' ? '(none)' : JSON.stringify(v)).join(', ')
    out.push(`${name} (${shown}${values.length > 3 ? `, and ${values.length - 3} more` : ''})`)
  }
  return out.length > 0 ? out.join(', ') : 'no label'
}

// The placeholders a query may use, replaced for each flag a rule watches.
export const PLACEHOLDERS = ['flag', 'routes', 'window'] as const
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g

/** What is wrong with a query's placeholders: unknown names, and a {{ left open. */
export function placeholderProblems (query: string): string[] {
  const problems: string[] = []
  const known = PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')
  for (const m of query.matchAll(PLACEHOLDER)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!)) problems.push(`unknown placeholder ${m[0]}; the placeholders are ${known}`)
  }
  if (query.replace(PLACEHOLDER, '').includes('{{')) problems.push(`a {{ is not closed by }}; the placeholders are ${known}`)
  return problems
}

/**
 * The query for one flag. Both names are inserted escaped for a double-quoted PromQL string, as in
 * flag="{{flag}}" and route=~"{{routes}}", and the routes as an alternation of regular expressions that
 * each match one name exactly (PromQL anchors them). {{window}} is the rule's window, as in [{{window}}]:
 * whole seconds as 30s, a shorter cut (after a resume) in milliseconds, as 1500ms.
 */
export function expandQuery (query: string, values: { flag: string, routes: readonly string[], windowSeconds: number }): string {
  return query.replace(PLACEHOLDER, (whole, name: string) => {
    switch (name) {
      case 'flag': return promqlString(values.flag)
      case 'routes': return promqlString(values.routes.map(regexEscape).join('|'))
      case 'window': return Number.isInteger(values.windowSeconds) ? `${values.windowSeconds}s` : `${Math.max(1, Math.round(values.windowSeconds * 1000))}ms`
      default: return whole
    }
  })
}

function regexEscape (s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')
}

function promqlString (s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}
