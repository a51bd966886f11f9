// Backfill, verify and rollback on a real database: Postgres when SWITCHYARD_TEST_PG_URL is set (always in
// CI), else PGlite. On Postgres the catalogue is full size, and the job is also killed with SIGKILL half
// way through and run again.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { loadLegacyCatalogue } from '../services/catalogue/load.ts'
import { backfill, BACKFILL_JOB } from '../services/migrate/backfill.ts'
import { rollbackBackfill } from '../services/migrate/rollback.ts'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { verify } from '../services/migrate/verify.ts'
import { V2_ID_START } from '../drizzle/unified/schema.ts'
import { migratedDatabase } from './helpers/db.ts'
import { ROOT } from './helpers/process-serve.ts'

// Full size on Postgres takes about a minute; PGlite runs in WASM and gets a smaller catalogue.
t.setTimeout(600_000)
const stories = new TemplateStoryGenerator()
const count = async (db: { query: <T>(q: string, p?: unknown[]) => Promise<T[]> }, sql: string, params: unknown[] = []) =>
  (await db.query<{ n: number }>(sql, params))[0]!.n

t.test('backfill then verify, at full size on Postgres', async (t) => {
  const { handle, kind } = await migratedDatabase(t, ['legacy', 'unified'])
  const items = kind === 'postgres' ? 25_677 : 1_000
  await loadLegacyCatalogue(handle, { seed: 20240501, count: items })
  const r = await backfill(handle, handle, { stories })
  t.equal(r.rows, items, `backfilled ${items} rows (${kind}) in ${r.ms.copy} ms, index ${r.ms.index} ms`)
  t.equal(r.indexRebuilt, true, 'a fresh load builds the HNSW index once, at the end')
  const index = await handle.query("SELECT indexdef FROM pg_indexes WHERE indexname = 'garments_embedding_hnsw_idx'")
  t.match(String((index[0] as { indexdef: string }).indexdef), /USING hnsw \(embedding vector_cosine_ops\)/)

  const v = await verify(handle, handle)
  t.same({ ok: v.ok, checked: v.checked, counts: v.counts }, { ok: true, checked: items, counts: { missing: 0, extra: 0, different: 0 } })
  const same = await handle.query<{ n: number }>(`SELECT count(*)::int AS n FROM legacy.items i JOIN unified.garments g ON g.legacy_id = i.id
    WHERE g.embedding::text = i.embedding::text AND g.external_id = i.depop_id`)
  t.equal(same[0]!.n, items, 'every embedding was copied bit for bit')

  const again = await backfill(handle, handle, { stories })
  t.equal(again.rows, items, 'a second pass goes over every row again')
  t.equal(await count(handle, 'SELECT count(*)::int AS n FROM unified.garments'), items, 'and leaves no duplicate')
  t.equal((await verify(handle, handle)).ok, true)
})

t.test('verify names the ids that are missing, extra or different', async (t) => {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  await loadLegacyCatalogue(handle, { seed: 3, count: 300 })
  await backfill(handle, handle, { stories })
  await handle.query("UPDATE unified.garments SET title = title || ' (edited)' WHERE legacy_id = 17")
  await handle.query('UPDATE unified.garments SET embedding = (SELECT embedding FROM unified.garments WHERE legacy_id = 2) WHERE legacy_id = 3')
  await handle.query('DELETE FROM unified.garments WHERE legacy_id IN (40, 41)')
  await handle.query('DELETE FROM legacy.items WHERE id = 99')
  const v = await verify(handle, handle)
  t.equal(v.ok, false)
  t.same(v.different, [3, 17])
  t.same(v.missing, [40, 41])
  t.same(v.extra, [99])
})

t.test('a job stopped half way resumes after its last committed batch, with no duplicate', async (t) => {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  await loadLegacyCatalogue(handle, { seed: 5, count: 600 })
  let batches = 0
  await t.rejects(backfill(handle, handle, {
    stories,
    batchSize: 100,
    afterBatch: () => { if (++batches === 4) throw new Error('crash') }
  }), { message: 'crash' })
  const [cp] = await handle.query<{ position: number, finished_at: unknown }>('SELECT position::int AS position, finished_at FROM unified.migration_checkpoints WHERE job = $1', [BACKFILL_JOB])
  t.same(cp, { position: 400, finished_at: null }, 'the checkpoint covers exactly the committed batches')
  t.equal(await count(handle, 'SELECT count(*)::int AS n FROM unified.garments'), 400)

  const r = await backfill(handle, handle, { stories, batchSize: 100 })
  t.equal(r.resumedFrom, 400)
  t.equal(r.rows, 200, 'only the rest was copied')
  t.equal(r.indexRebuilt, true, 'the index dropped by the first run is built')
  t.equal(await count(handle, 'SELECT count(*)::int AS n FROM unified.garments'), 600)
  t.equal((await verify(handle, handle)).ok, true)
})

t.test('SIGKILL half way through the CLI, then run it again', async (t) => {
  const { handle, url, kind } = await migratedDatabase(t, ['legacy', 'unified'])
  if (kind !== 'postgres' || url === null) {
    // PGlite lives inside one process; the in-process crash above covers it.
    t.pass('needs a database that outlives the process: covered on Postgres')
    return
  }
  await loadLegacyCatalogue(handle, { seed: 11, count: 4_000 })
  const env = { ...process.env, LEGACY_DATABASE_URL: url, DATABASE_URL: url }
  const cli = join(ROOT, 'services', 'migrate', 'bin', 'switchyard-migrate.ts')
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'backfill', '--batch-size', '100'], { env, stdio: 'ignore' })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  for (;;) {
    const [cp] = await handle.query<{ position: number }>('SELECT position::int AS position FROM unified.migration_checkpoints WHERE job = $1', [BACKFILL_JOB])
    if (cp !== undefined && cp.position >= 2_000) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  child.kill('SIGKILL')
  await exited
  const partial = await count(handle, 'SELECT count(*)::int AS n FROM unified.garments')
  t.ok(partial >= 2_000 && partial < 4_000, `killed with ${partial} of 4000 copied`)

  const second = spawn(process.execPath, ['--import', 'tsx', cli, 'backfill', '--batch-size', '100'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  second.stdout.on('data', (d) => { out += d })
  const code = await new Promise((resolve) => second.once('exit', resolve))
  t.equal(code, 0, out)
  t.match(out, /resumed after legacy id \d+/)
  t.equal(await count(handle, 'SELECT count(*)::int AS n FROM unified.garments'), 4_000, 'no duplicates')
  t.equal((await verify(handle, handle)).ok, true)
})

t.test('rollback removes what the backfill wrote and keeps garments created on the new side', async (t) => {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  await loadLegacyCatalogue(handle, { seed: 9, count: 300 })
  await backfill(handle, handle, { stories })
  await handle.query('INSERT INTO unified.garments (title, category, condition, story) VALUES (\'Made here\', \'tops\', \'like new\', \'{"text": "new"}\')')
  const r = await rollbackBackfill(handle)
  t.equal(r.deleted, 300)
  const left = await handle.query<{ legacy_id: string | number, title: string }>('SELECT legacy_id, title FROM unified.garments')
  t.equal(left.length, 1)
  t.ok(Number(left[0]!.legacy_id) >= V2_ID_START, 'the native garment has an id from the new side\'s range')
  t.equal((await handle.query('SELECT * FROM unified.migration_checkpoints')).length, 0, 'the checkpoint is gone')
  t.equal((await verify(handle, handle)).counts.missing, 300, 'verify now reports every item missing')
})
