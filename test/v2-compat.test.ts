// The v2.0 API is the same whichever backend serves it: the same items in legacy.items and, mapped as the
// backfill maps them, in unified.garments; the legacy service and the unified service listening side by
// side; and every request answered with the same status, content type and body, byte for byte. Writes are
// sent to both and compared too. On Postgres when SWITCHYARD_TEST_PG_URL is set (always in CI), else PGlite.
import t, { type Test } from 'tap'
import { items as legacyItems, type LegacyItem } from '../drizzle/legacy/schema.ts'
import { V2_ID_START } from '../drizzle/unified/schema.ts'
import type { DatabaseHandle } from '../services/db/database.ts'
import { buildLegacyService } from '../services/legacy/app.ts'
import { buildUnifiedService, type UnifiedServiceConfig } from '../services/unified/app.ts'
import { catalogueItems, insertGarmentsOf, insertLegacyItems, listening } from './helpers/catalogue-rows.ts'
import { migratedDatabase } from './helpers/db.ts'

interface Teardown { teardown (fn: () => unknown): void }

interface Req { method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, type?: string }
interface Res { status: number, contentType: string | null, bytes: Buffer, text: string }

const NOW = new Date('2024-06-01T10:00:00.000Z')
const now = (): Date => new Date(NOW)

async function send (base: string, r: Req): Promise<Res> {
  const body = r.body === undefined ? undefined : typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
  const res = await fetch(base + r.path, {
    method: r.method,
    ...(body === undefined ? {} : { body, headers: { 'content-type': r.type ?? 'application/json' } })
  })
  const bytes = Buffer.from(await res.arrayBuffer())
  return { status: res.status, contentType: res.headers.get('content-type'), bytes, text: bytes.toString('utf8') }
}

/** Both services on one database holding the same catalogue on each side; returns their base URLs. */
async function sideBySide (t: Teardown, unifiedConfig: UnifiedServiceConfig = {}): Promise<{ handle: DatabaseHandle, stored: LegacyItem[], legacy: string, unified: string }> {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  const items = catalogueItems(40)
  // The edges of the data: an item without an embedding, and one with every optional field empty.
  Object.assign(items[9] ?? {}, { embedding: null })
  Object.assign(items[10] ?? {}, { size: null, brand: null, imageUrl: null, listingUrl: null, description: '' })
  // A listing posted twice: two items at the same distance from anything, whose order only their ids decide.
  Object.assign(items[21] ?? {}, { embedding: items[20]?.embedding })
  await insertLegacyItems(handle, items)
  // The garments are made from the rows as the legacy table returns them, as the backfill reads them.
  const stored = await handle.db.select().from(legacyItems).orderBy(legacyItems.id)
  await insertGarmentsOf(handle, stored)
  const legacy = await listening(t, await buildLegacyService({}, { db: handle, now }))
  const unified = await listening(t, await buildUnifiedService(unifiedConfig, { db: handle, now }))
  return { handle, stored, legacy, unified }
}

const name = (r: Req): string => `${r.method} ${r.path}${r.body === undefined ? '' : ` ${typeof r.body === 'string' ? r.body : JSON.stringify(r.body).slice(0, 60)}`}`

