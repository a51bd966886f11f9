// The legacy v2.0 service over real HTTP on real Postgres with pgvector (PGlite without
// SWITCHYARD_TEST_PG_URL): every endpoint, every kind of bad input with its code and message, and the
// visual search answered from the HNSW index.
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { items } from '../drizzle/legacy/schema.ts'
import type { DatabaseHandle } from '../services/db/database.ts'
import { buildLegacyService } from '../services/legacy/app.ts'
import { applySearchSettings, nearestItemsQuery } from '../services/legacy/nearest-items.ts'
import type { V2Item } from '../services/shared/v2-item.ts'
import { V2_EMBEDDING_DIMENSIONS as DIM } from '../services/shared/v2-schemas.ts'
import { migratedDatabase } from './helpers/db.ts'

const CATEGORIES = ['tops', 'bottoms', 'shoes', 'bags']
const PER_CATEGORY = 8

/** A unit vector with the given non-zero coordinates. */
function unitVector (entries: Array<[number, number]>): number[] {
  const v = new Array<number>(DIM).fill(0)
  for (const [i, x] of entries) v[i] = (v[i] ?? 0) + x
  const norm = Math.hypot(...v)
  return v.map((x) => x / norm)
}

// Each category has its own axis; item j of a category leans off it by 0.1 * (j + 1) along a coordinate of
// its own. So within a category, similarity to the axis falls as j grows, and items of different categories
// are orthogonal: their distance is exactly 1, a tie that only the id breaks.
const axis = (c: number): number => c
const fixtureEmbedding = (c: number, j: number): number[] => unitVector([[axis(c), 1], [16 + c * PER_CATEGORY + j, 0.1 * (j + 1)]])

interface FixtureItem {
  id: number
  depopId: string
  title: string
  description: string
  category: string
  condition: string
  size: string | null
  brand: string | null
  price: string
  imageUrl: string | null
  listingUrl: string | null
  embedding: number[] | null
  createdAt: Date
  updatedAt: Date
}

const PRICES = ['12.50', '0.00', '99999999.99', '7.05']

function fixtureRows (): Array<Omit<FixtureItem, 'id'>> {
  const rows: Array<Omit<FixtureItem, 'id'>> = []
  const stamp = (n: number): Date => new Date(Date.UTC(2024, 0, 1, 0, 0, n, 250))
  // Interleaved, so that a category's ids are not consecutive.
  for (let j = 0; j < PER_CATEGORY; j++) {
    CATEGORIES.forEach((category, c) => {
      const n = rows.length
      rows.push({
        depopId: `depop-${category}-${j}`,
        title: `${category} piece ${j}`,
        description: j % 3 === 0 ? '' : `a ${category} piece in good shape`,
        category,
        condition: ['new', 'like new', 'used'][j % 3] ?? 'used',
        size: j % 2 === 0 ? 'M' : null,
        brand: j % 4 === 0 ? null : 'Levi\'s',
        price: PRICES[j % 4] ?? '1.00',
        imageUrl: j % 5 === 0 ? null : `https://img.example/${category}/${j}.jpg`,
        listingUrl: `https://depop.example/products/${category}-${j}`,
        embedding: fixtureEmbedding(c, j),
        createdAt: stamp(n),
        updatedAt: new Date(stamp(n).getTime() + 86_400_000)
      })
    })
  }
  for (let j = 0; j < 2; j++) {
    rows.push({ depopId: `depop-plain-${j}`, title: `plain ${j}`, description: '', category: 'tops', condition: 'used', size: null, brand: null, price: '5.00', imageUrl: null, listingUrl: null, embedding: null, createdAt: stamp(100 + j), updatedAt: stamp(100 + j) })
  }
  return rows
}

async function insertFixture (handle: DatabaseHandle): Promise<FixtureItem[]> {
  const rows = fixtureRows()
  const ids = await handle.db.insert(items).values(rows).returning({ id: items.id })
  return rows.map((r, i) => ({ ...r, id: ids[i]?.id ?? 0 }))
}

/** The item as the v2.0 API must show it, built from the fixture rather than read back. */
function expectedItem (f: FixtureItem): V2Item {
  return {
    id: f.id,
    depop_id: f.depopId,
    title: f.title,
    description: f.description,
    category: f.category,
    condition: f.condition,
    size: f.size,
    brand: f.brand,
    price: Number(f.price),
    image_url: f.imageUrl,
    listing_url: f.listingUrl,
    created_at: f.createdAt.toISOString(),
    updated_at: f.updatedAt.toISOString()
  }
}

