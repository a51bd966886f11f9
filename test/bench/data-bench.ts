// npm run bench:data: the data layer on real Postgres 15 + pgvector. A fresh database, the full synthetic
// catalogue, then: load, backfill (rows/s), HNSW index build, verify; /search_by_image latency at k=10
// through the real legacy service; recall@10 of the HNSW query against exact search; then the two-way sync
// (sync-bench.ts): throughput each way, end-to-end lag under steady writes, catch-up after an outage.
// Needs SWITCHYARD_TEST_PG_URL (a superuser URL; `source .ci/postgres.sh` starts such a server).
import { parseArgs } from 'node:util'
import { cpus } from 'node:os'
import { connectPostgres, type DatabaseHandle } from '../../services/db/database.ts'
import { migrateUp } from '../../services/db/migrate.ts'
import { loadLegacyCatalogue } from '../../services/catalogue/load.ts'
import { buildLegacyService } from '../../services/legacy/app.ts'
import { backfill } from '../../services/migrate/backfill.ts'
import { TemplateStoryGenerator } from '../../services/migrate/story.ts'
import { verify } from '../../services/migrate/verify.ts'
import { DEFAULT_SYNC_BENCH, QUICK_SYNC_BENCH, runSyncBench } from './sync-bench.ts'

const { values } = parseArgs({
  options: {
    items: { type: 'string' },
    queries: { type: 'string' },
    json: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'sync-changes': { type: 'string' },
    'sync-seconds': { type: 'string' },
    'outage-seconds': { type: 'string' }
  }
})
const ITEMS = Number(values.items ?? (values.quick ? 2_000 : 25_677))
const QUERIES = Number(values.queries ?? (values.quick ? 100 : 300))
const SYNC = values.quick ? QUICK_SYNC_BENCH : DEFAULT_SYNC_BENCH
const admin = process.env.SWITCHYARD_TEST_PG_URL
if (admin === undefined || admin === '') {
  console.error('bench:data needs a real Postgres 15 with pgvector: set SWITCHYARD_TEST_PG_URL (for example, run `source .ci/postgres.sh` first).')
  process.exit(1)
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const quantile = (xs: number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]! }

const server = await connectPostgres(admin)
const name = `sy_bench_${Date.now()}`
await server.query(`CREATE DATABASE ${name}`)
const url = new URL(admin)
url.pathname = `/${name}`
const db = await connectPostgres(url.toString(), { max: 8 })
const results: Record<string, unknown> = { items: ITEMS, machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version } }
try {
  const [{ version } = { version: '' }] = await db.query<{ version: string }>('SELECT version()')
  await migrateUp(db, 'legacy')
  await migrateUp(db, 'unified')
  const [{ extversion } = { extversion: '' }] = await db.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
  console.log(`${version.split(',')[0]}, pgvector ${extversion}; ${ITEMS.toLocaleString('en')} items`)

  const seeded = await loadLegacyCatalogue(db, { seed: 20240501, count: ITEMS })
  console.log(`seed (COPY + legacy HNSW index): ${secs(seeded.ms)}`)

  const t0 = performance.now()
  const b = await backfill(db, db, { stories: new TemplateStoryGenerator() })
  const t1 = performance.now()
  const v = await verify(db, db)
  const t2 = performance.now()
  if (!v.ok) throw new Error(`verify failed: ${JSON.stringify(v.counts)}`)
  const rate = b.rows / (b.ms.copy / 1000)
  Object.assign(results, { backfill_rows_per_s: Math.round(rate), backfill_ms: b.ms.copy, index_ms: b.ms.index, verify_ms: Math.round(t2 - t1), total_ms: Math.round(t2 - t0) })
  console.log(`backfill: ${b.rows.toLocaleString('en')} rows in ${secs(b.ms.copy)} (${Math.round(rate).toLocaleString('en')} rows/s)`)
  console.log(`HNSW index on garments: ${secs(b.ms.index)}`)
  console.log(`verify: ${secs(t2 - t1)}`)
  console.log(`backfill + index + verify: ${secs(t2 - t0)}  (target: 60 s)`)

  const queries = await queryVectors(db, QUERIES)
  const app = await buildLegacyService({ logger: false }, { db })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const latencies: number[] = []
  for (const q of queries) {
    const started = performance.now()
    const res = await fetch(`${base}/search_by_image`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ embedding: q, k: 10 }) })
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`search answered ${res.status}`)
    latencies.push(performance.now() - started)
  }
  await app.close()
  const p50 = quantile(latencies, 0.5)
  const p99 = quantile(latencies, 0.99)
  Object.assign(results, { search_p50_ms: p50, search_p99_ms: p99 })
  console.log(`/search_by_image k=10 over HTTP, ${queries.length} queries: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms  (target: p50 ≤ 10 ms)`)

  const recall = await recallAt10(db, queries.slice(0, 100))
  results.recall_at_10 = recall
  console.log(`recall@10 of the HNSW query against exact search, 100 queries: ${recall.toFixed(3)}  (target: ≥ 0.95)`)

  // The sync part runs for minutes: Ctrl-C ends it early, and its databases and this one are still dropped.
  const interrupted = new AbortController()
  const onSignal = () => interrupted.abort()
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal)
  Object.assign(results, await runSyncBench(admin, {
    ...SYNC,
    changes: Number(values['sync-changes'] ?? SYNC.changes),
    steadySeconds: Number(values['sync-seconds'] ?? SYNC.steadySeconds),
    outageSeconds: Number(values['outage-seconds'] ?? SYNC.outageSeconds),
    signal: interrupted.signal
  }).finally(() => process.off('SIGINT', onSignal).off('SIGTERM', onSignal)))
} finally {
  await db.close()
  await server.query(`DROP DATABASE IF EXISTS ${name}`)
  await server.close()
}
if (values.json !== undefined) {
  const { writeFileSync } = await import('node:fs')
  writeFileSync(values.json, JSON.stringify(results, null, 2))
}

/** Query vectors near real items, as a photo of a listed garment would be: an item's embedding plus noise. */
async function queryVectors (db: DatabaseHandle, n: number): Promise<number[][]> {
  const rows = await db.query<{ e: string }>('SELECT embedding::text AS e FROM legacy.items ORDER BY md5(id::text) LIMIT $1', [n])
  let s = 12345
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 - 0.5 }
  return rows.map((r) => {
    const v = JSON.parse(r.e) as number[]
    const noisy = v.map((x) => x + rnd() * 0.02)
    const norm = Math.hypot(...noisy)
    return noisy.map((x) => x / norm)
  })
}

async function recallAt10 (db: DatabaseHandle, queries: number[][]): Promise<number> {
  let hits = 0
  for (const q of queries) {
    const lit = `[${q.join(',')}]`
    const approx = await db.query<{ id: number }>('SELECT id FROM legacy.items ORDER BY embedding <=> $1::vector LIMIT 10', [lit])
    const exact = await db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_indexscan = off')
      return tx.query<{ id: number }>('SELECT id FROM legacy.items ORDER BY embedding <=> $1::vector LIMIT 10', [lit])
    })
    const truth = new Set(exact.map((r) => Number(r.id)))
    hits += approx.filter((r) => truth.has(Number(r.id))).length
  }
  return hits / (queries.length * 10)
}
