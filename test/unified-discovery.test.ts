// GET /discovery of the unified service: the nearest garments by cosine distance, with filters, checked
// against a brute-force computation; and the plans of the kNN queries, which must come from the HNSW index.
// Postgres when SWITCHYARD_TEST_PG_URL is set (PostgreSQL 15 in CI), else PGlite (PostgreSQL 18).
import t from 'tap'
import { garments } from '../drizzle/unified/schema.ts'
import type { DatabaseHandle } from '../services/db/database.ts'
import { discoveryQuery } from '../services/unified/queries/garment-queries.ts'
import { nearestV2ItemsQuery } from '../services/unified/queries/v2-queries.ts'
import { catalogueItems, insertGarmentsOf } from './helpers/catalogue-rows.ts'
import { migratedDatabase } from './helpers/db.ts'
import { call, GARMENT_KEYS, unifiedService } from './helpers/unified-service.ts'

/** Cosine similarity, in doubles: what the database computes, to within float32 rounding. */
function similarity (a: number[], b: number[]): number {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number
    const y = b[i] as number
    dot += x * y
    na += x * x
    nb += y * y
  }
  return dot / Math.sqrt(na * nb)
}

t.test('GET /discovery finds the nearest garments, with filters', async (t) => {
  const { app, handle } = await unifiedService(t)
  const items = catalogueItems(150)
  await insertGarmentsOf(handle, items)
  // Some garments are swaps, without a price.
  await handle.query("UPDATE unified.garments SET exchange_type = 'swap', price = NULL WHERE legacy_id % 5 = 0")
  const rows = await handle.query<{ id: string, legacy_id: string, category: string, exchange_type: string, price: string | null }>(
    'SELECT id, legacy_id, category, exchange_type, price FROM unified.garments')
  const byId = new Map(rows.map((r) => [r.id, { ...r, embedding: items[Number(r.legacy_id) - 1]?.embedding ?? [] }]))
  const origin = rows.find((r) => r.legacy_id === '7')
  if (origin === undefined) throw new Error('garment 7 was not seeded')
  const originEmbedding = items[6]?.embedding ?? []

  async function check (query: string, k: number, keep: (g: { category: string, exchange_type: string, price: string | null }) => boolean): Promise<void> {
    const r = await call(app, 'GET', `/discovery?garment_id=${origin!.id}&k=${k}${query}`)
    const name = query === '' ? 'no filter' : query
    t.equal(r.status, 200, name)
    const results = r.body.results as Array<{ garment: { id: string }, score: number }>
    const candidates = [...byId.values()].filter((g) => g.id !== origin!.id && keep(g))
    t.equal(results.length, Math.min(k, candidates.length), `${name}: k results, when there are that many`)
    t.same(Object.keys(results[0]?.garment ?? {}), GARMENT_KEYS)
    const returned = new Set(results.map((x) => x.garment.id))
    t.notOk(returned.has(origin!.id), `${name}: never the garment itself`)
    t.ok(results.every((x) => keep(byId.get(x.garment.id)!)), `${name}: every result passes the filters`)
    t.ok(results.every((x, i) => i === 0 || x.score <= (results[i - 1]?.score ?? 1)), `${name}: most similar first`)
    t.ok(results.every((x) => Math.abs(x.score - similarity(originEmbedding, byId.get(x.garment.id)!.embedding)) < 1e-5), `${name}: score = 1 - cosine distance`)
    const last = results.at(-1)?.score ?? -1
    const better = candidates.filter((g) => !returned.has(g.id) && similarity(originEmbedding, g.embedding) > last + 1e-5)
    t.same(better.map((g) => g.id), [], `${name}: nothing left out is nearer than the last answer`)
  }

  await check('', 10, () => true)
  await check('', 60, () => true)
  await check(`&category=${origin.category}`, 10, (g) => g.category === origin.category)
  await check('&max_price=30', 10, (g) => g.price !== null && Number(g.price) <= 30)
  await check('&exchange_type=swap', 10, (g) => g.exchange_type === 'swap')
  await check(`&exchange_type=sell&max_price=60&category=${origin.category}`, 5, (g) => g.exchange_type === 'sell' && g.price !== null && Number(g.price) <= 60 && g.category === origin.category)
  const top = (await call(app, 'GET', `/discovery?garment_id=${origin.id}`)).body.results
  t.equal(top.length, 10, 'k defaults to 10')

  const [bare] = await handle.db.insert(garments).values({ title: 'No picture', category: 'tops', condition: 'new', price: '5.00' }).returning({ id: garments.id })
  const unknown = '7b0c1f0e-3f4a-4c59-9a51-54f1d1f6a0aa'
  const cases: Array<[string, number, string, string | RegExp]> = [
    [`garment_id=${unknown}`, 404, 'SY_ERR_GARMENT_NOT_FOUND', `there is no garment with id ${unknown}; GET /garments lists the garments there are`],
    [`garment_id=${bare?.id}`, 409, 'SY_ERR_GARMENT_NO_EMBEDDING', `garment ${bare?.id} has no embedding, so there is nothing to compare it with; PATCH an embedding onto it, or start from another garment`],
    ['garment_id=7', 400, 'SY_ERR_INVALID_REQUEST', 'garment_id: expected the id of the garment to find similar ones to (a UUID), got "7"'],
    ['k=10', 400, 'SY_ERR_INVALID_REQUEST', 'garment_id: missing; it is required (the id of the garment to find similar ones to (a UUID))'],
    [`garment_id=${origin.id}&k=0`, 400, 'SY_ERR_INVALID_REQUEST', 'k: expected an integer from 1 to 100, got 0'],
    [`garment_id=${origin.id}&k=101`, 400, 'SY_ERR_INVALID_REQUEST', 'k: expected an integer from 1 to 100, got 101'],
    [`garment_id=${origin.id}&k=2.5`, 400, 'SY_ERR_INVALID_REQUEST', 'k: expected an integer from 1 to 100, got "2.5"'],
    [`garment_id=${origin.id}&exchange_type=gift`, 400, 'SY_ERR_INVALID_REQUEST', 'exchange_type: expected one of sell, swap, rent, donate, got "gift"'],
    [`garment_id=${origin.id}&min_price=3`, 400, 'SY_ERR_INVALID_REQUEST', /^querystring: unknown field "min_price"; allowed fields: garment_id, k, category, max_price, exchange_type$/]
  ]
  for (const [query, status, code, message] of cases) {
    const r = await call(app, 'GET', `/discovery?${query}`)
    t.match(r, { status, body: { statusCode: status, code, message } }, `${query}: ${status} ${code}`)
  }
})