/** Exact nearest neighbours: stored as float32, ordered by cosine distance, then id. */
function bruteForce (fixture: FixtureItem[], query: number[], opts: { k: number, category?: string, excludeId?: number }): Array<{ id: number, score: number }> {
  const q = query.map(Math.fround)
  const cos = (v: number[]): number => {
    const w = v.map(Math.fround)
    let dot = 0; let nq = 0; let nw = 0
    for (let i = 0; i < DIM; i++) { dot += (q[i] ?? 0) * (w[i] ?? 0); nq += (q[i] ?? 0) ** 2; nw += (w[i] ?? 0) ** 2 }
    return dot / Math.sqrt(nq * nw)
  }
  return fixture
    .filter((f) => f.embedding !== null && (opts.category === undefined || f.category === opts.category) && f.id !== opts.excludeId)
    .map((f) => ({ id: f.id, score: cos(f.embedding ?? []) }))
    .sort((a, b) => (b.score - a.score) || (a.id - b.id))
    .slice(0, opts.k)
}

interface Setup {
  base: string
  handle: DatabaseHandle
  fixture: FixtureItem[]
  clock: { now: Date }
}

/** The service on a free port, closed by the test's teardown. */
async function serve (t: Test, handle: DatabaseHandle, now?: () => Date): Promise<string> {
  const app = await buildLegacyService({ logger: false }, now === undefined ? { db: handle } : { db: handle, now })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as AddressInfo
  return `http://127.0.0.1:${port}`
}

async function setup (t: Test): Promise<Setup> {
  const { handle } = await migratedDatabase(t, ['legacy'])
  const fixture = await insertFixture(handle)
  const clock = { now: new Date('2025-06-01T10:00:00.123Z') }
  return { base: await serve(t, handle, () => clock.now), handle, fixture, clock }
}

interface Answer { status: number, text: string, body: unknown, contentType: string | null }

async function call (s: { base: string }, method: string, path: string, opts: { json?: unknown, body?: string, headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers }
  let body = opts.body
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json)
    headers['content-type'] = 'application/json'
  } else if (body !== undefined) {
    headers['content-type'] ??= 'application/json'
  }
  const res = await fetch(s.base + path, { method, headers, body })
  const text = await res.text()
  return { status: res.status, text, body: text === '' ? undefined : JSON.parse(text), contentType: res.headers.get('content-type') }
}

function checkError (t: Test, name: string, a: Answer, status: number, code: string, message: RegExp): void {
  const b = a.body as { statusCode?: number, code?: string, error?: string, message?: string } | undefined
  t.equal(a.status, status, `${name}: status ${status}`)
  t.same(Object.keys(b ?? {}), ['statusCode', 'code', 'error', 'message'], `${name}: the error shape`)
  t.equal(b?.statusCode, status, `${name}: statusCode in the body`)
  t.equal(b?.code, code, `${name}: ${code}`)
  t.match(b?.message, message, `${name}: the message says what to fix`)
}

type Case = [name: string, send: () => Promise<Answer>, status: number, code: string, message: RegExp]

async function checkCases (t: Test, cases: Case[]): Promise<void> {
  for (const [name, send, status, code, message] of cases) checkError(t, name, await send(), status, code, message)
}

const find = (fixture: FixtureItem[], depopId: string): FixtureItem => {
  const f = fixture.find((x) => x.depopId === depopId)
  if (f === undefined) throw new Error(`no fixture item ${depopId}`)
  return f
}

const NEW_ITEM = {
  depop_id: 'depop-new-1',
  title: 'Corduroy jacket',
  category: 'outerwear',
  condition: 'used',
  price: 45.5
}

t.test('GET /healthz, and an unknown endpoint', async (t) => {
  const s = await setup(t)
  const ok = await call(s, 'GET', '/healthz')
  t.equal(ok.status, 200)
  t.equal(ok.text, '{"status":"ok"}')
  t.match(ok.contentType, /^application\/json/)
  await checkCases(t, [
    ['an unknown path', () => call(s, 'GET', '/nope'), 404, 'SY_ERR_NOT_FOUND', /^GET \/nope is not an endpoint of the v2\.0 API; it has GET and POST \/items/],
    ['an unknown method', () => call(s, 'PATCH', '/items/1', { json: { title: 'x' } }), 404, 'SY_ERR_NOT_FOUND', /^PATCH \/items\/1 is not an endpoint/]
  ])
})

