// Rules are validated at startup with the rest of the configuration: every problem named at once, with
// the key and the fix.
import t from 'tap'
import { buildConfig } from '../gateway/config/load.ts'

const base = {
  listen: { port: 0 },
  admin: { port: 0 },
  backends: { legacy: { url: 'http://127.0.0.1:1' }, new: { url: 'http://127.0.0.1:2' } },
  routes: [{ name: 'items', paths: ['/items'], flag: 'items-api' }]
}
const build = (rules: unknown) => buildConfig({ ...base, rules }, { baseDir: '.' })

t.test('a valid rule set is taken with its defaults', async (t) => {
  const c = build({ list: [{ name: 'errors', metric: 'error_rate', threshold: 0.05 }] })
  t.same(c.rules, { interval_ms: 1000, list: [{ name: 'errors', metric: 'error_rate', threshold: 0.05, window_seconds: 30, min_requests: 50, min_difference: 0.01, consecutive: 3 }] })
})

t.test('bad rules are refused, each named with what to fix', async (t) => {
  t.throws(() => build({
    interval_ms: 10,
    list: [
      { name: 'errors', metric: 'error_rate', threshold: 5 },
      { name: 'errors', metric: 'latency_p99', threshold: 0.5, flags: ['nope'] },
      { name: 'mm', metric: 'mismatch_rate', threshold: 0.01 },
      { name: 'x', metric: 'error_ratio', threshold: 1 }
    ]
  }), {
    code: 'SY_ERR_CONFIG_INVALID',
    message: /rules\.interval_ms: expected .*got 10[\s\S]*rules\.list\[3\]\.metric: expected error_rate, latency_p95, latency_p99, mismatch_rate, relative_error_rate or promql, got "error_ratio"/
  })
  t.throws(() => build({
    list: [
      { name: 'errors', metric: 'error_rate', threshold: 5 },
      { name: 'errors', metric: 'latency_p99', threshold: 0.5, flags: ['nope'] },
      { name: 'mm', metric: 'mismatch_rate', threshold: 0.01 }
    ]
  }), {
    message: /rules\.list\[0\]\.threshold: 5 is a rate above 1; write 0\.05 for 5 %[\s\S]*rules\.list\[1\]\.name: "errors" is already the name of rules\.list\[0\][\s\S]*rules\.list\[1\]\.flags: no route uses the flag "nope"; the routes' flags are items-api[\s\S]*rules\.list\[2\]\.metric: mismatch_rate needs a shadowed route/
  })
})
