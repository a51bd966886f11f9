// The sync's periodic verify on a real database: a run on two sides that agree counts `ok`; rows made to
// differ behind the sync's back are counted by kind; a row the sync is still carrying when verify reads it is
// read again once the sync has caught up and is not reported; runs never overlap and read at the bounded
// rate; a failed run counts `error` and keeps the last result; and `sync --follow` serves it all on
// --metrics-port, every --verify-interval seconds, or never with 0.
import t, { type Test } from 'tap'
import { Registry } from 'prom-client'
import { loadLegacyCatalogue } from '../services/catalogue/load.ts'
import { connectPostgres, type DatabaseHandle } from '../services/db/database.ts'
import { backfill } from '../services/migrate/backfill.ts'
import { openDatabases } from '../services/migrate/cli/databases.ts'
import { runSyncCommand } from '../services/migrate/cli/sync-command.ts'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { directionsBetween } from '../services/sync/directions.ts'
import { follow } from '../services/sync/follower.ts'
import { verifyOnce, verifyPeriodically, type VerifyOutcome } from '../services/sync/periodic-verify.ts'
import { directionStatus } from '../services/sync/status.ts'
import { SyncMetrics } from '../services/sync/sync-metrics.ts'
import { migratedPair, postgresMissing } from './helpers/db.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { freePort } from './helpers/servers.ts'

t.setTimeout(300_000)

// Two tests need Postgres URLs: to make a database unreachable, and to run the command as it runs for real.
const needsUrls = postgresMissing('these tests make a database unreachable, and run the command as it runs for real') ?? false

const quiet = { info () {}, warn () {}, error () {} }
const stories = new TemplateStoryGenerator()
// More than one of verify's 2,000-row batches, so that the rate bound has a second read to space out.
const ITEMS = 2_500

interface Logged { level: string, msg: string, fields: Record<string, unknown> }

function recordingLog () {
  const lines: Logged[] = []
  const at = (level: string) => (fields: object, msg: string) => { lines.push({ level, msg, fields: fields as Record<string, unknown> }) }
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } }
}

async function loadedPair (t: Test, count: number) {
  const { legacyDb, unifiedDb } = await migratedPair(t)
  await loadLegacyCatalogue(legacyDb.handle, { seed: 20240501, count })
  await backfill(legacyDb.handle, unifiedDb.handle, { stories })
  return { legacyDb, unifiedDb, legacy: legacyDb.handle, unified: unifiedDb.handle }
}

/** Changes made the way no service makes them: marked as the sync's own, so that the sync never carries them. */
async function behindTheSyncsBack (db: DatabaseHandle, sql: string, params: unknown[] = []): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("SET LOCAL switchyard.sync_apply = 'on'")
    await tx.query(sql, params)
  })
}

/** The value of a metric without labels. */
function unlabelled (text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1))
}

const metricsOf = async (registry: Registry) => {
  const text = await registry.metrics()
  return {
    text,
    runs: (result: string) => sample(text, 'switchyard_sync_verify_runs_total', { result }),
    differences: (kind: string) => sample(text, 'switchyard_sync_verify_differences', { kind })
  }
}