t.test('GET /items pages through the items by id, with an optional category', async (t) => {
  const s = await setup(t)
  const all = [...s.fixture].sort((a, b) => a.id - b.id)

  const first = await call(s, 'GET', '/items')
  t.equal(first.status, 200)
  t.equal(first.text, JSON.stringify({ items: all.slice(0, 20).map(expectedItem), total: all.length, limit: 20, offset: 0 }),
    'defaults: the first 20 by id, every field in the v2.0 order')

  const last = await call(s, 'GET', '/items?limit=5&offset=30')
  t.same(last.body, { items: all.slice(30, 35).map(expectedItem), total: all.length, limit: 5, offset: 30 }, 'the last page is short')

  const past = await call(s, 'GET', '/items?offset=1000')
  t.same(past.body, { items: [], total: all.length, limit: 20, offset: 1000 }, 'past the end: no items, the same total')

  const shoes = all.filter((f) => f.category === 'shoes')
  const page = await call(s, 'GET', '/items?category=shoes&limit=3&offset=3')
  t.same(page.body, { items: shoes.slice(3, 6).map(expectedItem), total: shoes.length, limit: 3, offset: 3 }, 'a category pages on its own')
  t.ok(shoes.slice(3, 6).every((f, i, a) => i === 0 || f.id > (a[i - 1]?.id ?? 0)), 'ascending ids')

  const none = await call(s, 'GET', '/items?category=Shoes')
  t.same(none.body, { items: [], total: 0, limit: 20, offset: 0 }, 'category matches exactly, case included')

  const max = await call(s, 'GET', '/items?limit=100')
  t.equal((max.body as { items: unknown[] }).items.length, all.length, 'limit 100 is allowed')

  await checkCases(t, [
    ['limit 0', () => call(s, 'GET', '/items?limit=0'), 400, 'SY_ERR_BAD_REQUEST', /^limit: expected an integer from 1 to 100, got 0$/],
    ['limit 101', () => call(s, 'GET', '/items?limit=101'), 400, 'SY_ERR_BAD_REQUEST', /^limit: expected an integer from 1 to 100, got 101$/],
    ['limit abc', () => call(s, 'GET', '/items?limit=abc'), 400, 'SY_ERR_BAD_REQUEST', /^limit: expected an integer from 1 to 100, got "abc"$/],
    ['limit 2.5', () => call(s, 'GET', '/items?limit=2.5'), 400, 'SY_ERR_BAD_REQUEST', /^limit: expected an integer from 1 to 100/],
    ['offset -1', () => call(s, 'GET', '/items?offset=-1'), 400, 'SY_ERR_BAD_REQUEST', /^offset: expected an integer of 0 or more, got -1$/],
    ['offset 1e400', () => call(s, 'GET', '/items?offset=1e400'), 400, 'SY_ERR_BAD_REQUEST', /^offset: expected an integer of 0 or more, got Infinity$/],
    ['limit Infinity', () => call(s, 'GET', '/items?limit=Infinity'), 400, 'SY_ERR_BAD_REQUEST', /^limit: expected an integer from 1 to 100, got Infinity$/],
    ['an empty category', () => call(s, 'GET', '/items?category='), 400, 'SY_ERR_BAD_REQUEST', /^category: expected a category name, matched exactly, got ""$/],
    ['an unknown parameter', () => call(s, 'GET', '/items?categry=shoes'), 400, 'SY_ERR_BAD_REQUEST', /^querystring: unknown parameter "categry"; allowed: limit, offset, category$/]
  ])
})

t.test('GET /items/:id', async (t) => {
  const s = await setup(t)
  const f = find(s.fixture, 'depop-bags-2')
  const one = await call(s, 'GET', `/items/${f.id}`)
  t.equal(one.status, 200)
  t.equal(one.text, JSON.stringify(expectedItem(f)), 'the item, byte for byte')
  const plain = find(s.fixture, 'depop-plain-0')
  t.same((await call(s, 'GET', `/items/${plain.id}`)).body, expectedItem(plain), 'an item without an embedding reads the same way')

  await checkCases(t, [
    ['an unknown id', () => call(s, 'GET', '/items/999999'), 404, 'SY_ERR_ITEM_NOT_FOUND', /^there is no item with id 999999; GET \/items lists the items$/],
    ['a word', () => call(s, 'GET', '/items/abc'), 400, 'SY_ERR_BAD_REQUEST', /^id: expected an item id \(a positive integer\), got "abc"$/],
    ['a fraction', () => call(s, 'GET', '/items/1.5'), 400, 'SY_ERR_BAD_REQUEST', /^id: expected an item id \(a positive integer\), got "1\.5"$/],
    ['zero', () => call(s, 'GET', '/items/0'), 400, 'SY_ERR_BAD_REQUEST', /^id: expected an item id \(a positive integer\), got 0$/],
    ['a negative id', () => call(s, 'GET', '/items/-4'), 400, 'SY_ERR_BAD_REQUEST', /^id: expected an item id/],
    ['an id too large for a number', () => call(s, 'GET', '/items/1e400'), 400, 'SY_ERR_BAD_REQUEST', /^id: expected an item id \(a positive integer\), got Infinity$/]
  ])
})

