// What a replica counts while Redis is away waits to be flushed, but only as long as it is inside the
// rules' window: an outage of any length holds memory bounded by the routes times the window.
import t from 'tap'
import { RedisLink } from '../gateway/cluster/redis-link.ts'
import { SharedWindows } from '../gateway/cluster/shared-windows.ts'

t.test('an outage of any length keeps at most a window of unflushed counters', async (t) => {
  const log = { info: () => {}, warn: () => {} }
  // Never connected: Redis is away for the whole test.
  const link = new RedisLink({ url: 'redis://127.0.0.1:9/0', prefix: 'test', timeoutMs: 100, log })
  t.teardown(() => link.close())
  let now = Date.UTC(2026, 0, 1)
  const windows = new SharedWindows({ link, routes: ['items', 'search'], seconds: 30, now: () => now })
  for (let s = 0; s < 3_600; s++, now += 1_000) {
    windows.record('items', now, 'new', s % 2 === 0, 0.01)
    windows.record('search', now, 'legacy', false, 0.02)
    windows.recordComparison('search', s % 3 === 0)
    if (s % 10 === 0) windows.prune()
  }
  windows.prune()
  t.ok(windows.unflushed <= 2 * 30, `an hour of traffic on two routes left ${windows.unflushed} route-seconds waiting (at most 2 x 30)`)
  t.ok(windows.unflushed >= 2 * 29, 'and the newest seconds are still there, to be flushed when Redis returns')
  const waiting = windows.unflushed
  await t.rejects(windows.flush(), 'the flush fails while Redis is away')
  t.equal(windows.unflushed, waiting, 'and keeps what it could not write')
  await windows.refresh()
  t.equal(windows.shared, false, 'the rules read this replica\'s own windows meanwhile')
})