t.test('verify runs: agreement, differences by kind, and a row in flight that the sync settles', async (t) => {
  const { legacy, unified } = await loadedPair(t, ITEMS)
  const registry = new Registry()
  const metrics = new SyncMetrics(registry)
  const before = await metricsOf(registry)
  t.same(['ok', 'differences', 'error'].map(before.runs), [0, 0, 0], 'every result is exported at 0 before the first run')
  t.notMatch(before.text, /switchyard_sync_verify_differences\{/, 'and no differences are claimed before a run')
  t.equal(unlabelled(before.text, 'switchyard_sync_verify_last_run_timestamp_seconds'), 0, 'the last run is 0: not yet')

  const started = Date.now()
  const ok = await verifyOnce({ legacy, unified, metrics, log: quiet, signal: new AbortController().signal, rowsPerSecond: ITEMS })
  const m = await metricsOf(registry)
  t.same(ok.found, { missing: 0, extra: 0, different: 0 }, `both sides agree (${ok.checked} rows checked)`)
  t.equal(m.runs('ok'), 1, 'switchyard_sync_verify_runs_total{result="ok"} counts the run')
  t.same(['missing', 'extra', 'different'].map(m.differences), [0, 0, 0], 'switchyard_sync_verify_differences is 0 for every kind')
  const stamp = unlabelled(m.text, 'switchyard_sync_verify_last_run_timestamp_seconds')
  t.ok(stamp * 1000 >= started - 1 && stamp * 1000 <= Date.now() + 1, 'switchyard_sync_verify_last_run_timestamp_seconds says when it ended')
  // 2,000 rows are read at once, the next 500 no sooner than 2,000 / 2,500 s after the start.
  t.ok(ok.seconds >= 0.75, `reading ${ITEMS} rows a side at ${ITEMS} rows/s took ${ok.seconds.toFixed(2)} s, not less than 0.8 s`)

  await behindTheSyncsBack(unified, "UPDATE unified.garments SET title = 'Changed behind the sync' WHERE legacy_id = 5")
  await behindTheSyncsBack(unified, 'DELETE FROM unified.garments WHERE legacy_id = 6')
  const [extra] = await unified.transaction(async (tx) => {
    await tx.query("SET LOCAL switchyard.sync_apply = 'on'")
    return tx.query<{ id: string }>(`INSERT INTO unified.garments (title, category, condition, story, price)
      VALUES ('Only on unified', 'jackets', 'new', '{"text": "x"}', 30) RETURNING legacy_id::text AS id`)
  })
  const { lines, log } = recordingLog()
  const found = await verifyOnce({ legacy, unified, metrics, log, signal: new AbortController().signal, settleMs: 50, rechecks: 2 })
  t.same(found.ids, { missing: [6], extra: [Number(extra!.id)], different: [5] }, 'each difference is found, read again, and kept')
  const m2 = await metricsOf(registry)
  t.same(['missing', 'extra', 'different'].map(m2.differences), [1, 1, 1], 'and exported by kind')
  t.same(['ok', 'differences', 'error'].map(m2.runs), [1, 1, 0], 'the run counts as result="differences"')
  t.match(lines.find((l) => l.level === 'error'), { msg: /^sync verify found rows that differ/, fields: { missing: 1, extra: 1, different: 1, ids: { different: [5] } } }, 'and is logged as an error naming the ids')

  // A change the sync has not carried yet: verify sees it differ; the recheck, once the sync has caught up,
  // does not. The wait before the recheck is where the follower runs.
  await legacy.query("UPDATE legacy.items SET title = 'Written just now', updated_at = now() WHERE id = 7")
  const stop = new AbortController()
  let following: Promise<void> | null = null
  t.teardown(async () => { stop.abort(); await following })
  const settled = await verifyOnce({
    legacy,
    unified,
    metrics,
    log: quiet,
    signal: new AbortController().signal,
    rechecks: 1,
    wait: async () => {
      following ??= follow({ directions: directionsBetween(legacy, unified), stories, metrics: new SyncMetrics(new Registry()), log: quiet, signal: stop.signal, idleMs: 50 })
      await within(15_000, 'the sync caught up', async () => (await directionStatus(legacy, 'legacy', unified, 'unified', 'legacy_to_unified')).pending === 0 ? true : undefined, 50)
    }
  })
  t.equal(settled.first.different, 2, 'verify itself saw the row in flight as different')
  t.same(settled.ids, { missing: [6], extra: [Number(extra!.id)], different: [5] }, 'after the recheck only the rows changed behind the sync\'s back remain')
})

t.test('runs never overlap: the next starts an interval after the previous ended; a stop ends a run at once', async (t) => {
  const { legacy, unified } = await loadedPair(t, ITEMS)
  const metrics = new SyncMetrics(new Registry())
  const stop = new AbortController()
  const runs: Array<{ started: number, ended: number, outcome: VerifyOutcome | null }> = []
  const intervalMs = 300
  const running = verifyPeriodically({
    legacy,
    unified,
    metrics,
    log: quiet,
    signal: stop.signal,
    intervalMs,
    rowsPerSecond: ITEMS,
    onRun: (outcome) => {
      const ended = performance.now()
      runs.push({ started: ended - (outcome?.seconds ?? 0) * 1000, ended, outcome })
    }
  })
  t.teardown(async () => { stop.abort(); await running })
  await within(30_000, 'three runs', async () => runs.length >= 3 ? true : undefined, 50)
  t.ok(runs.every((r) => r.outcome !== null && r.outcome.seconds >= 0.75), `each run took at least 0.8 s (${runs.map((r) => r.outcome?.seconds.toFixed(2)).join(', ')} s)`)
  for (let i = 1; i < runs.length; i++) {
    const gap = runs[i]!.started - runs[i - 1]!.ended
    t.ok(gap >= intervalMs - 20, `run ${i + 1} began ${gap.toFixed(0)} ms after run ${i} ended (interval ${intervalMs} ms)`)
  }

  // A run stopped half way through: the wait for the next read ends with the signal.
  const count = runs.length
  await within(10_000, 'the next run under way', async () => performance.now() - runs[runs.length - 1]!.ended > intervalMs + 100 ? true : undefined, 20)
  const stopping = performance.now()
  stop.abort()
  await running
  t.ok(performance.now() - stopping < 500, `stopped within ${(performance.now() - stopping).toFixed(0)} ms, mid-run`)
  t.equal(runs.length, count, 'the stopped run is not reported')
  t.equal(sample(await metricsOf(metrics.registry).then((m) => m.text), 'switchyard_sync_verify_runs_total', { result: 'error' }), 0, 'nor counted as an error')
})

t.test('a run that fails counts result="error" and keeps what the last completed run found', { skip: needsUrls }, async (t) => {
  const { legacyDb, legacy, unified } = await loadedPair(t, 50)
  const registry = new Registry()
  const metrics = new SyncMetrics(registry)
  await verifyOnce({ legacy, unified, metrics, log: quiet, signal: new AbortController().signal })
  const gone = await connectPostgres(legacyDb.url!, { applicationName: 'switchyard-test' })
  await gone.close()
  const { lines, log } = recordingLog()
  const stop = new AbortController()
  let outcomes = 0
  const running = verifyPeriodically({ legacy: gone, unified, metrics, log, signal: stop.signal, intervalMs: 20, onRun: () => { outcomes++ } })
  await within(10_000, 'a failed run', async () => outcomes > 0 ? true : undefined)
  stop.abort()
  await running
  const m = await metricsOf(registry)
  t.ok(m.runs('error') >= 1, 'switchyard_sync_verify_runs_total{result="error"} counts it')
  t.equal(m.runs('ok'), 1, 'the completed run is still counted as it was')
  t.same(['missing', 'extra', 'different'].map(m.differences), [0, 0, 0], 'and its differences stay')
  t.match(lines[0], { level: 'warn', msg: /^sync verify failed/ }, 'the failure is logged, and the loop goes on')
})

t.test('sync --follow verifies every --verify-interval seconds and serves the result on --metrics-port', { skip: needsUrls }, async (t) => {
  const { legacyDb, unifiedDb } = await loadedPair(t, 100)
  const follow = async (verifyIntervalSeconds: number) => {
    const dbs = await openDatabases({ LEGACY_DATABASE_URL: legacyDb.url!, DATABASE_URL: unifiedDb.url! }, undefined)
    const port = await freePort()
    const stop = new AbortController()
    const out = { write: () => true }
    const done = runSyncCommand('--follow', dbs, { json: false, batchSize: 500, metricsPort: port, verifyIntervalSeconds }, { stdout: out, stderr: out, signal: stop.signal })
    const end = async () => { stop.abort(); const code = await done; await dbs.close(); return code }
    t.teardown(async () => { if (!stop.signal.aborted) await end() })
    const url = `http://127.0.0.1:${port}`
    await within(10_000, 'the metrics port', async () => (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) ? true : undefined, 50)
    return { url, end }
  }

  const every = await follow(1)
  const first = await within(15_000, 'a verify run', async () => {
    const text = await scrape(every.url)
    return sample(text, 'switchyard_sync_verify_runs_total', { result: 'ok' }) >= 1 ? text : undefined
  }, 100)
  t.equal(sample(first.value, 'switchyard_sync_verify_differences', { kind: 'different' }), 0, 'the sides agree')
  t.ok(unlabelled(first.value, 'switchyard_sync_verify_last_run_timestamp_seconds') > 0, 'with the time of the run')
  await within(15_000, 'a second run', async () => sample(await scrape(every.url), 'switchyard_sync_verify_runs_total', { result: 'ok' }) >= 2 ? true : undefined, 100)
  t.pass('and again a second later')
  t.equal(await every.end(), 0, 'a stop ends following and verifying')

  const never = await follow(0)
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  const text = await scrape(never.url)
  t.equal(sample(text, 'switchyard_sync_verify_runs_total', { result: 'ok' }) + sample(text, 'switchyard_sync_verify_runs_total', { result: 'differences' }), 0, '--verify-interval 0 never verifies')
  t.equal(unlabelled(text, 'switchyard_sync_verify_last_run_timestamp_seconds'), 0, 'and has no last run')
  t.equal(await never.end(), 0)

  const dbs = await openDatabases({ LEGACY_DATABASE_URL: legacyDb.url!, DATABASE_URL: unifiedDb.url! }, undefined)
  t.teardown(() => dbs.close())
  const out = { write: () => true }
  await t.rejects(runSyncCommand('--follow', dbs, { json: false, batchSize: 500, verifyIntervalSeconds: -1 }, { stdout: out, stderr: out }), { exitCode: 2, message: /^--verify-interval takes a number of seconds, 0 to turn verifying off, got -1\.$/ }, 'a negative interval is a usage error')
})