t.test('POST /items creates an item', async (t) => {
  const s = await setup(t)
  const created = await call(s, 'POST', '/items', { json: NEW_ITEM })
  t.equal(created.status, 201)
  const item = created.body as V2Item
  t.ok(item.id > Math.max(...s.fixture.map((f) => f.id)), 'a new id')
  t.equal(created.text, JSON.stringify({
    id: item.id,
    depop_id: 'depop-new-1',
    title: 'Corduroy jacket',
    description: '',
    category: 'outerwear',
    condition: 'used',
    size: null,
    brand: null,
    price: 45.5,
    image_url: null,
    listing_url: null,
    created_at: '2025-06-01T10:00:00.123Z',
    updated_at: '2025-06-01T10:00:00.123Z'
  }), 'the defaults, and created_at = updated_at = now, to the millisecond')
  t.equal((await call(s, 'GET', `/items/${item.id}`)).text, created.text, 'it reads back the same')

  const full = { depop_id: 'depop-new-2', title: 'Boots', description: 'worn twice', category: 'shoes', condition: 'like new', size: '42', brand: 'Dr. Martens', price: 99999999.99, image_url: 'https://img.example/b.jpg', listing_url: 'https://depop.example/b', embedding: fixtureEmbedding(2, 0) }
  const second = await call(s, 'POST', '/items', { json: full })
  t.equal(second.status, 201)
  const { embedding: _e, ...shown } = full
  t.match(second.body, shown, 'every field is stored; the embedding is not shown')
  t.notOk('embedding' in (second.body as object), 'no embedding in the answer')
  const nearest = await call(s, 'POST', '/search_by_image', { json: { item_id: (second.body as V2Item).id, k: 1 } })
  t.equal((nearest.body as { results: Array<{ item: V2Item }> }).results[0]?.item.depop_id, 'depop-shoes-0', 'its embedding is searchable')

  const total = async (): Promise<number> => ((await call(s, 'GET', '/items')).body as { total: number }).total
  const before = await total()
  const embedding = fixtureEmbedding(0, 0)
  const withEntry = (i: number, raw: string): string => {
    const parts = embedding.map(String)
    parts[i] = raw
    return JSON.stringify({ ...NEW_ITEM, depop_id: 'depop-new-3' }).replace(/}$/, `,"embedding":[${parts.join(',')}]}`)
  }
  await checkCases(t, [
    ['a duplicate depop_id', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, depop_id: 'depop-tops-0' } }), 409, 'SY_ERR_DUPLICATE_DEPOP_ID', /^depop_id "depop-tops-0" is already taken by another item/],
    ['no depop_id', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, depop_id: undefined } }), 400, 'SY_ERR_BAD_REQUEST', /^depop_id: missing; it is required \(the Depop listing id, 1 to 64 characters\)$/],
    ['no title', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, title: undefined } }), 400, 'SY_ERR_BAD_REQUEST', /^title: missing; it is required/],
    ['no category', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, category: undefined } }), 400, 'SY_ERR_BAD_REQUEST', /^category: missing; it is required/],
    ['no condition', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, condition: undefined } }), 400, 'SY_ERR_BAD_REQUEST', /^condition: missing; it is required/],
    ['no price', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, price: undefined } }), 400, 'SY_ERR_BAD_REQUEST', /^price: missing; it is required \(a number from 0 to 99999999\.99 with at most 2 decimals\)$/],
    ['an empty depop_id', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, depop_id: '' } }), 400, 'SY_ERR_BAD_REQUEST', /^depop_id: expected the Depop listing id, 1 to 64 characters, got ""$/],
    ['a 65-character depop_id', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, depop_id: 'd'.repeat(65) } }), 400, 'SY_ERR_BAD_REQUEST', /^depop_id: expected the Depop listing id, 1 to 64 characters, got "d{20}/],
    ['a negative price', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, price: -1 } }), 400, 'SY_ERR_BAD_REQUEST', /^price: expected a number from 0 to 99999999\.99 with at most 2 decimals, got -1$/],
    ['a price with 3 decimals', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, price: 12.345 } }), 400, 'SY_ERR_BAD_REQUEST', /^price: expected a number from 0 to 99999999\.99 with at most 2 decimals, got 12\.345$/],
    ['a price too large', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, price: 100000000 } }), 400, 'SY_ERR_BAD_REQUEST', /^price: expected a number from 0/],
    ['a price as text', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, price: '12' } }), 400, 'SY_ERR_BAD_REQUEST', /^price: expected a number from 0 to 99999999\.99 with at most 2 decimals, got "12"$/],
    ['a title that is a number', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, title: 5 } }), 400, 'SY_ERR_BAD_REQUEST', /^title: expected a non-empty string, got 5$/],
    ['an unknown field', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, colour: 'red' } }), 400, 'SY_ERR_BAD_REQUEST', /^body: unknown field "colour"; allowed: depop_id, title, description, category, condition, size, brand, price, image_url, listing_url, embedding$/],
    ['a 3-number embedding', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, embedding: [1, 0, 0] } }), 400, 'SY_ERR_BAD_REQUEST', /^embedding: expected an array of exactly 768 finite numbers, or null, got an array of 3$/],
    ['a text entry in the embedding', () => call(s, 'POST', '/items', { body: withEntry(5, '"x"') }), 400, 'SY_ERR_BAD_REQUEST', /^embedding\[5\]: expected a finite number, got "x"$/],
    ['an infinite entry in the embedding', () => call(s, 'POST', '/items', { body: withEntry(7, '1e999') }), 400, 'SY_ERR_BAD_REQUEST', /^embedding\[7\]: expected a finite number, got Infinity$/],
    ['a body that is not JSON', () => call(s, 'POST', '/items', { body: '{"title": ' }), 400, 'SY_ERR_BAD_JSON', /^the request body is not valid JSON \(.+\); send a JSON object$/],
    ['an empty JSON body', () => call(s, 'POST', '/items', { body: '' }), 400, 'SY_ERR_BAD_JSON', /the body is empty/],
    ['no body', () => call(s, 'POST', '/items'), 400, 'SY_ERR_BAD_REQUEST', /^body: expected a JSON object with depop_id, title, category, condition and price, got nothing$/],
    ['a JSON array', () => call(s, 'POST', '/items', { json: [NEW_ITEM] }), 400, 'SY_ERR_BAD_REQUEST', /^body: expected a JSON object with depop_id/],
    ['a text body', () => call(s, 'POST', '/items', { body: 'title=x', headers: { 'content-type': 'text/plain' } }), 415, 'SY_ERR_UNSUPPORTED_MEDIA_TYPE', /^content-type "text\/plain" is not accepted; send application\/json$/],
    ['an oversized body', () => call(s, 'POST', '/items', { json: { ...NEW_ITEM, description: 'x'.repeat(1024 * 1024) } }), 413, 'SY_ERR_BODY_TOO_LARGE', /^the request body is larger than 1048576 bytes/]
  ])
  t.equal(await total(), before, 'no bad request wrote anything')
})

