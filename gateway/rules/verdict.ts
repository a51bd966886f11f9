// One rule against one flag's window: pass, fail or inconclusive. Pure: the window's figures are passed in.
// Below min_requests the verdict is inconclusive, never fail, so that low traffic can neither roll a route
// back on a handful of requests nor pass it (flagger#1035, argo-rollouts#1945 are what happens otherwise).
import type { RuleConfig } from '../config/schema.ts'
import { latencyQuantile, type WindowTotals } from '../metrics/traffic-window.ts'
import type { QueryAnswer } from './prometheus-query.ts'

export type VerdictStatus = 'pass' | 'fail' | 'inconclusive'

export interface Verdict {
  status: VerdictStatus
  /** The measured value (a rate, seconds, new's error rate over legacy's, a query's value), or null without samples. */
  observed: number | null
  /**
   * The samples the verdict rests on: requests (or comparisons) of new, and of legacy where it counts; for
   * promql, the value of samples_query (none without one).
   */
  samples: { new?: number, legacy?: number, query?: number }
  /** One sentence, for status, logs and the audit event. */
  summary: string
  /** Why no value could be had (promql: the query's error, or Prometheus unavailable); the verdict is inconclusive. */
  error?: { code: string, message: string }
}

/** What a flag's routes did over the rule's window. */
export interface RuleInput {
  totals: WindowTotals
  /** new's latency histogram (counts per bucket of LATENCY_BOUNDS). */
  newLatencies: readonly number[]
  /** Comparisons of shadowed requests, and how many mismatched. */
  shadow: { compared: number, mismatched: number }
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 2 : 1)} %`
const ms = (s: number): string => `${(s * 1000).toFixed(s < 0.01 ? 2 : 0)} ms`

export function evaluate (rule: RuleConfig, input: RuleInput): Verdict {
  const w = `over ${rule.window_seconds} s`
  const t = input.totals
  switch (rule.metric) {
    case 'error_rate': {
      const n = t.new
      if (n < rule.min_requests) return inconclusive(n, `${n} requests to new ${w}, fewer than ${rule.min_requests}`)
      const rate = t.newErrors / n
      return decide(rate > rule.threshold, rate, { new: n }, `error rate of new ${pct(rate)} (${t.newErrors} of ${n}) ${w}, threshold ${pct(rule.threshold)}`)
    }
    case 'latency_p95':
    case 'latency_p99': {
      const q = rule.metric === 'latency_p95' ? 0.95 : 0.99
      const n = input.newLatencies.reduce((a, b) => a + b, 0)
      const label = rule.metric === 'latency_p95' ? 'p95' : 'p99'
      if (n < rule.min_requests) return inconclusive(n, `${n} timed requests to new ${w}, fewer than ${rule.min_requests}`)
      const value = latencyQuantile(input.newLatencies, q)!
      return decide(value > rule.threshold, value, { new: n }, `${label} latency of new ${ms(value)} over ${n} requests ${w}, threshold ${ms(rule.threshold)}`)
    }
    case 'mismatch_rate': {
      const n = input.shadow.compared
      if (n < rule.min_requests) return inconclusive(n, `${n} shadow comparisons ${w}, fewer than ${rule.min_requests}`)
      const rate = input.shadow.mismatched / n
      return decide(rate > rule.threshold, rate, { new: n }, `shadow mismatch rate ${pct(rate)} (${input.shadow.mismatched} of ${n}) ${w}, threshold ${pct(rule.threshold)}`)
    }
    case 'promql':
      throw new TypeError('a promql rule is evaluated on Prometheus\'s answers: call evaluatePromql')
    case 'relative_error_rate': {
      if (t.new < rule.min_requests || t.legacy < rule.min_requests) {
        return { status: 'inconclusive', observed: null, samples: { new: t.new, legacy: t.legacy }, summary: `${t.new} requests to new and ${t.legacy} to legacy ${w}; each needs ${rule.min_requests}` }
      }
      const rNew = t.newErrors / t.new
      const rLegacy = t.legacyErrors / t.legacy
      // Legacy at 0 % errors makes any ratio infinite: the absolute difference then decides alone.
      const ratio = rLegacy === 0 ? (rNew === 0 ? 1 : Infinity) : rNew / rLegacy
      const fails = ratio > rule.threshold && rNew - rLegacy > rule.min_difference
      return decide(fails, ratio, { new: t.new, legacy: t.legacy },
        `error rate of new ${pct(rNew)} against legacy's ${pct(rLegacy)} ${w} (x${Number.isFinite(ratio) ? ratio.toFixed(2) : '∞'}, ` +
        `+${((rNew - rLegacy) * 100).toFixed(2)} points), threshold x${rule.threshold} and +${(rule.min_difference * 100).toFixed(2)} points`)
    }
  }
}

/** What Prometheus answered to a promql rule's query, and to its samples_query if it has one. */
export interface PromqlAnswers {
  value: QueryAnswer
  samples: QueryAnswer | null
}

/**
 * A promql rule's verdict. Prometheus unavailable, a query in error, fewer samples than min_requests, or no
 * value (nothing matched, NaN, an infinity) are each inconclusive; otherwise the value is compared with
 * the threshold, failing above it, or below it with fail_when: below.
 */
export function evaluatePromql (rule: RuleConfig, answers: PromqlAnswers): Verdict {
  const { value, samples } = answers
  // Prometheus away first, then a query to fix: both say more than a lack of samples would.
  if (value.kind === 'unavailable') return failedQuery(value.error, value.error.message)
  if (samples?.kind === 'unavailable') return failedQuery(samples.error, samples.error.message)
  if (value.kind === 'error') return failedQuery(value.error, `query: ${value.error.message}`)
  if (samples?.kind === 'error') return failedQuery(samples.error, `samples_query: ${samples.error.message}`)
  let n: number | undefined
  if (samples !== null) {
    n = samples.kind === 'value' ? samples.value : 0
    if (n < rule.min_requests) {
      const why = samples.kind === 'no_data' ? ` (${samples.why})` : ''
      return { status: 'inconclusive', observed: null, samples: { query: n }, summary: `samples_query counted ${num(n)}${why}, fewer than ${rule.min_requests}` }
    }
  }
  const counted = n === undefined ? {} : { query: n }
  if (value.kind === 'no_data') return { status: 'inconclusive', observed: null, samples: counted, summary: `no value: ${value.why}` }
  const below = rule.fail_when === 'below'
  const fails = below ? value.value < rule.threshold : value.value > rule.threshold
  return decide(fails, value.value, counted,
    `query value ${num(value.value)}${n === undefined ? '' : ` on ${num(n)} samples`}, threshold ${num(rule.threshold)} (fails ${below ? 'below' : 'above'} it)`)
}

function failedQuery (error: { code: string, message: string }, summary: string): Verdict {
  return { status: 'inconclusive', observed: null, samples: {}, summary, error: { code: error.code, message: error.message } }
}

/** Four significant digits, without a trailing exponent for everyday magnitudes. */
function num (x: number): string {
  return String(Number(x.toPrecision(4)))
}

function inconclusive (n: number, summary: string): Verdict {
  return { status: 'inconclusive', observed: null, samples: { new: n }, summary }
}

function decide (fails: boolean, observed: number, samples: Verdict['samples'], summary: string): Verdict {
  return { status: fails ? 'fail' : 'pass', observed, samples, summary }
}