function readRequests (stored: LegacyItem[]): Req[] {
  const category = stored[0]?.category ?? ''
  const other = stored.find((i) => i.category !== category)?.category ?? ''
  const vector = stored[4]?.embedding ?? []
  // Not any item's own embedding: halfway between two of them.
  const between = vector.map((x, i) => (x + (stored[20]?.embedding?.[i] ?? 0)) / 2)
  return [
    { method: 'GET', path: '/items' },
    { method: 'GET', path: '/items?limit=5' },
    { method: 'GET', path: '/items?limit=5&offset=5' },
    { method: 'GET', path: '/items?offset=38' },
    { method: 'GET', path: '/items?offset=1000' },
    { method: 'GET', path: '/items?limit=100' },
    { method: 'GET', path: `/items?category=${encodeURIComponent(category)}` },
    { method: 'GET', path: `/items?category=${encodeURIComponent(other)}&limit=2&offset=1` },
    { method: 'GET', path: '/items?category=nothing-like-this' },
    { method: 'GET', path: '/items?limit=0' },
    { method: 'GET', path: '/items?limit=101' },
    { method: 'GET', path: '/items?limit=abc' },
    { method: 'GET', path: '/items?offset=-1' },
    { method: 'GET', path: '/items?category=' },
    { method: 'GET', path: '/items?colour=red' },
    { method: 'GET', path: '/items/1' },
    { method: 'GET', path: '/items/10' },
    { method: 'GET', path: '/items/11' },
    { method: 'GET', path: '/items/40' },
    { method: 'GET', path: '/items/999999' },
    { method: 'GET', path: '/items/abc' },
    { method: 'GET', path: '/items/0' },
    { method: 'GET', path: '/items/1.5' },
    { method: 'POST', path: '/search_by_image', body: { embedding: vector } },
    { method: 'POST', path: '/search_by_image', body: { embedding: vector, k: 5 } },
    { method: 'POST', path: '/search_by_image', body: { embedding: between, k: 100 } },
    { method: 'POST', path: '/search_by_image', body: { embedding: between, k: 3, category } },
    { method: 'POST', path: '/search_by_image', body: { embedding: stored[21]?.embedding, k: 4 } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 22, k: 3 } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 3 } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 3, k: 4, category: other } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 11, k: 1 } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 999999 } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 10 } },
    { method: 'POST', path: '/search_by_image', body: { embedding: vector, k: 101 } },
    { method: 'POST', path: '/search_by_image', body: { embedding: vector, k: 0 } },
    { method: 'POST', path: '/search_by_image', body: { embedding: [1, 2, 3] } },
    { method: 'POST', path: '/search_by_image', body: { embedding: vector.map((x, i) => i === 7 ? String(x) : x) } },
    { method: 'POST', path: '/search_by_image', body: {} },
    { method: 'POST', path: '/search_by_image', body: { embedding: vector, item_id: 3 } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 'three' } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 3, colour: 'red' } },
    { method: 'POST', path: '/search_by_image', body: '{"item_id": 3' },
    { method: 'POST', path: '/search_by_image', body: 'item_id=3', type: 'text/plain' },
    { method: 'GET', path: '/healthz' },
    { method: 'GET', path: '/items/1/photos' },
    { method: 'DELETE', path: '/items' },
    { method: 'GET', path: '/search_by_image?item_id=3' },
    { method: 'POST', path: '/search_by_image', body: JSON.stringify({ embedding: Array.from({ length: 100_000 }, () => 0.123456789) }) }
  ]
}

async function sameAnswer (t: Test, legacy: string, unified: string, r: Req): Promise<[Res, Res]> {
  const a = await send(legacy, r)
  const b = await send(unified, r)
  t.equal(b.status, a.status, `${name(r)}: status ${a.status}`)
  t.equal(b.contentType, a.contentType, `${name(r)}: content-type`)
  t.equal(b.text, a.text, `${name(r)}: body`)
  t.ok(a.bytes.equals(b.bytes), `${name(r)}: byte for byte`)
  return [a, b]
}

t.test('every v2.0 read gets the same answer from both services, byte for byte', async (t) => {
  const { stored, legacy, unified } = await sideBySide(t)
  const statuses = new Set<number>()
  for (const r of readRequests(stored)) {
    const [a] = await sameAnswer(t, legacy, unified, r)
    statuses.add(a.status)
  }
  t.same([...statuses].sort(), [200, 400, 404, 413, 415], 'the requests cover answers and errors')
  const [search] = await sameAnswer(t, legacy, unified, { method: 'POST', path: '/search_by_image', body: { item_id: 3, k: 8 } })
  const results = JSON.parse(search.text).results as Array<{ item: { id: number }, score: number }>
  t.equal(results.length, 8, 'the comparison is over real answers')
  t.notOk(results.some((x) => x.item.id === 3))
  const [twins] = await sameAnswer(t, legacy, unified, { method: 'POST', path: '/search_by_image', body: { embedding: stored[20]?.embedding, k: 2 } })
  const pair = JSON.parse(twins.text).results as Array<{ item: { id: number }, score: number }>
  t.same(pair.map((x) => x.item.id), [21, 22], 'equal scores, ordered by id')
  t.equal(pair[0]?.score, pair[1]?.score)
})