t.test('PUT /items/:id merges the fields sent and moves updated_at', async (t) => {
  const s = await setup(t)
  const f = find(s.fixture, 'depop-shoes-1')
  s.clock.now = new Date('2025-07-04T08:30:15.456Z')
  const put = await call(s, 'PUT', `/items/${f.id}`, { json: { title: 'Loafers', price: 30, brand: null, size: '41' } })
  t.equal(put.status, 200)
  const expected = { ...expectedItem(f), title: 'Loafers', price: 30, brand: null, size: '41', updated_at: '2025-07-04T08:30:15.456Z' }
  t.equal(put.text, JSON.stringify(expected), 'the fields sent change, null clears, the rest stay, created_at stays')
  t.equal((await call(s, 'GET', `/items/${f.id}`)).text, put.text, 'and it is stored')

  s.clock.now = new Date('2025-07-05T00:00:00.000Z')
  const again = await call(s, 'PUT', `/items/${f.id}`, { json: { depop_id: 'depop-renamed' } })
  t.same(again.body, { ...expected, depop_id: 'depop-renamed', updated_at: '2025-07-05T00:00:00.000Z' }, 'depop_id can change; updated_at moves again')

  // From now on the item is searched by its new embedding, which sits on the tops axis.
  await call(s, 'PUT', `/items/${f.id}`, { json: { embedding: fixtureEmbedding(0, 0) } })
  const near = await call(s, 'POST', '/search_by_image', { json: { item_id: f.id, k: 1 } })
  t.equal((near.body as { results: Array<{ item: V2Item }> }).results[0]?.item.depop_id, 'depop-tops-0', 'a new embedding is searched with')
  const cleared = await call(s, 'PUT', `/items/${f.id}`, { json: { embedding: null } })
  t.equal(cleared.status, 200)
  checkError(t, 'a cleared embedding', await call(s, 'POST', '/search_by_image', { json: { item_id: f.id } }), 404, 'SY_ERR_ITEM_HAS_NO_EMBEDDING', /has no embedding/)

  const other = find(s.fixture, 'depop-bags-3')
  await checkCases(t, [
    ['an unknown id', () => call(s, 'PUT', '/items/999999', { json: { title: 'x' } }), 404, 'SY_ERR_ITEM_NOT_FOUND', /^there is no item with id 999999/],
    ['a duplicate depop_id', () => call(s, 'PUT', `/items/${other.id}`, { json: { depop_id: 'depop-tops-0' } }), 409, 'SY_ERR_DUPLICATE_DEPOP_ID', /^depop_id "depop-tops-0" is already taken/],
    ['no field', () => call(s, 'PUT', `/items/${other.id}`, { json: {} }), 400, 'SY_ERR_BAD_REQUEST', /^body: send at least one of depop_id, title, description, category, condition, size, brand, price, image_url, listing_url, embedding$/],
    ['a wrong type', () => call(s, 'PUT', `/items/${other.id}`, { json: { price: 'free' } }), 400, 'SY_ERR_BAD_REQUEST', /^price: expected a number from 0 to 99999999\.99 with at most 2 decimals, got "free"$/],
    ['a null title', () => call(s, 'PUT', `/items/${other.id}`, { json: { title: null } }), 400, 'SY_ERR_BAD_REQUEST', /^title: expected a non-empty string, got null$/],
    ['an unknown field', () => call(s, 'PUT', `/items/${other.id}`, { json: { seller_id: 1 } }), 400, 'SY_ERR_BAD_REQUEST', /^body: unknown field "seller_id"/],
    ['a word for an id', () => call(s, 'PUT', '/items/abc', { json: { title: 'x' } }), 400, 'SY_ERR_BAD_REQUEST', /^id: expected an item id \(a positive integer\), got "abc"$/]
  ])
  t.same((await call(s, 'GET', `/items/${other.id}`)).body, expectedItem(other), 'failed updates changed nothing')
})

