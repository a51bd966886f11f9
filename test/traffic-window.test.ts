// The sliding window behind "traffic share over the last minute", on an injected clock.
import t from 'tap'
import { TrafficWindow } from '../gateway/metrics/traffic-window.ts'

t.test('counts per backend, with errors, and forgets what is older than the window', async (t) => {
  let now = 1_000_000_000_000
  const w = new TrafficWindow({ seconds: 60, now: () => now })
  for (let i = 0; i < 30; i++) w.record('items', 'legacy', false)
  for (let i = 0; i < 10; i++) w.record('items', 'new', i < 2)
  w.record('search', 'new', true)
  t.same(w.totals('items'), { legacy: 30, new: 10, legacyErrors: 0, newErrors: 2 })
  t.same(w.totals('search'), { legacy: 0, new: 1, legacyErrors: 0, newErrors: 1 })
  t.same(w.totals('unknown'), { legacy: 0, new: 0, legacyErrors: 0, newErrors: 0 })

  now += 30_000
  w.record('items', 'new', false)
  t.same(w.totals('items'), { legacy: 30, new: 11, legacyErrors: 0, newErrors: 2 }, 'still inside the window')
  now += 30_000
  t.same(w.totals('items'), { legacy: 0, new: 1, legacyErrors: 0, newErrors: 0 }, 'the first second left the window')
  now += 120_000
  t.same(w.totals('items'), { legacy: 0, new: 0, legacyErrors: 0, newErrors: 0 }, 'all forgotten after two windows')
  w.record('items', 'legacy', false)
  t.same(w.totals('items'), { legacy: 1, new: 0, legacyErrors: 0, newErrors: 0 }, 'a reused slot starts from zero')
})
