// The v3.5 garments API of the unified service on a real database: Postgres when SWITCHYARD_TEST_PG_URL is
// set (always in CI), else PGlite. Create, read, patch and delete, every bad input with its code and
// message, and the options checked at startup.
import t from 'tap'
import { garments, V2_ID_START } from '../drizzle/unified/schema.ts'
import type { DatabaseHandle } from '../services/db/database.ts'
import { buildUnifiedService } from '../services/unified/app.ts'
import { migratedDatabase } from './helpers/db.ts'
import { call, ERROR_KEYS, GARMENT_KEYS, jacket, unifiedService, waveVector } from './helpers/unified-service.ts'

t.test('POST, GET, PATCH and DELETE a garment', async (t) => {
  const { app, clock } = await unifiedService(t)

  const created = await call(app, 'POST', '/garments', jacket)
  t.equal(created.status, 201)
  t.same(Object.keys(created.body), GARMENT_KEYS, 'snake_case keys in a fixed order, without the embedding or the search vector')
  t.match(created.body, {
    id: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    legacy_id: V2_ID_START,
    owner_id: null,
    external_id: null,
    source: 'native',
    title: 'Indigo denim jacket',
    description: '',
    size: null,
    brand: null,
    provenance: { source: 'native' },
    exchange_type: 'sell',
    price: 45.5,
    currency: 'AUD',
    style_attributes: {},
    view_count: 0,
    save_count: 0,
    status: 'active',
    created_at: '2024-06-01T10:00:00.000Z',
    updated_at: '2024-06-01T10:00:00.000Z'
  })
  t.same(created.body.story, jacket.story)
  const id = created.body.id as string

  const full = await call(app, 'POST', '/garments', {
    ...jacket,
    title: 'Wool coat',
    description: 'Heavy, warm, navy.',
    size: 'M',
    brand: 'Uniqlo',
    provenance: { source: 'native', maker: 'grandmother' },
    exchange_type: 'rent',
    price: 12,
    currency: 'NZD',
    style_attributes: { colour: 'navy', era: '1990s' },
    embedding: waveVector(1),
    original_url: 'https://example.test/coat',
    original_image_url: 'https://example.test/coat.jpg',
    status: 'hidden'
  })
  t.equal(full.status, 201)
  t.match(full.body, {
    legacy_id: V2_ID_START + 1,
    description: 'Heavy, warm, navy.',
    size: 'M',
    brand: 'Uniqlo',
    provenance: { source: 'native', maker: 'grandmother' },
    exchange_type: 'rent',
    price: 12,
    currency: 'NZD',
    style_attributes: { colour: 'navy', era: '1990s' },
    original_url: 'https://example.test/coat',
    original_image_url: 'https://example.test/coat.jpg',
    status: 'hidden'
  })
  const swap = await call(app, 'POST', '/garments', { ...jacket, exchange_type: 'swap', price: undefined })
  t.equal(swap.status, 201, 'a swap needs no price')
  t.equal(swap.body.price, null)
  const donation = await call(app, 'POST', '/garments', { ...jacket, exchange_type: 'donate', price: null })
  t.equal(donation.body.price, null, 'nor does a donation')

  const read = await call(app, 'GET', `/garments/${id}`)
  t.equal(read.status, 200)
  t.same(read.body, created.body, 'GET answers what POST answered')
  t.same((await call(app, 'GET', `/garments/${id.toUpperCase()}`)).body, created.body, 'a UUID in capitals is the same id')

  const later = clock.advance(60_000)
  const patched = await call(app, 'PATCH', `/garments/${id}`, { price: 39.99, story: { text: 'Now with a mended cuff.' } })
  t.equal(patched.status, 200)
  t.same(patched.body, { ...created.body, price: 39.99, story: { text: 'Now with a mended cuff.' }, updated_at: later },
    'only the fields sent change, and updated_at is now')

  clock.advance(1_000)
  const toSwap = await call(app, 'PATCH', `/garments/${id}`, { exchange_type: 'swap', price: null })
  t.match(toSwap.body, { exchange_type: 'swap', price: null })
  const toRent = await call(app, 'PATCH', `/garments/${id}`, { exchange_type: 'rent' })
  t.match(toRent, { status: 400, body: { code: 'SY_ERR_PRICE_REQUIRED', message: 'price is required when exchange_type is rent; send a price, or use exchange_type swap or donate' } },
    'a patch is checked against the row it lands on')
  t.match((await call(app, 'GET', `/garments/${id}`)).body, { exchange_type: 'swap', price: null }, 'and a refused patch changes nothing')
  t.match((await call(app, 'PATCH', `/garments/${id}`, { exchange_type: 'rent', price: 5 })).body, { exchange_type: 'rent', price: 5 })

  const deleted = await call(app, 'DELETE', `/garments/${id}`)
  t.equal(deleted.status, 204)
  t.equal(deleted.body, undefined)
  const gone = { status: 404, body: { code: 'SY_ERR_GARMENT_NOT_FOUND', message: `there is no garment with id ${id}; GET /garments lists the garments there are` } }
  t.match(await call(app, 'GET', `/garments/${id}`), gone)
  t.match(await call(app, 'DELETE', `/garments/${id}`), gone)
  t.match(await call(app, 'PATCH', `/garments/${id}`, { title: 'x' }), gone)
})

