// The unified database unreachable for 10 seconds in the middle of a stream of writes to legacy: the
// follower counts its failed batches and the lag grows; once the database is back, everything written
// arrives and the lag falls under 2 seconds again. A change that can never be applied (a poison change) is
// parked with its reason while the rest flow; `sync status` reports it, and once its cause is fixed
// `sync replay` carries it over. On Postgres the follower is `switchyard-migrate sync --follow --metrics-port`,
// a child process that reaches unified through a TCP proxy the test cuts (while a batch of the follower waits
// on a lock the test holds, so the cut always lands in the middle of one) and restores. On PGlite, which has
// no network and lives inside one process, the follower runs in process, on a handle that fails every
// statement while cut. A second test takes legacy away instead, with the follower in process.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Registry } from 'prom-client'
import type { DatabaseHandle } from '../services/db/database.ts'
import { runMigrate } from '../services/migrate/cli/main.ts'
import { runSyncCommand } from '../services/migrate/cli/sync-command.ts'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { verify } from '../services/migrate/verify.ts'
import { lagSeconds, readPosition } from '../services/sync/changes.ts'
import { directionsBetween } from '../services/sync/directions.ts'
import { follow } from '../services/sync/follower.ts'
import { directionStatus } from '../services/sync/status.ts'
import { SyncMetrics } from '../services/sync/sync-metrics.ts'
import { cuttableHandle } from './helpers/cuttable-handle.ts'
import { migratedPair, type TestDatabase } from './helpers/db.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { freePort } from './helpers/servers.ts'
import { startFollowerChild, type FollowerChild } from './helpers/sync-follower.ts'
import { differencesFromWrites, startWriter } from './helpers/sync-writers.ts'
import { tcpProxy } from './helpers/tcp-proxy.ts'

t.setTimeout(180_000)

const OUTAGE_MS = 10_000
// The longest wait between two retries (the follower's DEFAULT_MAX_BACKOFF_MS, 5 s), the catch-up of what
// was written during the outage, and room for a loaded machine.
const RECOVERY_MS = 20_000
const SEED = Number(process.env.SWITCHYARD_TEST_SEED ?? Math.floor(Math.random() * 1e9))
const quiet = { info () {}, warn () {}, error () {} }

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

interface Follower {
  start (): Promise<void>
  /** Its metrics as Prometheus reads them, or null when it is not running. */
  metrics (): Promise<string | null>
  /** How it ended if it is no longer running, else null. */
  ended (): string | null
  log (): string
  stop (): Promise<string>
}

/** The follower as it runs in production, reaching unified through a TCP proxy the test can cut. */
async function childFollower (t: TapTest, legacy: TestDatabase, unified: TestDatabase): Promise<Follower & Link> {
  const url = new URL(unified.url!)
  const proxy = await tcpProxy(t, { host: url.hostname, port: Number(url.port) })
  url.hostname = '127.0.0.1'
  url.port = String(proxy.port)
  let child: FollowerChild | undefined
  let port = 0
  return {
    via: `a child process reaching unified through a TCP proxy on port ${proxy.port}`,
    async start () {
      port = await freePort()
      child = await startFollowerChild(t, { legacy: legacy.url!, unified: url.toString() }, ['--metrics-port', String(port)])
    },
    metrics: async () => child?.ended === null ? scrape(`http://127.0.0.1:${port}`).catch(() => null) : null,
    ended: () => child?.ended ?? null,
    log: () => child?.log() ?? '',
    stop: () => child!.kill('SIGTERM'),
    cut: proxy.cut,
    restore: proxy.restore
  }
}

/** PGlite: the follower in process, on a handle of unified that fails every statement while cut. */
function inProcessFollower (t: TapTest, legacy: DatabaseHandle, unified: DatabaseHandle): Follower & Link {
  const link = cuttableHandle(unified)
  let registry = new Registry()
  let abort = new AbortController()
  let running: Promise<void> = Promise.resolve()
  t.teardown(async () => { abort.abort(); await running })
  return {
    via: 'in process, on a handle of unified that fails while cut (PGlite)',
    async start () {
      registry = new Registry()
      abort = new AbortController()
      running = follow({ directions: directionsBetween(legacy, link.handle), stories: new TemplateStoryGenerator(), metrics: new SyncMetrics(registry), log: quiet, signal: abort.signal })
    },
    metrics: () => registry.metrics(),
    ended: () => null,
    log: () => '',
    async stop () {
      abort.abort()
      await running
      return 'exit 0'
    },
    cut: link.cut,
    restore: link.restore
  }
}

