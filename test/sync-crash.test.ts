// The follower killed at random points while both sides are written to: after 20 SIGKILLs and restarts,
// once it has caught up, both databases hold the same rows, none twice, and each row holds its latest write.
// On Postgres the follower is `switchyard-migrate sync --follow`, a child process, killed with SIGKILL.
// On PGlite (no SWITCHYARD_TEST_PG_URL) a database lives inside one process and no child can reach it, so
// the same scenario runs the follower in process, stopped through its AbortSignal at the same random
// points; an abort lets the batch in flight finish, so only Postgres covers a kill in the middle of one.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Registry } from 'prom-client'
import { Prng } from '../services/catalogue/prng.ts'
import type { DatabaseHandle } from '../services/db/database.ts'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { verify } from '../services/migrate/verify.ts'
import { directionsBetween } from '../services/sync/directions.ts'
import { follow } from '../services/sync/follower.ts'
import { directionStatus, type DirectionStatus } from '../services/sync/status.ts'
import { SyncMetrics } from '../services/sync/sync-metrics.ts'
import { migratedPair } from './helpers/db.ts'
import { within } from './helpers/poll.ts'
import { startFollowerChild, type FollowerChild } from './helpers/sync-follower.ts'
import { differencesFromWrites, expectedTitles, startWriter } from './helpers/sync-writers.ts'

t.setTimeout(300_000)

const KILLS = 20
// Small batches, so that a kill often lands while a transaction of the follower is open, and a batch
// often ends inside a writer's transaction of several rows.
const BATCH = 20
const SEED = Number(process.env.SWITCHYARD_TEST_SEED ?? Math.floor(Math.random() * 1e9))

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0]

interface FollowerProcess {
  /** Starts a follower and resolves once it is following. */
  start (): Promise<void>
  /** Kills it at once; resolves with how it ended. */
  crash (): Promise<string>
  /** Asks it to stop; resolves with how it ended. */
  stop (): Promise<string>
}

function childFollower (t: TapTest, legacyUrl: string, unifiedUrl: string): FollowerProcess {
  let child: FollowerChild | undefined
  return {
    async start () { child = await startFollowerChild(t, { legacy: legacyUrl, unified: unifiedUrl }, ['--batch-size', String(BATCH)]) },
    crash: () => child!.kill('SIGKILL'),
    async stop () {
      const how = await child!.kill('SIGTERM')
      if (how !== 'exit 0') t.comment(`the follower ended with ${how}:\n${child!.log()}`)
      return how
    }
  }
}

function inProcessFollower (t: TapTest, legacy: DatabaseHandle, unified: DatabaseHandle): FollowerProcess {
  const quiet = { info () {}, warn () {}, error () {} }
  let abort = new AbortController()
  let running: Promise<void> = Promise.resolve()
  t.teardown(async () => { abort.abort(); await running })
  const end = async () => {
    abort.abort()
    await running
  }
  return {
    async start () {
      abort = new AbortController()
      running = follow({
        directions: directionsBetween(legacy, unified),
        stories: new TemplateStoryGenerator(),
        metrics: new SyncMetrics(new Registry()),
        log: quiet,
        signal: abort.signal,
        batchSize: BATCH
      })
    },
    async crash () { await end(); return 'aborted' },
    async stop () { await end(); return 'exit 0' }
  }
}

async function statusOf (legacy: DatabaseHandle, unified: DatabaseHandle): Promise<DirectionStatus[]> {
  return [
    await directionStatus(legacy, 'legacy', unified, 'unified', 'legacy_to_unified'),
    await directionStatus(unified, 'unified', legacy, 'legacy', 'unified_to_legacy')
  ]
}

/** Whether the follower has a transaction open on either database right now. */
async function inTransaction (db: DatabaseHandle, urls: string[]): Promise<boolean> {
  const names = urls.map((u) => new URL(u).pathname.slice(1))
  const open = await db.query(`SELECT 1 FROM pg_stat_activity
    WHERE application_name = 'switchyard-migrate' AND datname = ANY($1::text[]) AND xact_start IS NOT NULL`, [names])
  return open.length > 0
}

const count = async (db: DatabaseHandle, sql: string): Promise<number> => (await db.query<{ n: number }>(sql))[0]!.n

