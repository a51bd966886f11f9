// The v2.0 endpoints of the unified service as garments see them: POST, PUT and DELETE /items write
// garments through the one mapping, and the test-only fault switch gets exactly one v2.0 field wrong.
// Byte-for-byte agreement with the legacy service is v2-compat.test.ts. Postgres when SWITCHYARD_TEST_PG_URL
// is set, else PGlite.
import t from 'tap'
import { V2_ID_START } from '../drizzle/unified/schema.ts'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { buildUnifiedService, type UnifiedServiceConfig } from '../services/unified/app.ts'
import { catalogueItems, insertGarmentsOf } from './helpers/catalogue-rows.ts'
import { migratedDatabase } from './helpers/db.ts'
import { call, jacket, unifiedService, waveVector } from './helpers/unified-service.ts'

t.test('the v2.0 endpoints write garments', async (t) => {
  const { app, handle, clock } = await unifiedService(t)
  const items = catalogueItems(20)
  await insertGarmentsOf(handle, items)
  const native = await call(app, 'POST', '/garments', { ...jacket, exchange_type: 'swap', price: undefined })

  const list = await call(app, 'GET', '/items?limit=100')
  t.equal(list.body.total, 21)
  t.same(list.body.items.map((i: { id: number }) => i.id), [...items.map((i) => i.id), V2_ID_START], 'ordered by v2.0 id')
  t.match(list.body.items.at(-1), { id: V2_ID_START, depop_id: `local-${V2_ID_START}`, title: jacket.title, price: 0 }, 'a garment made on the new side reads through v2.0 too')
  t.match(await call(app, 'GET', `/items/${V2_ID_START}`), { status: 200, body: { id: V2_ID_START } })

  const body = { depop_id: 'dp-new-1', title: 'Corduroy trousers', category: 'trousers', condition: 'like new', price: 32.5, brand: 'Lee', embedding: waveVector(4) }
  const created = await call(app, 'POST', '/items', body)
  t.equal(created.status, 201)
  const id = created.body.id as number
  t.equal(id, V2_ID_START + 1, 'the id comes from the v2.0 sequence, which POST /garments shares')
  t.same(created.body, {
    id,
    depop_id: 'dp-new-1',
    title: 'Corduroy trousers',
    description: '',
    category: 'trousers',
    condition: 'like new',
    size: null,
    brand: 'Lee',
    price: 32.5,
    image_url: null,
    listing_url: null,
    created_at: '2024-06-01T10:00:00.000Z',
    updated_at: '2024-06-01T10:00:00.000Z'
  })
  const [row] = await handle.query<Record<string, unknown>>('SELECT id, source, external_id, story, provenance, exchange_type, currency, style_attributes, price FROM unified.garments WHERE legacy_id = $1', [id])
  t.match(row, {
    source: 'depop',
    external_id: 'dp-new-1',
    provenance: { source: 'depop', externalId: 'dp-new-1', listingUrl: null },
    exchange_type: 'sell',
    currency: 'AUD',
    style_attributes: { category: 'trousers', condition: 'like new', brand: 'Lee' },
    price: '32.50'
  })
  t.same(row?.story, new TemplateStoryGenerator().generate({ id, title: body.title, description: '', category: body.category, condition: body.condition, brand: body.brand }),
    'the story is the deterministic one, told from the v2.0 id')
  const uuid = row?.id as string

  const later = clock.advance(5_000)
  const put = await call(app, 'PUT', `/items/${id}`, { title: 'Cord trousers', price: 30, image_url: 'https://img.test/c.jpg', listing_url: 'https://depop.test/c', brand: null })
  t.equal(put.status, 200)
  t.same(put.body, { ...created.body, title: 'Cord trousers', price: 30, image_url: 'https://img.test/c.jpg', listing_url: 'https://depop.test/c', brand: null, updated_at: later })
  t.match((await call(app, 'GET', `/garments/${uuid}`)).body, {
    title: 'Cord trousers', price: 30, original_image_url: 'https://img.test/c.jpg', original_url: 'https://depop.test/c', brand: null, updated_at: later, created_at: '2024-06-01T10:00:00.000Z'
  }, 'PUT changes the mapped fields of the garment')

  const taken = items[0]?.depopId ?? ''
  const duplicate = { statusCode: 409, code: 'SY_ERR_DUPLICATE_DEPOP_ID', message: `depop_id ${JSON.stringify(taken)} is already taken by another item; each item needs its own depop_id` }
  t.match(await call(app, 'POST', '/items', { ...body, depop_id: taken }), { status: 409, body: duplicate })
  t.match(await call(app, 'PUT', `/items/${id}`, { depop_id: taken }), { status: 409, body: duplicate })
  t.match(await call(app, 'PUT', '/items/999999', { title: 'x' }), { status: 404, body: { code: 'SY_ERR_ITEM_NOT_FOUND', message: 'there is no item with id 999999; GET /items lists the items' } })
  t.match(await call(app, 'POST', '/search_by_image', { item_id: V2_ID_START }), { status: 404, body: { code: 'SY_ERR_ITEM_HAS_NO_EMBEDDING' } })
  t.match(await call(app, 'GET', '/items/0'), { status: 400, body: { code: 'SY_ERR_BAD_REQUEST', message: 'id: expected an item id (a positive integer), got 0' } },
    'the v2.0 endpoints answer with the v2.0 errors')

  const near = await call(app, 'POST', '/search_by_image', { item_id: 3, k: 4 })
  t.equal(near.body.results.length, 4)
  t.notOk(near.body.results.some((r: { item: { id: number } }) => r.item.id === 3), 'an item is not its own neighbour')

  t.equal((await call(app, 'DELETE', `/items/${id}`)).status, 204)
  t.equal((await call(app, 'GET', `/garments/${uuid}`)).status, 404, 'DELETE removes the garment')
  t.equal((await call(app, 'DELETE', `/items/${id}`)).status, 404)
  t.equal((await call(app, 'GET', `/garments/${native.body.id}`)).status, 200)
})

