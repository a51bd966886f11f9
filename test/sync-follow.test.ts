// The follower running both directions: an insert, an update and a delete on either side appear on the
// other within 2 seconds, the lag metric settles at 0, and verify then passes; sync status shows the rate of
// rows applied.
import t from 'tap'
import { Registry } from 'prom-client'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { verify } from '../services/migrate/verify.ts'
import { directionsBetween } from '../services/sync/directions.ts'
import { follow, RateWindow } from '../services/sync/follower.ts'
import { directionStatus } from '../services/sync/status.ts'
import { SyncMetrics } from '../services/sync/sync-metrics.ts'
import { migratedDatabase } from './helpers/db.ts'

const quiet = { info () {}, warn () {}, error () {} }

async function within<T> (ms: number, probe: () => Promise<T | undefined>): Promise<{ value: T, ms: number }> {
  const started = performance.now()
  for (;;) {
    const value = await probe()
    if (value !== undefined) return { value, ms: performance.now() - started }
    if (performance.now() - started > ms) throw new Error(`not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('changes on either side appear on the other within 2 seconds', async (t) => {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  const registry = new Registry()
  const metrics = new SyncMetrics(registry)
  const stop = new AbortController()
  const running = follow({ directions: directionsBetween(handle, handle), stories: new TemplateStoryGenerator(), metrics, log: quiet, signal: stop.signal, idleMs: 50 })
  t.teardown(async () => { stop.abort(); await running })

  const one = (sql: string, params: unknown[] = []) => async () => (await handle.query<Record<string, unknown>>(sql, params))[0]
  const none = (sql: string, params: unknown[] = []) => async () => (await handle.query(sql, params)).length === 0 ? true : undefined

  await handle.query('INSERT INTO legacy.items (id, depop_id, title, category, condition, price) VALUES (1, \'dp-1\', \'From legacy\', \'tops\', \'new\', 10)')
  const a = await within(2_000, one("SELECT title FROM unified.garments WHERE legacy_id = 1 AND title = 'From legacy'"))
  t.pass(`legacy insert reached unified in ${a.ms.toFixed(0)} ms`)
  await handle.query("UPDATE legacy.items SET title = 'Edited on legacy', updated_at = now() WHERE id = 1")
  const b = await within(2_000, one("SELECT 1 FROM unified.garments WHERE legacy_id = 1 AND title = 'Edited on legacy'"))
  t.pass(`legacy update reached unified in ${b.ms.toFixed(0)} ms`)

  const [g] = await handle.query<{ id: string }>(`INSERT INTO unified.garments (title, category, condition, story, price)
    VALUES ('From unified', 'jackets', 'new', '{"text": "x"}', 30) RETURNING legacy_id::text AS id`)
  const c = await within(2_000, one('SELECT title FROM legacy.items WHERE id = $1', [g!.id]))
  t.pass(`unified insert reached legacy in ${c.ms.toFixed(0)} ms`)
  await handle.query("UPDATE unified.garments SET title = 'Edited on unified', updated_at = now() WHERE legacy_id = 1")
  await within(2_000, one("SELECT 1 FROM legacy.items WHERE id = 1 AND title = 'Edited on unified'"))
  await handle.query('DELETE FROM unified.garments WHERE legacy_id = $1', [g!.id])
  await within(2_000, none('SELECT 1 FROM legacy.items WHERE id = $1', [g!.id]))
  await handle.query('DELETE FROM legacy.items WHERE id = 1')
  const d = await within(2_000, none('SELECT 1 FROM unified.garments WHERE legacy_id = 1'))
  t.pass(`deletes crossed both ways, the last in ${d.ms.toFixed(0)} ms`)

  await within(2_000, async () => (await metrics.lag.get()).values.every((v) => v.value === 0) ? true : undefined)
  const text = await registry.metrics()
  t.match(text, /switchyard_sync_rows_applied_total\{direction="legacy_to_unified"\} [1-9]/)
  t.match(text, /switchyard_sync_rows_applied_total\{direction="unified_to_legacy"\} [1-9]/)
  t.match(text, /switchyard_sync_lag_seconds\{direction="unified_to_legacy"\} 0/)
  t.equal((await verify(handle, handle)).ok, true, 'both sides hold the same rows')
})

t.test('sync status shows the rows applied per second while they flow', async (t) => {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  const stop = new AbortController()
  const running = follow({ directions: directionsBetween(handle, handle), stories: new TemplateStoryGenerator(), metrics: new SyncMetrics(new Registry()), log: quiet, signal: stop.signal, idleMs: 50 })
  t.teardown(async () => { stop.abort(); await running })
  const status = () => directionStatus(handle, 'legacy', handle, 'unified', 'legacy_to_unified')

  await handle.query(`INSERT INTO legacy.items (id, depop_id, title, category, condition, price)
    SELECT n, 'dp-' || n, 'Item ' || n, 'tops', 'new', 10 FROM generate_series(1, 300) AS n`)
  const busy = await within(5_000, async () => { const s = await status(); return s.applied === 300 && s.rowsPerSecond > 0 ? s : undefined })
  t.ok(busy.value.rowsPerSecond > 0 && busy.value.rowsPerSecond <= 300, `a rate while rows flow (${busy.value.rowsPerSecond} rows/s)`)
})

t.test('the rate window counts the rows of its last seconds only, in bounded memory', async (t) => {
  const start = 1_000_000
  const w = new RateWindow(10, start)
  w.add(start + 100, 50)
  t.equal(w.perSecond(start + 1_000), 50, 'over the one second it has run')
  for (let s = 1; s < 10; s++) w.add(start + s * 1000, 100)
  t.equal(w.perSecond(start + 9_999), 95, '950 rows over its first 10 s')
  t.equal(w.perSecond(start + 14_999), 50, 'five seconds later, only the last five seconds count: 500 rows over 10 s')
  t.equal(w.perSecond(start + 60_000), 0, 'and none a minute later')
})
