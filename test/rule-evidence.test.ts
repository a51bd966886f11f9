// A resumed flag is judged on what it did since the resume: the errors that rolled it back, still in the
// window, neither roll it back again nor count towards min_requests.
import t from 'tap'
import { TrafficWindow } from '../gateway/metrics/traffic-window.ts'
import { sinceResume } from '../gateway/rules/evidence.ts'
import { FlagStates } from '../gateway/state/flag-states.ts'
import { evaluate } from '../gateway/rules/verdict.ts'
import type { RuleConfig } from '../gateway/config/schema.ts'
import type { Route } from '../gateway/routing/route-table.ts'
import { tempDir } from './helpers/gateway.ts'

const RULE = { name: 'burst', metric: 'error_rate', window_seconds: 30, min_requests: 40, threshold: 0.25, consecutive: 1 } as RuleConfig

t.test('the window starts at the resume', async (t) => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0)
  const traffic = new TrafficWindow({ seconds: 60, now: () => now })
  const states = new FlagStates(tempDir(t))
  await states.load()
  const routes = [{ name: 'items', flag: 'items-api' }] as Route[]
  const windows = sinceResume({ traffic, shadowing: null, routes, states, now: () => now })
  const verdict = (): string => evaluate(RULE, { totals: windows.traffic.totals('items', RULE.window_seconds), newLatencies: [], shadow: { compared: 0, mismatched: 0 } }).status

  // 10 s of a fault: 50 % errors.
  for (let s = 0; s < 10; s++, now += 1000) for (let i = 0; i < 20; i++) traffic.record('items', 'new', i % 2 === 0, 0.01)
  t.equal(verdict(), 'fail', 'the fault fails the rule')
  await states.set('items-api', { state: 'rolled_back', reason: 'burst', actor: 'rule:burst' }, new Date(now))
  now += 5_000
  await states.set('items-api', { state: 'running', reason: 'fixed', actor: 'ops' }, new Date(now))
  now += 500
  t.equal(verdict(), 'inconclusive', 'just after the resume: the old errors do not count, and too few new requests')
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < 20; i++) traffic.record('items', 'new', false, 0.01)
    now += 1000
  }
  t.equal(verdict(), 'pass', 'healthy requests since the resume pass, with the fault still inside the 30 s window')
  t.equal(traffic.totals('items', 30).newErrors, 100, 'the window itself still holds the fault')
  t.equal(windows.traffic.totals('items', 30).newErrors, 0, 'the rule does not see it')
  t.equal(windows.traffic.totals('other', 30).new, 0, 'routes without a flag are read as they are')
})

t.test('a flag never changed is read over the whole window', async (t) => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0)
  const traffic = new TrafficWindow({ seconds: 60, now: () => now - 10_000 })
  for (let i = 0; i < 10; i++) traffic.record('items', 'new', true)
  const states = new FlagStates(tempDir(t))
  await states.load()
  const read = sinceResume({ traffic, shadowing: null, routes: [{ name: 'items', flag: 'items-api' }] as Route[], states, now: () => now - 10_000 })
  t.equal(read.traffic.totals('items', 30).newErrors, 10, 'no resume: every error in the window counts')
})