t.test('DELETE /items/:id', async (t) => {
  const s = await setup(t)
  const f = find(s.fixture, 'depop-tops-3')
  const del = await call(s, 'DELETE', `/items/${f.id}`)
  t.equal(del.status, 204)
  t.equal(del.text, '', 'no body')
  await checkCases(t, [
    ['GET after DELETE', () => call(s, 'GET', `/items/${f.id}`), 404, 'SY_ERR_ITEM_NOT_FOUND', new RegExp(`^there is no item with id ${f.id};`)],
    ['DELETE again', () => call(s, 'DELETE', `/items/${f.id}`), 404, 'SY_ERR_ITEM_NOT_FOUND', /^there is no item with id/],
    ['an unknown id', () => call(s, 'DELETE', '/items/999999'), 404, 'SY_ERR_ITEM_NOT_FOUND', /999999/],
    ['a word for an id', () => call(s, 'DELETE', '/items/abc'), 400, 'SY_ERR_BAD_REQUEST', /^id: expected an item id/]
  ])
  const list = await call(s, 'GET', '/items?limit=100')
  t.equal((list.body as { total: number }).total, s.fixture.length - 1, 'one item fewer')
  t.notOk((list.body as { items: V2Item[] }).items.some((i) => i.id === f.id), 'and not listed')
  const near = await call(s, 'POST', '/search_by_image', { json: { embedding: fixtureEmbedding(0, 3), k: 3 } })
  t.notOk((near.body as { results: Array<{ item: V2Item }> }).results.some((r) => r.item.id === f.id), 'nor found by search')
})