interface Link { via: string, cut (): Promise<void>, restore (): Promise<void> }

/** `switchyard-migrate sync <sub>` against the two test databases. */
async function syncCommand (sub: 'status' | 'replay', legacy: TestDatabase, unified: TestDatabase): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io = { stdout: { write: (s: string) => { stdout += s } }, stderr: { write: (s: string) => { stderr += s } } }
  const code = legacy.url !== null && unified.url !== null
    ? await runMigrate(['sync', sub], { env: { LEGACY_DATABASE_URL: legacy.url, DATABASE_URL: unified.url }, ...io })
    // PGlite has no URL to connect to: the same command, on the test's own handles.
    : await runSyncCommand(sub, { legacy: legacy.handle, unified: unified.handle, describe: 'PGlite', close: async () => {} }, { json: false, batchSize: 500 }, io)
  return { code, stdout, stderr }
}

t.test('10 seconds without the unified database in the middle of a stream, and a poison change', async (t) => {
  t.comment(`seed ${SEED} (set SWITCHYARD_TEST_SEED to replay the same choices)`)
  const started = performance.now()
  const { legacyDb, unifiedDb } = await migratedPair(t)
  const legacy = legacyDb.handle
  const unified = unifiedDb.handle
  const follower = legacyDb.url !== null && unifiedDb.url !== null ? await childFollower(t, legacyDb, unifiedDb) : inProcessFollower(t, legacy, unified)
  t.comment(`the follower runs ${follower.via}`)
  await follower.start()
  const writer = startWriter(t, legacy, 'legacy', { rate: 50, seed: SEED, tag: 'W' })

  const read = async () => {
    const text = await follower.metrics()
    if (text === null) return null
    const of = (name: string) => ({
      toUnified: sample(text, name, { direction: 'legacy_to_unified' }),
      toLegacy: sample(text, name, { direction: 'unified_to_legacy' })
    })
    return { errors: of('switchyard_sync_errors_total'), lag: of('switchyard_sync_lag_seconds'), parked: of('switchyard_sync_dead_letters_total') }
  }
  const applied = async () => (await directionStatus(legacy, 'legacy', unified, 'unified', 'legacy_to_unified')).applied
  // What `sync status` shows for legacy → unified, read without going through the link.
  const statusLag = async () => lagSeconds(legacy, 'legacy', await readPosition(unified, 'unified', 'legacy_to_unified'))
  const garment = (id: number) => unified.query<{ external_id: string | null }>('SELECT external_id FROM unified.garments WHERE legacy_id = $1', [id])
  const item = (id: number) => legacy.query<{ depop_id: string }>('SELECT depop_id FROM legacy.items WHERE id = $1', [id])

  await within(30_000, 'the sync flowing', async () => await applied() > 0 && await statusLag() < 1 ? true : undefined)
  // A row whose change the test can hold up on unified, to stop a batch of the follower in the middle.
  const [{ id: heldId }] = await legacy.query<{ id: string }>("INSERT INTO legacy.items (depop_id, title, category, condition, price) VALUES ('held', 'Held', 'bags', 'good', 30) RETURNING id::text") as [{ id: string }]
  const held = Number(heldId)

  // Two garments claim the Depop ids of legacy items: legacy's unique constraint refuses them.
  const clashing = await Promise.all(['clash-a', 'clash-b'].map(async (depopId) => Number((await legacy.query<{ id: string }>(
    'INSERT INTO legacy.items (depop_id, title, category, condition, price) VALUES ($1, $1, \'tops\', \'new\', 10) RETURNING id::text', [depopId]))[0]!.id)))
  await within(15_000, 'the clashing and held items in unified', async () => (await Promise.all([...clashing, held].map(garment))).every((g) => g.length === 1) ? true : undefined)
  const made: number[] = []
  for (const externalId of ['clash-a', 'clash-b', null]) {
    const [g] = await unified.query<{ id: string }>(`INSERT INTO unified.garments (title, category, condition, price, external_id)
      VALUES ($1, 'jackets', 'good', 25, $2) RETURNING legacy_id::text AS id`, [`Made on unified (${externalId ?? 'fine'})`, externalId])
    made.push(Number(g!.id))
  }
  const [p1, p2, fine] = made as [number, number, number]
  await within(15_000, 'the fine garment in legacy', async () => (await item(fine)).length === 1 ? true : undefined)
  const letters = await within(15_000, 'two changes parked', async () => {
    const rows = await legacy.query<{ direction: string, row_id: string, op: string, reason: string, payload: unknown }>(
      'SELECT direction, row_id::text, op, reason, payload FROM legacy.sync_dead_letters ORDER BY row_id')
    return rows.length === 2 ? rows : undefined
  })
  t.match(letters.value, [
    { direction: 'unified_to_legacy', row_id: String(p1), op: 'I', reason: /^23505: duplicate key value violates unique constraint "items_depop_id_unique"/, payload: { depopId: 'clash-a' } },
    { direction: 'unified_to_legacy', row_id: String(p2), op: 'I', reason: /^23505: /, payload: { depopId: 'clash-b' } }
  ], 'the poison changes are parked in legacy.sync_dead_letters with their reason')
  t.equal((await read())?.parked.toLegacy, 2, 'and counted in switchyard_sync_dead_letters_total')
  t.same([await item(p1), await item(p2)], [[], []], 'neither reached legacy')
  const parked = await syncCommand('status', legacyDb, unifiedDb)
  t.equal(parked.code, 1, 'sync status exits 1 while changes are parked')
  t.match(parked.stdout, /PARKED: 2 change\(s\) could not be applied/, 'and says PARKED')
  t.match(parked.stdout, new RegExp(`row ${p1} at \\S+: 23505: duplicate key`), 'naming the row and the reason')

  // The outage, starting in the middle of a batch: on Postgres the test locks the garments table, changes
  // the held item on legacy, waits until the follower's batch is blocked on the lock, and cuts. A table lock,
  // because a row lock would give the test's transaction an id, and the follower reads no change made after
  // the oldest transaction still open.
  const before = (await read())!
  if (legacyDb.url !== null && unifiedDb.url !== null) {
    const unifiedName = new URL(unifiedDb.url).pathname.slice(1)
    await unified.transaction(async (tx) => {
      await tx.query('LOCK TABLE unified.garments IN EXCLUSIVE MODE')
      await legacy.query("UPDATE legacy.items SET title = 'Held, then changed', updated_at = now() WHERE id = $1", [held])
      await within(15_000, 'a batch of the follower waiting for the lock', async () => {
        const waiting = await legacy.query(`SELECT 1 FROM pg_stat_activity
          WHERE datname = $1 AND application_name = 'switchyard-migrate' AND wait_event_type = 'Lock'`, [unifiedName])
        return waiting.length > 0 ? true : undefined
      }, 5)
      await follower.cut()
    })
  } else {
    await follower.cut()
  }
  const cutAt = performance.now()
  const during: Array<{ metrics: Awaited<ReturnType<typeof read>>, statusLag: number }> = []
  while (performance.now() - cutAt < OUTAGE_MS) {
    await sleep(500)
    during.push({ metrics: await read(), statusLag: await statusLag() })
  }
  const outageStatus = await directionStatus(unified, 'unified', legacy, 'legacy', 'unified_to_legacy')
  const appliedBefore = await applied()
  await follower.restore()
  const restoredAt = performance.now()
  const ended = follower.ended()
  t.equal(ended, null, 'the follower survived losing its connection in the middle of a batch')
  if (ended !== null) {
    t.comment(`the follower ended (${ended}); its log:\n${follower.log()}\nstarted again to go on`)
    await follower.start()
  }
  const last = during.at(-1)!.metrics
  const show = (f: (m: NonNullable<typeof last>) => number) => during.map((s) => s.metrics === null ? '-' : f(s.metrics).toFixed(1)).join(' ')
  t.comment(`during the outage, every 500 ms: errors ${show((m) => m.errors.toUnified + m.errors.toLegacy)}; ` +
    `lag metric ${show((m) => m.lag.toUnified)}; status lag ${during.map((s) => s.statusLag.toFixed(1)).join(' ')}`)
  t.ok(last !== null && last.errors.toUnified > before.errors.toUnified && last.errors.toLegacy > before.errors.toLegacy,
    `switchyard_sync_errors_total grew in both directions (${before.errors.toUnified} → ${last?.errors.toUnified ?? '-'}, ${before.errors.toLegacy} → ${last?.errors.toLegacy ?? '-'})`)
  t.ok(during.at(-1)!.statusLag > OUTAGE_MS / 1000 - 3, `the lag sync status shows grew to ${during.at(-1)!.statusLag.toFixed(1)} s`)
  t.ok(last !== null && last.lag.toUnified > OUTAGE_MS / 1000 - 3, `switchyard_sync_lag_seconds{direction="legacy_to_unified"} grew with it (${last?.lag.toUnified.toFixed(1) ?? '-'} s)`)
  t.match(outageStatus.lastError, /\S/, 'sync status shows the last error of unified → legacy')

  await within(30_000, 'a batch after the restore', async () => await applied() > appliedBefore ? true : undefined)
  const firstBatchMs = performance.now() - restoredAt
  await within(30_000, 'the lag under 2 s', async () => {
    const m = await read()
    return m !== null && m.lag.toUnified < 2 && m.lag.toLegacy < 2 && await statusLag() < 2 ? true : undefined
  })
  const recoveryMs = performance.now() - restoredAt
  t.comment(`after the restore: first batch applied after ${firstBatchMs.toFixed(0)} ms, lag under 2 s in ${recoveryMs.toFixed(0)} ms`)
  t.ok(recoveryMs < RECOVERY_MS, `the lag recovered within ${RECOVERY_MS / 1000} s of the restore (${(recoveryMs / 1000).toFixed(1)} s)`)

  // Fix the causes: P1's own Depop id changes (a change of P1, captured like any other); for P2, the legacy
  // item it clashes with is renamed, which says nothing about P2, so only a replay brings P2 over.
  await unified.query("UPDATE unified.garments SET external_id = 'fixed-a', updated_at = now() WHERE legacy_id = $1", [p1])
  await legacy.query("UPDATE legacy.items SET depop_id = 'clash-b-renamed', updated_at = now() WHERE id = $1", [clashing[1]])
  await within(15_000, 'both fixes synced', async () => {
    const synced = (await item(p1))[0]?.depop_id === 'fixed-a' && (await garment(clashing[1]!))[0]?.external_id === 'clash-b-renamed'
    return synced && (await directionStatus(unified, 'unified', legacy, 'legacy', 'unified_to_legacy')).pending === 0 ? true : undefined
  })
  t.same(await item(p2), [], 'P2 stays parked until it is replayed')
  const replay = await syncCommand('replay', legacyDb, unifiedDb)
  t.equal(replay.code, 0, 'sync replay exits 0')
  t.match(replay.stdout, /Queued 2 parked change\(s\) again/, 'and queues both parked changes again')
  const replayed = await within(15_000, 'P2 in legacy', async () => (await item(p2))[0])
  t.equal(replayed.value.depop_id, 'clash-b', `after sync replay P2 reached legacy in ${replayed.ms.toFixed(0)} ms`)
  t.same(await legacy.query('SELECT row_id FROM legacy.sync_dead_letters WHERE replayed_at IS NULL'), [], 'every letter is marked replayed')
  const clean = await syncCommand('status', legacyDb, unifiedDb)
  t.equal(clean.code, 0, 'sync status exits 0 again')
  t.notMatch(clean.stdout, /PARKED|last error/, 'with nothing parked and no error left')

  await writer.stop()
  t.same(writer.errors.map((e) => e.message), [], 'no write to legacy failed')
  await within(30_000, 'both directions caught up', async () => {
    const waiting = (await directionStatus(legacy, 'legacy', unified, 'unified', 'legacy_to_unified')).pending +
      (await directionStatus(unified, 'unified', legacy, 'legacy', 'unified_to_legacy')).pending
    return waiting === 0 ? true : undefined
  }, 100)
  t.equal(await follower.stop(), 'exit 0', 'the follower stops when asked (SIGTERM), with exit code 0')
  const v = await verify(legacy, unified)
  t.same({ ok: v.ok, counts: v.counts }, { ok: true, counts: { missing: 0, extra: 0, different: 0 } }, `both sides hold the same ${v.checked} rows`)
  const counts = [
    (await legacy.query<{ n: number }>('SELECT count(*)::int AS n FROM legacy.items'))[0]!.n,
    (await unified.query<{ n: number }>('SELECT count(*)::int AS n FROM unified.garments'))[0]!.n
  ]
  t.equal(counts[0], counts[1], `the counts match (${counts[0]})`)
  const differences = await differencesFromWrites(unified, 'unified', writer.writes)
  t.same(differences.slice(0, 20), [], `every one of the ${writer.writes.length} writes to legacy arrived (${differences.length} differ)`)
  t.comment(`${JSON.stringify(writer.counts)}; total ${((performance.now() - started) / 1000).toFixed(1)} s`)
})

