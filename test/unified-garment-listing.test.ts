// GET /garments of the unified service: keyset pagination that walks every garment once, newest first, the
// filters, and full-text search ordered by rank. Postgres when SWITCHYARD_TEST_PG_URL is set, else PGlite.
import t from 'tap'
import { eq } from 'drizzle-orm'
import { garments, type NewGarment } from '../drizzle/unified/schema.ts'
import { call, T0, unifiedService, type Answer } from './helpers/unified-service.ts'

interface Seeded { id: string, createdAt: number, category: string, exchangeType: string, price: number | null }

t.test('GET /garments pages through everything once, newest first, with filters', async (t) => {
  const { app, handle } = await unifiedService(t)
  const categories = ['tops', 'jeans', 'dresses']
  const exchange = ['sell', 'swap', 'rent', 'donate'] as const
  const values: NewGarment[] = Array.from({ length: 45 }, (_, i) => {
    const exchangeType = exchange[i % 4] ?? 'sell'
    const priced = exchangeType === 'sell' || exchangeType === 'rent'
    return {
      title: `Garment ${i}`,
      category: categories[i % 3] ?? 'tops',
      condition: 'used - good',
      exchangeType,
      price: priced ? (10 + i).toFixed(2) : null,
      // Three garments share each instant, so the order needs its tie-breaker.
      createdAt: new Date(T0 + Math.floor(i / 3) * 1000),
      updatedAt: new Date(T0)
    }
  })
  const rows = await handle.db.insert(garments).values(values).returning({ id: garments.id, createdAt: garments.createdAt, category: garments.category, exchangeType: garments.exchangeType, price: garments.price })
  const seeded: Seeded[] = rows.map((r) => ({ ...r, createdAt: r.createdAt.getTime(), price: r.price === null ? null : Number(r.price) }))
  const newestFirst = (a: Seeded, b: Seeded) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
  const ordered = [...seeded].sort(newestFirst)

  async function walk (query: string, limit: number): Promise<{ ids: string[], pages: number }> {
    const ids: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const r: Answer = await call(app, 'GET', `/garments?limit=${limit}${query}${cursor === null ? '' : `&cursor=${cursor}`}`)
      t.equal(r.status, 200)
      t.ok(r.body.garments.length <= limit)
      ids.push(...r.body.garments.map((g: { id: string }) => g.id))
      cursor = r.body.next_cursor
      pages++
    } while (cursor !== null && pages < 100)
    return { ids, pages }
  }

  const all = await walk('', 7)
  t.same(all.ids, ordered.map((g) => g.id), 'every garment once, newest first, ties broken by id')
  t.equal(all.pages, 7, '45 garments in pages of 7')
  const exact = await walk('', 9)
  t.equal(exact.pages, 5, 'a last page that is exactly full has next_cursor null')

  const first = await call(app, 'GET', '/garments?limit=10')
  t.equal(first.body.garments.length, 10)
  await handle.db.insert(garments).values({ title: 'Newest', category: 'tops', condition: 'new', price: '1.00', createdAt: new Date(T0 + 3_600_000) })
  const removed = ordered[15]?.id ?? ''
  await handle.db.delete(garments).where(eq(garments.id, removed))
  const second = await call(app, 'GET', `/garments?limit=10&cursor=${first.body.next_cursor}`)
  t.same(second.body.garments.map((g: { id: string }) => g.id), ordered.slice(10, 21).filter((g) => g.id !== removed).map((g) => g.id),
    'a garment added or removed meanwhile neither repeats nor skips a row of the next page')
  await handle.query("DELETE FROM unified.garments WHERE title = 'Newest'")
  const remaining = ordered.filter((g) => g.id !== removed)

  const filters: Array<[string, (g: Seeded) => boolean]> = [
    ['&category=tops', (g) => g.category === 'tops'],
    ['&exchange_type=swap', (g) => g.exchangeType === 'swap'],
    ['&min_price=20&max_price=40', (g) => g.price !== null && g.price >= 20 && g.price <= 40],
    ['&category=jeans&exchange_type=sell&max_price=45.5', (g) => g.category === 'jeans' && g.exchangeType === 'sell' && g.price !== null && g.price <= 45.5],
    ['&category=shoes', () => false]
  ]
  for (const [query, keep] of filters) {
    const got = await walk(query, 4)
    t.same(got.ids, remaining.filter(keep).sort(newestFirst).map((g) => g.id), `filter ${query}`)
  }
  const filtered = await call(app, 'GET', '/garments?limit=100&min_price=20&max_price=40')
  t.ok(filtered.body.garments.every((g: { price: number }) => g.price >= 20 && g.price <= 40), 'prices as numbers, within the range')
})