t.test('the test-only fault switch gets exactly one v2.0 field wrong', async (t) => {
  const { handle } = await migratedDatabase(t, ['unified'])
  await insertGarmentsOf(handle, catalogueItems(12))
  const build = async (config: UnifiedServiceConfig) => {
    const app = await buildUnifiedService(config, { db: handle })
    t.teardown(() => app.close())
    return app
  }
  const clean = await build({})
  const differences = (a: Record<string, unknown>, b: Record<string, unknown>) => Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))

  const reversed = (v: unknown) => {
    const s = String(v)
    const r = [...s].reverse().join('')
    return r === s ? `${s}~` : r
  }
  for (const [field, wrong] of [
    ['price', (v: unknown) => (v as number) + 1],
    ['title', reversed],
    ['size', (v: unknown) => v === null ? '' : reversed(v)],
    ['updated_at', (v: unknown) => new Date(Date.parse(String(v)) + 1000).toISOString()]
  ] as const) {
    const faulty = await build({ faults: { v2FieldBug: field } })
    for (const [method, url, body] of [['GET', '/items/3'], ['GET', '/items?limit=5'], ['POST', '/search_by_image', { item_id: 2, k: 3 }]] as const) {
      const good = (await call(clean, method, url, body)).body
      const bad = (await call(faulty, method, url, body)).body
      const pairs: Array<[Record<string, unknown>, Record<string, unknown>]> = good.items !== undefined
        ? good.items.map((x: Record<string, unknown>, i: number) => [x, bad.items[i]])
        : good.results !== undefined
          ? good.results.map((x: { item: Record<string, unknown> }, i: number) => [x.item, bad.results[i].item])
          : [[good, bad]]
      for (const [g, b] of pairs) {
        t.same(differences(g, b), [field], `${field}, ${method} ${url}: only ${field} differs`)
        t.equal(b[field], wrong(g[field]))
      }
    }
    const garment = await handle.query<{ id: string }>('SELECT id FROM unified.garments WHERE legacy_id = 3')
    t.same((await call(faulty, 'GET', `/garments/${garment[0]?.id}`)).body, (await call(clean, 'GET', `/garments/${garment[0]?.id}`)).body, `${field}: the v3.5 API is untouched`)
  }
})