t.test('POST /search_by_image ranks by cosine similarity', async (t) => {
  const s = await setup(t)
  type Results = { results: Array<{ item: V2Item, score: number }> }
  const check = async (name: string, body: Record<string, unknown>, expected: Array<{ id: number, score: number }>): Promise<Results> => {
    const res = await call(s, 'POST', '/search_by_image', { json: body })
    t.equal(res.status, 200, `${name}: 200`)
    const r = res.body as Results
    t.same(r.results.map((x) => x.item.id), expected.map((x) => x.id), `${name}: the expected items, in order`)
    t.ok(r.results.every((x, i) => Math.abs(x.score - (expected[i]?.score ?? NaN)) < 1e-6), `${name}: score = 1 - cosine distance`)
    t.ok(r.results.every((x, i, a) => i === 0 || x.score <= (a[i - 1]?.score ?? Infinity)), `${name}: scores never rise`)
    t.ok(r.results.every((x) => Object.keys(x).join() === 'item,score'), `${name}: each result is { item, score }`)
    return r
  }
  const byId = new Map(s.fixture.map((f) => [f.id, f]))

  const tops = s.fixture.filter((f) => f.category === 'tops' && f.embedding !== null).sort((a, b) => a.id - b.id)
  const first5 = await check('the tops axis, k 5', { embedding: unitVector([[axis(0), 1]]), k: 5 }, bruteForce(s.fixture, unitVector([[axis(0), 1]]), { k: 5 }))
  t.same(first5.results.map((r) => r.item.depop_id), [0, 1, 2, 3, 4].map((j) => `depop-tops-${j}`), 'the closest lean least off the axis')
  t.equal(JSON.stringify(first5.results[0]?.item), JSON.stringify(expectedItem(tops[0] as FixtureItem)), 'items are shown as GET /items/:id shows them')

  // Past the 8 tops, 24 orthogonal items tie at score 0: which 2 of them make a k of 10 is the query's
  // choice, but when all of them fit, they come by id.
  const everything = await check('every item with an embedding', { embedding: unitVector([[axis(0), 1]]), k: 100 }, bruteForce(s.fixture, unitVector([[axis(0), 1]]), { k: 100 }))
  t.equal(everything.results.length, CATEGORIES.length * PER_CATEGORY, 'items without an embedding are never results')
  const tied = everything.results.slice(PER_CATEGORY)
  t.ok(tied.every((r) => r.score === 0 && r.item.category !== 'tops'), 'past the tops, orthogonal items score exactly 0')
  t.ok(tied.every((r, i) => i === 0 || r.item.id > (tied[i - 1]?.item.id ?? Infinity)), 'and ties come by id')

  const byDefault = await call(s, 'POST', '/search_by_image', { json: { embedding: unitVector([[axis(0), 1]]) } })
  const ten = (byDefault.body as Results).results
  t.equal(ten.length, 10, 'k is 10 by default')
  t.same(ten.slice(0, PER_CATEGORY).map((r) => r.item.id), everything.results.slice(0, PER_CATEGORY).map((r) => r.item.id), 'the tops first')
  t.ok(ten.slice(PER_CATEGORY).every((r) => r.score === 0), 'then two of the tied')

  const all = await check('k 100 within a category', { embedding: unitVector([[axis(0), 1]]), k: 100, category: 'tops' }, bruteForce(s.fixture, unitVector([[axis(0), 1]]), { k: 100, category: 'tops' }))
  t.equal(all.results.length, PER_CATEGORY, 'the tops without an embedding are left out')

  const mixed = unitVector([[axis(0), 1], [axis(1), 0.5]])
  const bottoms = await check('another category than the nearest', { embedding: mixed, k: 3, category: 'bottoms' }, bruteForce(s.fixture, mixed, { k: 3, category: 'bottoms' }))
  t.same(bottoms.results.map((r) => r.item.depop_id), ['depop-bottoms-0', 'depop-bottoms-1', 'depop-bottoms-2'], 'only bottoms, nearest first')

  const shoe = find(s.fixture, 'depop-shoes-0')
  const like = await check('by item_id', { item_id: shoe.id, k: 4 }, bruteForce(s.fixture, shoe.embedding ?? [], { k: 4, excludeId: shoe.id }))
  t.notOk(like.results.some((r) => r.item.id === shoe.id), 'the item itself is left out')
  t.same(like.results.map((r) => byId.get(r.item.id)?.depopId), [1, 2, 3, 4].map((j) => `depop-shoes-${j}`), 'its own category first')
  await check('by item_id in a category', { item_id: shoe.id, k: 2, category: 'bags' }, bruteForce(s.fixture, shoe.embedding ?? [], { k: 2, category: 'bags', excludeId: shoe.id }))
})