t.test('bad input is refused with a code and a message that says what to fix', async (t) => {
  const { app, handle } = await unifiedService(t)
  const [{ id } = { id: '' }] = await handle.db.insert(garments).values({ title: 't', category: 'tops', condition: 'new', price: '10.00' }).returning({ id: garments.id })
  const unknown = '7b0c1f0e-3f4a-4c59-9a51-54f1d1f6a0aa'
  const { title: _title, ...untitled } = jacket
  const { story: _story, ...storyless } = jacket
  const withWrongNumber = waveVector(2).map((x, i) => i === 5 ? 'x' : x)
  const cases: Array<[string, string, string, unknown, number, string, string | RegExp]> = [
    ['missing title', 'POST', '/garments', untitled, 400, 'SY_ERR_INVALID_REQUEST', 'title: missing; it is required (a title of 1 to 500 characters)'],
    ['missing story', 'POST', '/garments', storyless, 400, 'SY_ERR_INVALID_REQUEST', /^story: missing; it is required \(an object such as/],
    ['story without text', 'POST', '/garments', { ...jacket, story: { headline: 'h' } }, 400, 'SY_ERR_INVALID_REQUEST', 'story.text: missing; it is required (the story, in words)'],
    ['three decimals', 'POST', '/garments', { ...jacket, price: 12.345 }, 400, 'SY_ERR_INVALID_REQUEST', 'price: expected a number from 0 to 99999999.99 with at most 2 decimals, or null, got 12.345'],
    ['negative price', 'POST', '/garments', { ...jacket, price: -1 }, 400, 'SY_ERR_INVALID_REQUEST', 'price: expected a number from 0 to 99999999.99 with at most 2 decimals, or null, got -1'],
    ['price as text', 'POST', '/garments', { ...jacket, price: '12' }, 400, 'SY_ERR_INVALID_REQUEST', 'price: expected a number from 0 to 99999999.99 with at most 2 decimals, or null, got "12"'],
    ['unknown exchange type', 'POST', '/garments', { ...jacket, exchange_type: 'lend' }, 400, 'SY_ERR_INVALID_REQUEST', 'exchange_type: expected one of sell, swap, rent, donate, got "lend"'],
    ['lower-case currency', 'POST', '/garments', { ...jacket, currency: 'aud' }, 400, 'SY_ERR_INVALID_REQUEST', 'currency: expected an ISO 4217 currency code of three capital letters, such as AUD, got "aud"'],
    ['short embedding', 'POST', '/garments', { ...jacket, embedding: [1, 2, 3] }, 400, 'SY_ERR_INVALID_REQUEST', 'embedding: expected 768 finite numbers, or null, got [1,2,3]'],
    ['text in the embedding', 'POST', '/garments', { ...jacket, embedding: withWrongNumber }, 400, 'SY_ERR_INVALID_REQUEST', /^embedding\.5: expected a number from -3\.4e\+38 to 3\.4e\+38, got "x"$/],
    ['unknown field', 'POST', '/garments', { ...jacket, colour: 'red' }, 400, 'SY_ERR_INVALID_REQUEST', /^body: unknown field "colour"; allowed fields: title, description, category, /],
    ['sell without price', 'POST', '/garments', { ...jacket, price: undefined }, 400, 'SY_ERR_PRICE_REQUIRED', 'price is required when exchange_type is sell; send a price, or use exchange_type swap or donate'],
    ['rent with null price', 'POST', '/garments', { ...jacket, exchange_type: 'rent', price: null }, 400, 'SY_ERR_PRICE_REQUIRED', /when exchange_type is rent/],
    ['unknown owner', 'POST', '/garments', { ...jacket, owner_id: unknown }, 400, 'SY_ERR_UNKNOWN_OWNER', `owner_id ${unknown} is not a user; send the id of an existing user, or leave owner_id out`],
    ['owner not a uuid', 'POST', '/garments', { ...jacket, owner_id: 'bob' }, 400, 'SY_ERR_INVALID_REQUEST', 'owner_id: expected the id of a user (a UUID), or null, got "bob"'],
    ['broken JSON', 'POST', '/garments', '{"title":', 400, 'SY_ERR_BAD_JSON', /^the request body is not valid JSON \(.+\); send a JSON object$/],
    ['an array body', 'POST', '/garments', [jacket], 400, 'SY_ERR_INVALID_REQUEST', /^body: expected a JSON object such as/],
    ['empty patch', 'PATCH', `/garments/${id}`, {}, 400, 'SY_ERR_INVALID_REQUEST', 'body: expected a JSON object with at least one field to change, such as {"price": 35}, got {}'],
    ['patch to sell without price', 'PATCH', `/garments/${id}`, { price: null }, 400, 'SY_ERR_PRICE_REQUIRED', /when exchange_type is sell/],
    ['malformed id', 'GET', '/garments/not-a-uuid', undefined, 400, 'SY_ERR_INVALID_REQUEST', 'id: expected a garment id (a UUID), got "not-a-uuid"'],
    ['malformed id to patch', 'PATCH', '/garments/42', { title: 'x' }, 400, 'SY_ERR_INVALID_REQUEST', 'id: expected a garment id (a UUID), got "42"'],
    ['malformed id to delete', 'DELETE', '/garments/42', undefined, 400, 'SY_ERR_INVALID_REQUEST', 'id: expected a garment id (a UUID), got "42"'],
    ['unknown garment', 'GET', `/garments/${unknown}`, undefined, 404, 'SY_ERR_GARMENT_NOT_FOUND', `there is no garment with id ${unknown}; GET /garments lists the garments there are`],
    ['limit 0', 'GET', '/garments?limit=0', undefined, 400, 'SY_ERR_INVALID_REQUEST', 'limit: expected an integer from 1 to 100, got 0'],
    ['limit 101', 'GET', '/garments?limit=101', undefined, 400, 'SY_ERR_INVALID_REQUEST', 'limit: expected an integer from 1 to 100, got 101'],
    ['limit in words', 'GET', '/garments?limit=ten', undefined, 400, 'SY_ERR_INVALID_REQUEST', 'limit: expected an integer from 1 to 100, got "ten"'],
    ['unknown exchange type filter', 'GET', '/garments?exchange_type=lend', undefined, 400, 'SY_ERR_INVALID_REQUEST', 'exchange_type: expected one of sell, swap, rent, donate, got "lend"'],
    ['negative min_price', 'GET', '/garments?min_price=-5', undefined, 400, 'SY_ERR_INVALID_REQUEST', 'min_price: expected the lowest price, a number of 0 or more, got -5'],
    ['min above max', 'GET', '/garments?min_price=50&max_price=10', undefined, 400, 'SY_ERR_INVALID_REQUEST', 'min_price 50 is above max_price 10; no garment can match, so swap them'],
    ['empty q', 'GET', '/garments?q=', undefined, 400, 'SY_ERR_INVALID_REQUEST', /^q: expected words to search/],
    ['unknown parameter', 'GET', '/garments?colour=red', undefined, 400, 'SY_ERR_INVALID_REQUEST', /^querystring: unknown field "colour"; allowed fields: category, min_price, max_price, exchange_type, q, limit, cursor$/],
    ['garbage cursor', 'GET', '/garments?cursor=%21%21', undefined, 400, 'SY_ERR_BAD_CURSOR', 'cursor is not one this API returned; pass next_cursor from the previous page unchanged, or leave cursor out to start from the first page'],
    ['forged cursor', 'GET', `/garments?cursor=${Buffer.from('{"o":"n","t":"yesterday","i":"x"}').toString('base64url')}`, undefined, 400, 'SY_ERR_BAD_CURSOR', /^cursor is not one this API returned/],
    ['no such endpoint', 'GET', '/wardrobes', undefined, 404, 'SY_ERR_NOT_FOUND', /^GET \/wardrobes is not an endpoint of the unified service/]
  ]
  for (const [name, method, url, body, status, code, message] of cases) {
    const r = await call(app, method, url, body)
    t.equal(r.status, status, `${name}: ${status}`)
    t.same(Object.keys(r.body ?? {}), ERROR_KEYS, `${name}: the error shape`)
    t.match(r.body, { statusCode: status, code, message }, `${name}: ${code}`)
  }
  const text = await app.inject({ method: 'POST', url: '/garments', payload: 'title=x', headers: { 'content-type': 'text/plain' } })
  t.match({ status: text.statusCode, body: JSON.parse(text.body) }, { status: 415, body: { code: 'SY_ERR_UNSUPPORTED_MEDIA_TYPE', message: 'content-type "text/plain" is not accepted; send application/json' } })
  t.equal((await handle.query<{ n: string }>('SELECT count(*) AS n FROM unified.garments'))[0]?.n, '1', 'no refused request wrote anything')
})

t.test('the service checks its options when it is built', async (t) => {
  const { handle } = await migratedDatabase(t, ['unified'])
  await t.rejects(buildUnifiedService({ bodyLimit: 0 }, { db: handle }), { code: 'SY_ERR_UNIFIED_CONFIG_INVALID', message: /^unified service option bodyLimit: expected a positive integer/ })
  await t.rejects(buildUnifiedService({ faults: { v2FieldBug: 'colour' } }, { db: handle }), {
    code: 'SY_ERR_UNIFIED_CONFIG_INVALID',
    message: 'unified service option faults.v2FieldBug: expected one of id, depop_id, title, description, category, condition, size, brand, price, image_url, listing_url, created_at, updated_at, got "colour"; leave it out to serve correct answers'
  })
  await t.rejects(buildUnifiedService({}, { db: {} as DatabaseHandle }), { code: 'SY_ERR_UNIFIED_CONFIG_INVALID', message: /deps\.db: expected a DatabaseHandle/ })

  const small = await buildUnifiedService({ bodyLimit: 1_000 }, { db: handle })
  t.teardown(() => small.close())
  const big = await call(small, 'POST', '/garments', { ...jacket, embedding: waveVector(3) })
  t.match(big, { status: 413, body: { code: 'SY_ERR_BODY_TOO_LARGE', message: 'the request body is larger than 1000 bytes; send a smaller JSON object' } })
})