t.test('the same writes sent to both services give the same answers', async (t) => {
  const { legacy, unified } = await sideBySide(t)
  const embedding = Array.from({ length: 768 }, (_, i) => Math.cos(i * 0.11))
  const full = { depop_id: 'dp-test-1', title: 'Cord trousers', description: 'Brown, wide leg.', category: 'test-only', condition: 'like new', size: 'W32', brand: 'Lee', price: 32.5, image_url: 'https://img.test/1.jpg', listing_url: 'https://depop.test/1', embedding }
  const minimal = { depop_id: 'dp-test-2', title: 'Plain tee', category: 'test-only', condition: 'used - fair', price: 5 }
  const ids: Array<[number, number]> = []
  for (const body of [full, minimal]) {
    const a = await send(legacy, { method: 'POST', path: '/items', body })
    const b = await send(unified, { method: 'POST', path: '/items', body })
    t.equal(a.status, 201)
    t.equal(b.status, a.status, `POST ${body.depop_id}: status`)
    t.equal(b.contentType, a.contentType)
    const [x, y] = [JSON.parse(a.text), JSON.parse(b.text)]
    t.ok(y.id >= V2_ID_START, 'the unified service numbers its own items from 10^12')
    t.same({ ...y, id: 0 }, { ...x, id: 0 }, `POST ${body.depop_id}: the same item but for its id (both services share the clock)`)
    ids.push([x.id, y.id])
  }

  const change = { title: 'Corduroy trousers', price: 29.99, size: null, image_url: 'https://img.test/2.jpg' }
  for (const [a, b] of ids) {
    const x = await send(legacy, { method: 'PUT', path: `/items/${a}`, body: change })
    const y = await send(unified, { method: 'PUT', path: `/items/${b}`, body: change })
    t.equal(y.status, 200)
    t.same({ ...JSON.parse(y.text), id: 0 }, { ...JSON.parse(x.text), id: 0 }, `PUT /items/${a} and /items/${b}: the same item but for its id`)
  }

  const taken = { depop_id: 'dp-test-1', title: 'x', category: 'test-only', condition: 'new', price: 1 }
  const writes: Req[] = [
    { method: 'PUT', path: '/items/5', body: { title: 'Renamed on both sides', price: 12, brand: null, embedding: null } },
    { method: 'PUT', path: '/items/7', body: { depop_id: 'dp-test-2' } },
    { method: 'PUT', path: '/items/999999', body: { title: 'x' } },
    { method: 'PUT', path: '/items/8', body: {} },
    { method: 'PUT', path: '/items/8', body: { price: 1.234 } },
    { method: 'PUT', path: '/items/8', body: { id: 9 } },
    { method: 'PUT', path: '/items/zero', body: { title: 'x' } },
    { method: 'POST', path: '/items', body: taken },
    { method: 'POST', path: '/items', body: { ...taken, depop_id: undefined } },
    { method: 'POST', path: '/items', body: { ...taken, depop_id: 'dp-test-3', price: '1' } },
    { method: 'DELETE', path: '/items/6' },
    { method: 'DELETE', path: '/items/6' },
    { method: 'DELETE', path: '/items/abc' },
    { method: 'GET', path: '/items/5' },
    { method: 'GET', path: '/items/6' },
    { method: 'GET', path: '/items?limit=10' },
    { method: 'GET', path: '/items?category=test-only&limit=0' },
    { method: 'POST', path: '/search_by_image', body: { item_id: 4, k: 6 } },
    { method: 'POST', path: '/search_by_image', body: { item_id: 5 } }
  ]
  for (const r of writes) await sameAnswer(t, legacy, unified, r)

  const totals = await Promise.all([legacy, unified].map(async (base) => JSON.parse((await send(base, { method: 'GET', path: '/items?category=test-only' })).text)))
  t.same(totals.map((x) => x.total), [2, 2], 'both hold the two new items')
  t.same(totals[1].items.map((i: { id: number }) => i.id), ids.map(([, b]) => b))
})

/** The JSON paths where two answers differ. */
function differences (a: unknown, b: unknown, path = ''): string[] {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)])
    return [...keys].flatMap((k) => differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`))
  }
  return Object.is(a, b) ? [] : [path]
}

t.test('with the test-only fault switch on, the answers differ in exactly that field', async (t) => {
  const { stored, legacy, unified } = await sideBySide(t, { faults: { v2FieldBug: 'price' } })
  let compared = 0
  for (const r of readRequests(stored)) {
    const [a, b] = [await send(legacy, r), await send(unified, r)]
    t.equal(b.status, a.status, `${name(r)}: status`)
    if (a.status !== 200 || r.path === '/healthz') {
      t.equal(b.text, a.text, `${name(r)}: errors are untouched`)
      continue
    }
    const answer = JSON.parse(a.text)
    const shown = Array.isArray(answer.items) ? answer.items.length : Array.isArray(answer.results) ? answer.results.length : 1
    const paths = differences(answer, JSON.parse(b.text))
    t.equal(paths.length, shown, `${name(r)}: one difference for each item shown`)
    t.same(paths.filter((p) => !/(^|\.)price$/.test(p)), [], `${name(r)}: and every one is a price`)
    compared++
  }
  t.ok(compared > 10)
})