t.test('POST /search_by_image rejects bad input with a message that says what to fix', async (t) => {
  const s = await setup(t)
  const q = unitVector([[0, 1]])
  const search = (json: unknown): Promise<Answer> => call(s, 'POST', '/search_by_image', { json })
  const withEntry = (i: number, raw: string): string => {
    const parts = q.map(String)
    parts[i] = raw
    return `{"embedding":[${parts.join(',')}]}`
  }
  const plain = find(s.fixture, 'depop-plain-1')
  await checkCases(t, [
    ['3 dimensions', () => search({ embedding: [1, 0, 0] }), 400, 'SY_ERR_BAD_REQUEST', /^embedding: expected an array of exactly 768 finite numbers, got an array of 3$/],
    ['769 dimensions', () => search({ embedding: [...q, 0] }), 400, 'SY_ERR_BAD_REQUEST', /^embedding: expected an array of exactly 768 finite numbers, got an array of 769$/],
    ['no dimensions', () => search({ embedding: [] }), 400, 'SY_ERR_BAD_REQUEST', /got an array of 0$/],
    ['a text entry', () => call(s, 'POST', '/search_by_image', { body: withEntry(5, '"0.1"') }), 400, 'SY_ERR_BAD_REQUEST', /^embedding\[5\]: expected a finite number, got "0\.1"$/],
    ['a null entry', () => call(s, 'POST', '/search_by_image', { body: withEntry(2, 'null') }), 400, 'SY_ERR_BAD_REQUEST', /^embedding\[2\]: expected a finite number, got null$/],
    ['an infinite entry', () => call(s, 'POST', '/search_by_image', { body: withEntry(700, '1e999') }), 400, 'SY_ERR_BAD_REQUEST', /^embedding\[700\]: expected a finite number, got Infinity$/],
    ['a negative infinite entry', () => call(s, 'POST', '/search_by_image', { body: withEntry(0, '-1e999') }), 400, 'SY_ERR_BAD_REQUEST', /^embedding\[0\]: expected a finite number, got -Infinity$/],
    // JSON has no NaN; a client that sends one sends text that is not JSON.
    ['a NaN entry', () => call(s, 'POST', '/search_by_image', { body: withEntry(3, 'NaN') }), 400, 'SY_ERR_BAD_JSON', /not valid JSON/],
    ['an embedding that is not an array', () => search({ embedding: 'cat.jpg' }), 400, 'SY_ERR_BAD_REQUEST', /^embedding: expected an array of exactly 768 finite numbers, got "cat\.jpg"$/],
    ['both embedding and item_id', () => search({ embedding: q, item_id: 1 }), 400, 'SY_ERR_BAD_REQUEST', /^body: send exactly one of embedding or item_id, not both$/],
    ['neither embedding nor item_id', () => search({ k: 5 }), 400, 'SY_ERR_BAD_REQUEST', /^body: send exactly one of embedding or item_id, not neither$/],
    ['k 101', () => search({ embedding: q, k: 101 }), 400, 'SY_ERR_BAD_REQUEST', /^k: expected an integer from 1 to 100, got 101$/],
    ['k 0', () => search({ embedding: q, k: 0 }), 400, 'SY_ERR_BAD_REQUEST', /^k: expected an integer from 1 to 100, got 0$/],
    ['k as text', () => search({ embedding: q, k: '5' }), 400, 'SY_ERR_BAD_REQUEST', /^k: expected an integer from 1 to 100, got "5"$/],
    ['k 2.5', () => search({ embedding: q, k: 2.5 }), 400, 'SY_ERR_BAD_REQUEST', /^k: expected an integer from 1 to 100, got 2\.5$/],
    ['an item_id that is not an integer', () => search({ item_id: 'seven' }), 400, 'SY_ERR_BAD_REQUEST', /^item_id: expected an item id \(a positive integer\), got "seven"$/],
    ['an empty category', () => search({ embedding: q, category: '' }), 400, 'SY_ERR_BAD_REQUEST', /^category: expected a category name, matched exactly, got ""$/],
    ['an unknown field', () => search({ embedding: q, limit: 5 }), 400, 'SY_ERR_BAD_REQUEST', /^body: unknown field "limit"; allowed: embedding, item_id, k, category$/],
    ['no body', () => call(s, 'POST', '/search_by_image'), 400, 'SY_ERR_BAD_REQUEST', /^body: expected a JSON object such as \{"embedding": \[768 numbers\], "k": 10\} or \{"item_id": 42\}, got nothing$/],
    ['an unknown item_id', () => search({ item_id: 999999 }), 404, 'SY_ERR_ITEM_NOT_FOUND', /^there is no item with id 999999/],
    ['an item without an embedding', () => search({ item_id: plain.id }), 404, 'SY_ERR_ITEM_HAS_NO_EMBEDDING', new RegExp(`^item ${plain.id} has no embedding to search with; send an embedding instead`)]
  ])
})

t.test('the search query is answered from the HNSW index', async (t) => {
  const { handle } = await migratedDatabase(t, ['legacy'])
  // Enough rows that a planner left alone prefers the index; enable_seqscan stays on.
  let seed = 20240601
  const random = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
    return seed / 2 ** 32 - 0.5
  }
  const randomUnit = (): number[] => unitVector(Array.from({ length: DIM }, (_, i) => [i, random()]))
  // Loaded as a catalogue is bulk-loaded: rows first, then the index, built from the migration's own
  // definition, which is about twice as fast as growing the graph one row at a time.
  const [index] = await handle.query<{ def: string }>("SELECT pg_get_indexdef('legacy.items_embedding_hnsw_idx'::regclass) AS def")
  await handle.query('DROP INDEX legacy.items_embedding_hnsw_idx')
  const ROWS = 2000
  for (let b = 0; b < ROWS / 250; b++) {
    await handle.db.insert(items).values(Array.from({ length: 250 }, (_, i) => ({
      depopId: `bulk-${b}-${i}`, title: 'bulk', category: CATEGORIES[i % CATEGORIES.length] ?? 'tops', condition: 'used', price: '1.00', embedding: randomUnit()
    })))
  }
  await handle.query(index?.def ?? '')
  await handle.query('ANALYZE legacy.items')

  const query = { vector: randomUnit(), k: 10 }
  const plan = await handle.transaction(async (tx) => {
    await applySearchSettings(tx, query)
    const { sql, params } = nearestItemsQuery(tx.db, query).toSQL()
    const rows = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)
    return rows.map((r) => r['QUERY PLAN']).join('\n')
  })
  t.match(plan, /Index Scan using items_embedding_hnsw_idx/, 'the planner picks the HNSW index')
  t.notMatch(plan, /Seq Scan/, 'and does not read the whole table')

  const res = await call({ base: await serve(t, handle) }, 'POST', '/search_by_image', { json: { embedding: query.vector, k: 10 } })
  const { results } = res.body as { results: Array<{ score: number }> }
  t.equal(results.length, 10, 'the route answers k results on the same data')
  t.ok(results.every((r, i) => i === 0 || r.score <= (results[i - 1]?.score ?? Infinity)), 'best first')
})
