// The verdict of one rule on one window, as pure arithmetic: below min_requests it is inconclusive, never
// fail; above the threshold it fails; the relative rule needs both the ratio and the absolute difference.
import t from 'tap'
import type { RuleConfig } from '../gateway/config/schema.ts'
import { LATENCY_BOUNDS, latencyQuantile } from '../gateway/metrics/traffic-window.ts'
import { evaluate, type RuleInput } from '../gateway/rules/verdict.ts'

const rule = (over: Partial<RuleConfig>): RuleConfig => ({ name: 'r', metric: 'error_rate', window_seconds: 30, min_requests: 50, threshold: 0.05, min_difference: 0.01, consecutive: 3, ...over })
const none = new Array<number>(LATENCY_BOUNDS.length + 1).fill(0)
const input = (over: Partial<RuleInput['totals']> = {}, extra: Partial<RuleInput> = {}): RuleInput => ({
  totals: { legacy: 0, new: 0, legacyErrors: 0, newErrors: 0, ...over },
  newLatencies: none,
  shadow: { compared: 0, mismatched: 0 },
  ...extra
})

t.test('error rate: inconclusive below min_requests, whatever the errors', async (t) => {
  const v = evaluate(rule({}), input({ new: 49, newErrors: 49 }))
  t.match(v, { status: 'inconclusive', observed: null, samples: { new: 49 } })
  t.match(v.summary, /49 requests to new over 30 s, fewer than 50/)
})

t.test('error rate: fails above the threshold, passes at or under it', async (t) => {
  t.match(evaluate(rule({}), input({ new: 100, newErrors: 6 })), { status: 'fail', observed: 0.06 })
  t.match(evaluate(rule({}), input({ new: 100, newErrors: 5 })), { status: 'pass', observed: 0.05 })
  t.match(evaluate(rule({}), input({ new: 100, newErrors: 6 })).summary, /error rate of new 6\.00 % \(6 of 100\) over 30 s, threshold 5\.00 %/)
})

t.test('latency: the quantile of new\'s histogram against a threshold in seconds', async (t) => {
  const counts = [...none]
  counts[LATENCY_BOUNDS.indexOf(0.01)] = 90 // 90 requests between 7.5 and 10 ms
  counts[LATENCY_BOUNDS.indexOf(0.5)] = 10 // 10 between 300 and 500 ms
  const p99 = latencyQuantile(counts, 0.99)!
  t.ok(p99 > 0.3 && p99 <= 0.5, `p99 falls in the slow bucket (${p99})`)
  t.ok(latencyQuantile(counts, 0.5)! <= 0.01, 'p50 in the fast one')
  t.match(evaluate(rule({ metric: 'latency_p99', threshold: 0.25 }), input({}, { newLatencies: counts })), { status: 'fail', samples: { new: 100 } })
  t.match(evaluate(rule({ metric: 'latency_p95', threshold: 0.25 }), input({}, { newLatencies: counts })), { status: 'fail' })
  t.match(evaluate(rule({ metric: 'latency_p99', threshold: 0.6 }), input({}, { newLatencies: counts })), { status: 'pass' })
  t.match(evaluate(rule({ metric: 'latency_p99', min_requests: 101 }), input({}, { newLatencies: counts })), { status: 'inconclusive' })
  t.equal(latencyQuantile(none, 0.99), null, 'no samples, no quantile')
})

t.test('mismatch rate: shadow comparisons, with their own minimum', async (t) => {
  t.match(evaluate(rule({ metric: 'mismatch_rate', threshold: 0.01 }), input({ new: 1000 }, { shadow: { compared: 60, mismatched: 3 } })), { status: 'fail', observed: 0.05 })
  t.match(evaluate(rule({ metric: 'mismatch_rate' }), input({ new: 1000 }, { shadow: { compared: 10, mismatched: 10 } })), { status: 'inconclusive' })
})

t.test('relative error rate: needs samples on both sides, the ratio and the difference', async (t) => {
  const r = rule({ metric: 'relative_error_rate', threshold: 2, min_difference: 0.01 })
  t.match(evaluate(r, input({ new: 100, newErrors: 50, legacy: 10 })), { status: 'inconclusive', samples: { new: 100, legacy: 10 } }, 'too few on legacy')
  t.match(evaluate(r, input({ new: 100, newErrors: 9, legacy: 100, legacyErrors: 3 })), { status: 'fail', observed: 3 }, 'x3 and +6 points')
  t.match(evaluate(r, input({ new: 1000, newErrors: 3, legacy: 1000, legacyErrors: 1 })), { status: 'pass' }, 'x3 but only +0.2 points: noise on tiny rates')
  t.match(evaluate(r, input({ new: 100, newErrors: 12, legacy: 100, legacyErrors: 10 })), { status: 'pass' }, '+2 points but only x1.2: both sides are failing alike')
  t.match(evaluate(r, input({ new: 100, newErrors: 5, legacy: 100, legacyErrors: 0 })), { status: 'fail' }, 'legacy at 0 %: the difference decides')
})