/** The plan, without the 3 kB vector literals. */
async function plan (handle: DatabaseHandle, query: { toSQL (): { sql: string, params: unknown[] } }): Promise<string> {
  const { sql: text, params } = query.toSQL()
  const rows = await handle.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, params)
  return rows.map((r) => r['QUERY PLAN'].replace(/'\[[^\]]*\]'/g, "'[...]'")).join('\n')
}

t.test('discovery and visual search are answered from the HNSW index', async (t) => {
  const { handle, kind } = await migratedDatabase(t, ['unified'])
  // pgvector's cost model counts the TOASTed vectors a sequential scan would read only when the heap is
  // smaller than the part of the index a scan visits; at 2,000 rows that holds for compact rows (with full
  // listing text, the index wins from about 10,000 rows). The rows are kept small so that the plan shows
  // whether the query's shape lets the index answer it, at a size a test can load.
  const items = catalogueItems(2_000)
  // Loaded as the catalogue loader does it: the index is built once over the loaded rows, exactly as the
  // migration defines it, which is many times faster than growing it row by row.
  const [index] = await handle.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'garments_embedding_hnsw_idx'")
  t.match(index?.indexdef, /USING hnsw \(embedding vector_cosine_ops\)/)
  await handle.query('DROP INDEX unified.garments_embedding_hnsw_idx')
  for (let i = 0; i < items.length; i += 250) {
    await handle.db.insert(garments).values(items.slice(i, i + 250).map((item) => ({
      legacyId: item.id, title: item.title, category: item.category, condition: item.condition, price: item.price, embedding: item.embedding
    })))
  }
  await handle.query(index?.indexdef ?? '')
  await handle.query('ANALYZE unified.garments')
  const [origin] = await handle.query<{ id: string, embedding: string }>('SELECT id, embedding::text AS embedding FROM unified.garments WHERE legacy_id = 7')
  if (origin === undefined) throw new Error('garment 7 was not seeded')

  const discovery = await plan(handle, discoveryQuery(handle.db, { embedding: origin.embedding, excludeId: origin.id, k: 10, filters: {} }))
  t.match(discovery, /Index Scan using garments_embedding_hnsw_idx on garments/, `discovery (${kind})`)
  t.match(discovery, /Order By: \(embedding <=> /)
  const search = await plan(handle, nearestV2ItemsQuery(handle.db, { vector: items[6]?.embedding ?? [], k: 10 }))
  t.match(search, /Index Scan using garments_embedding_hnsw_idx on garments/, `visual search by embedding (${kind})`)
  const byItem = await plan(handle, nearestV2ItemsQuery(handle.db, { vector: items[6]?.embedding ?? [], k: 10, excludeId: 7 }))
  t.match(byItem, /Index Scan using garments_embedding_hnsw_idx on garments/, `visual search by item (${kind})`)

  // The control: ordered by the score instead of the distance, the same query cannot use the index.
  const byScore = await handle.query<{ 'QUERY PLAN': string }>(
    'EXPLAIN SELECT id FROM unified.garments WHERE id <> $2 ORDER BY 1 - (embedding <=> $1::vector) DESC LIMIT 10', [origin.embedding, origin.id])
  t.notMatch(byScore.map((r) => r['QUERY PLAN']).join('\n'), /garments_embedding_hnsw_idx/, 'ordering by 1 - distance never uses the index')
})