t.test(`${KILLS} kills at random points under writes on both sides lose nothing and duplicate nothing`, async (t) => {
  t.comment(`seed ${SEED} (set SWITCHYARD_TEST_SEED to replay the same choices)`)
  const started = performance.now()
  const { legacyDb, unifiedDb } = await migratedPair(t)
  const legacy = legacyDb.handle
  const unified = unifiedDb.handle

  // One pool of ids for both writers: each side also updates and deletes rows made on the other.
  const pool: number[] = []
  const writers = [
    startWriter(t, legacy, 'legacy', { rate: 50, seed: SEED, tag: 'L', pool }),
    startWriter(t, unified, 'unified', { rate: 50, seed: SEED, tag: 'U', pool })
  ]
  const follower = legacyDb.url !== null && unifiedDb.url !== null
    ? childFollower(t, legacyDb.url, unifiedDb.url)
    : inProcessFollower(t, legacy, unified)
  t.comment(`follower: ${legacyDb.kind === 'postgres' ? 'child process, SIGKILL' : 'in process, aborted (PGlite)'}`)

  const rng = new Prng(SEED, 3)
  const endings: string[] = []
  let midTransaction = 0
  for (let i = 0; i < KILLS; i++) {
    await follower.start()
    await sleep(100 + rng.int(501))
    if (legacyDb.url !== null && unifiedDb.url !== null) {
      // A batch's transaction lasts a few milliseconds, so a kill at a random moment rarely finds one open:
      // every other kill watches for one and strikes as soon as it sees it.
      const urls = [legacyDb.url, unifiedDb.url]
      const deadline = performance.now() + 2_000
      let open = await inTransaction(legacy, urls)
      if (i % 2 === 1) {
        while (!open && performance.now() < deadline) open = await inTransaction(legacy, urls)
      }
      midTransaction += Number(open)
    }
    endings.push(await follower.crash())
  }
  for (const w of writers) await w.stop()
  const killPhase = await statusOf(legacy, unified)
  const writes = writers.flatMap((w) => w.writes)
  t.comment(`kill phase: ${((performance.now() - started) / 1000).toFixed(1)} s; writes ${writers.map((w) => JSON.stringify(w.counts)).join(', ')}; ` +
    `applied by the killed followers: ${killPhase.map((s) => `${s.direction} ${s.applied}`).join(', ')}; waiting: ${killPhase.map((s) => s.pending).join(', ')}`)
  t.same(endings, Array(KILLS).fill(legacyDb.kind === 'postgres' ? 'SIGKILL' : 'aborted'), 'every follower was running until it was killed')
  t.same(writers.map((w) => w.errors.map((e) => e.message)), [[], []], 'no write failed')
  t.ok(killPhase.every((s) => s.applied > 0), 'the killed followers made progress in both directions between kills')
  if (legacyDb.kind === 'postgres') t.ok(midTransaction > 0, `${midTransaction} of ${KILLS} kills found a transaction of the follower open`)

  await follower.start()
  const drained = await within(60_000, 'both directions caught up', async () =>
    (await statusOf(legacy, unified)).every((s) => s.pending === 0) ? true : undefined, 100)
  t.comment(`the last follower caught up in ${drained.ms.toFixed(0)} ms`)
  t.equal(await follower.stop(), 'exit 0', 'the last follower stops when asked (SIGTERM), with exit code 0')

  const status = await statusOf(legacy, unified)
  t.same(status.map((s) => [s.direction, s.pending, s.parked]), [['legacy_to_unified', 0, 0], ['unified_to_legacy', 0, 0]], 'nothing waiting, nothing parked')
  const v = await verify(legacy, unified)
  t.same({ ok: v.ok, counts: v.counts }, { ok: true, counts: { missing: 0, extra: 0, different: 0 } }, `both sides hold the same ${v.checked} rows`)

  const items = await count(legacy, 'SELECT count(*)::int AS n FROM legacy.items')
  const garments = await count(unified, 'SELECT count(*)::int AS n FROM unified.garments')
  t.equal(await count(legacy, 'SELECT count(DISTINCT id)::int AS n FROM legacy.items'), items, 'no id twice on legacy')
  t.equal(await count(legacy, 'SELECT count(DISTINCT depop_id)::int AS n FROM legacy.items'), items, 'no Depop id twice on legacy')
  t.equal(await count(unified, 'SELECT count(DISTINCT legacy_id)::int AS n FROM unified.garments'), garments, 'no id twice on unified')
  t.equal(await count(unified, "SELECT count(DISTINCT coalesce(external_id, 'local-' || legacy_id))::int AS n FROM unified.garments"), garments, 'no Depop id twice on unified')

  const differences = await differencesFromWrites(legacy, 'legacy', writes)
  t.same(differences.slice(0, 20), [], `every row holds its latest write (${differences.length} differ)`)
  const present = [...expectedTitles(writes).values()].filter((titles) => titles[0] !== null).length
  t.equal(items, garments, 'the counts match')
  t.equal(items, present, `${items} rows on each side: the rows whose latest write is not a delete`)
  t.comment(`total ${((performance.now() - started) / 1000).toFixed(1)} s`)
})