t.test('q searches titles, descriptions, brands and categories, best match first', async (t) => {
  const { app, handle } = await unifiedService(t)
  const docs: Array<[string, string, string | null, string]> = [
    ['Denim jacket', 'Classic denim, faded. Denim lovers only.', 'Levi', 'jackets'],
    ['Denim jacket', 'Cropped.', null, 'jackets'],
    ['Denim jacket', 'Cropped.', null, 'jackets'],
    ['Denim jeans', 'Straight leg, dark wash.', 'Levi', 'jeans'],
    ['Straight jeans', 'Dark denim, barely worn.', null, 'jeans'],
    ['Wool coat', 'A heavy wool coat for winter.', 'Uniqlo', 'coats'],
    ['Coat of wool', 'Light, for spring.', null, 'coats'],
    ['Silk dress', 'Red silk, knee length.', null, 'dresses'],
    ['Summer dress', 'Cotton with a denim collar.', null, 'dresses']
  ]
  for (const [i, [title, description, brand, category]] of docs.entries()) {
    await handle.db.insert(garments).values({ title, description, brand, category, condition: 'used - good', price: '20.00', createdAt: new Date(T0 + i * 1000) })
  }
  const ranked = async (q: string): Promise<string[]> => (await handle.query<{ id: string }>(
    "SELECT id FROM unified.garments WHERE search @@ websearch_to_tsquery('english', $1) ORDER BY ts_rank(search, websearch_to_tsquery('english', $1)) DESC, id DESC", [q]
  )).map((r) => r.id)
  const titles = async (query: string): Promise<string[]> => (await call(app, 'GET', `/garments?limit=100&${query}`)).body.garments.map((g: { title: string }) => g.title)

  const denim = await call(app, 'GET', '/garments?limit=100&q=denim')
  t.equal(denim.body.next_cursor, null)
  t.same(denim.body.garments.map((g: { id: string }) => g.id), await ranked('denim'), 'ordered by ts_rank, then id')
  t.same(denim.body.garments.map((g: { title: string }) => g.title).sort(), ['Denim jacket', 'Denim jacket', 'Denim jacket', 'Denim jeans', 'Straight jeans', 'Summer dress'],
    'title or description, stemmed')
  t.equal(denim.body.garments[0].description, 'Classic denim, faded. Denim lovers only.', 'the garment that says it most often ranks first')

  t.same((await titles('q=denim%20-jacket')).sort(), ['Denim jeans', 'Straight jeans', 'Summer dress'], 'web search syntax: -word excludes')
  t.same(await titles('q=%22wool%20coat%22'), ['Wool coat'], 'web search syntax: a quoted phrase')
  t.same((await titles('q=levi')).sort(), ['Denim jacket', 'Denim jeans'], 'brands are searched')
  t.same(await titles('q=coats&max_price=10'), [], 'filters apply to a search')
  t.same((await titles('q=coats')).sort(), ['Coat of wool', 'Wool coat'], 'categories are searched')
  t.same(await titles('q=the'), [], 'a query of stop words only matches nothing')

  const ids: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const r: Answer = await call(app, 'GET', `/garments?limit=2&q=denim${cursor === null ? '' : `&cursor=${cursor}`}`)
    ids.push(...r.body.garments.map((g: { id: string }) => g.id))
    cursor = r.body.next_cursor
    pages++
  } while (cursor !== null && pages < 20)
  t.same(ids, await ranked('denim'), 'pages of a search, through equal ranks, without duplicates or gaps')
  t.equal(pages, 3)

  const page = await call(app, 'GET', '/garments?limit=2&q=denim')
  const listing = await call(app, 'GET', '/garments?limit=2')
  t.match(await call(app, 'GET', `/garments?limit=2&cursor=${page.body.next_cursor}`), { status: 400, body: { code: 'SY_ERR_BAD_CURSOR', message: /^cursor belongs to a search: send it with the same q;/ } })
  t.match(await call(app, 'GET', `/garments?limit=2&q=denim&cursor=${listing.body.next_cursor}`), { status: 400, body: { code: 'SY_ERR_BAD_CURSOR', message: /^cursor belongs to a listing without q: send it without q;/ } })
  t.match(await call(app, 'GET', `/garments?limit=2&q=wool&cursor=${page.body.next_cursor}`), { status: 400, body: { code: 'SY_ERR_BAD_CURSOR', message: /^cursor belongs to a search with another q/ } })
})