// The other side: legacy unreachable while clients write to unified. The follower runs in process here on
// both kinds of database, on a handle of legacy that fails every statement while cut.
t.test('legacy unreachable for a while: the writes to unified wait, then all arrive', async (t) => {
  const { legacyDb, unifiedDb } = await migratedPair(t)
  const unified = unifiedDb.handle
  const link = cuttableHandle(legacyDb.handle)
  const legacy = legacyDb.handle
  const registry = new Registry()
  const abort = new AbortController()
  const running = follow({ directions: directionsBetween(link.handle, unified), stories: new TemplateStoryGenerator(), metrics: new SyncMetrics(registry), log: quiet, signal: abort.signal })
  t.teardown(async () => { abort.abort(); await running })
  const writer = startWriter(t, unified, 'unified', { rate: 50, seed: SEED, tag: 'U' })
  const lag = async () => sample(await registry.metrics(), 'switchyard_sync_lag_seconds', { direction: 'unified_to_legacy' })
  const applied = async () => (await directionStatus(unified, 'unified', legacy, 'legacy', 'unified_to_legacy')).applied
  await within(15_000, 'the sync flowing', async () => await applied() > 0 ? true : undefined)

  await link.cut()
  const appliedAtCut = await applied()
  await sleep(4_000)
  t.equal(await applied(), appliedAtCut, 'nothing is applied while legacy is unreachable')
  t.ok(await lag() > 3, `the lag grows while it is (${(await lag()).toFixed(1)} s after 4 s)`)
  t.ok(sample(await registry.metrics(), 'switchyard_sync_errors_total', { direction: 'unified_to_legacy' }) > 0, 'the failed batches are counted')
  await link.restore()
  const recovered = await within(RECOVERY_MS, 'the lag under 2 s', async () => await lag() < 2 && await applied() > appliedAtCut ? true : undefined)
  t.pass(`legacy back: the lag fell under 2 s in ${recovered.ms.toFixed(0)} ms`)

  await writer.stop()
  t.same(writer.errors.map((e) => e.message), [], 'no write to unified failed')
  await within(30_000, 'caught up', async () => (await directionStatus(unified, 'unified', legacy, 'legacy', 'unified_to_legacy')).pending === 0 ? true : undefined, 100)
  abort.abort()
  await running
  const differences = await differencesFromWrites(legacy, 'legacy', writer.writes)
  t.same(differences.slice(0, 20), [], `every one of the ${writer.writes.length} writes to unified reached legacy (${differences.length} differ)`)
  const v = await verify(legacy, unified)
  t.same({ ok: v.ok, counts: v.counts }, { ok: true, counts: { missing: 0, extra: 0, different: 0 } }, `both sides hold the same ${v.checked} rows`)
})
