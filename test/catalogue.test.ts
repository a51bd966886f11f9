// The synthetic catalogue: deterministic, a prefix of itself, unit float32 embeddings clustered by category,
// fields that look like listings, and a loader that puts exactly the generated rows into the legacy tables,
// with the HNSW index, and can run again.
import { createHash } from 'node:crypto'
import t from 'tap'
import { inArray } from 'drizzle-orm'
import { items as itemsTable, users as usersTable } from '../drizzle/legacy/schema.ts'
import { copyRow, copyText, shortestFloat32, vectorLiteral } from '../services/catalogue/copy-text.ts'
import { type CatalogueItem, generateCatalogue } from '../services/catalogue/generator.ts'
import { loadLegacyCatalogue } from '../services/catalogue/load.ts'
import { CATALOGUE_END, CATALOGUE_START } from '../services/catalogue/timeline.ts'
import { catalogueUsers, USER_COUNT } from '../services/catalogue/users.ts'
import { CATEGORIES, CONDITION_NAMES, STYLES } from '../services/catalogue/vocabulary.ts'
import { migratedDatabase } from './helpers/db.ts'

const SEED = 20240501

function digest (items: Iterable<CatalogueItem>): string {
  const h = createHash('sha256')
  for (const item of items) h.update(JSON.stringify(item))
  return h.digest('hex')
}

const take = (count: number, seed = SEED): CatalogueItem[] => [...generateCatalogue({ seed, count })]

t.test('the same seed gives the same catalogue, byte for byte; another seed another', async (t) => {
  const first = digest(generateCatalogue({ seed: SEED, count: 2_000 }))
  t.equal(digest(generateCatalogue({ seed: SEED, count: 2_000 })), first, 'two runs with one seed')
  t.not(digest(generateCatalogue({ seed: SEED + 1, count: 2_000 })), first, 'a different seed')
  const catalogue = generateCatalogue({ seed: SEED, count: 300 })
  t.equal(digest(catalogue), digest(catalogue), 'iterating the same catalogue twice')
  t.same(catalogueUsers(SEED), catalogueUsers(SEED), 'the sellers too')
})

t.test('a smaller catalogue is a prefix of a larger one', async (t) => {
  const large = take(2_000)
  const small = take(500)
  t.equal(small.length, 500)
  t.equal(JSON.stringify(large.slice(0, 500)), JSON.stringify(small))
  t.same(large.map((i) => i.id), Array.from({ length: 2_000 }, (_, k) => k + 1), 'ids 1..count in order')
  t.equal(new Set(large.map((i) => i.depopId)).size, 2_000, 'depop ids are unique')
})

t.test('every embedding has 768 float32-exact components and unit length', async (t) => {
  let wrongLength = 0
  let notFloat32 = 0
  let worstNorm = 0
  for (const item of generateCatalogue({ seed: SEED, count: 2_000 })) {
    if (item.embedding.length !== 768) wrongLength++
    let sum = 0
    for (const x of item.embedding) {
      if (Math.fround(x) !== x) notFloat32++
      sum += x * x
    }
    worstNorm = Math.max(worstNorm, Math.abs(Math.sqrt(sum) - 1))
  }
  t.equal(wrongLength, 0, 'no embedding of another length')
  t.equal(notFloat32, 0, 'no component that float32 would change')
  t.ok(worstNorm < 1e-6, `| |v| - 1 | is at most ${worstNorm.toExponential(2)}`)
})

t.test('embeddings cluster by category, by family of categories, and by style within a category', async (t) => {
  const items = take(1_000)
  const vectors = items.map((i) => Float64Array.from(i.embedding))
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0
    for (let k = 0; k < a.length; k++) s += (a[k] as number) * (b[k] as number)
    return s
  }
  const familyOf = new Map(CATEGORIES.map((c) => [c.name, c.family]))
  const sums = { category: 0, categoryN: 0, style: 0, styleN: 0, across: 0, acrossN: 0, family: 0, familyN: 0 }
  const best = new Array<number>(items.length).fill(-Infinity)
  const nearest = new Array<number>(items.length).fill(-1)
  let identical = 0
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const cos = dot(vectors[i]!, vectors[j]!)
      if (cos > 0.999) identical++
      if (cos > best[i]!) { best[i] = cos; nearest[i] = j }
      if (cos > best[j]!) { best[j] = cos; nearest[j] = i }
      const a = items[i]!
      const b = items[j]!
      if (a.category !== b.category && familyOf.get(a.category) === familyOf.get(b.category)) { sums.family += cos; sums.familyN++ }
      if (a.category !== b.category) { sums.across += cos; sums.acrossN++ } else if (a.style === b.style) { sums.style += cos; sums.styleN++ } else { sums.category += cos; sums.categoryN++ }
    }
  }
  const within = (sums.category + sums.style) / (sums.categoryN + sums.styleN)
  const across = sums.across / sums.acrossN
  t.ok(within > across + 0.2, `mean cosine within a category ${within.toFixed(3)}, across categories ${across.toFixed(3)}`)
  const family = sums.family / sums.familyN
  const otherFamilies = (sums.across - sums.family) / (sums.acrossN - sums.familyN)
  t.ok(family > otherFamilies + 0.05, `across categories: same family ${family.toFixed(3)}, other families ${otherFamilies.toFixed(3)}`)
  const sameStyle = sums.style / sums.styleN
  const otherStyle = sums.category / sums.categoryN
  t.ok(sameStyle > otherStyle + 0.05, `within a category: same style ${sameStyle.toFixed(3)}, other styles ${otherStyle.toFixed(3)}`)
  const sameCategory = items.filter((item, i) => items[nearest[i]!]!.category === item.category).length / items.length
  t.ok(sameCategory >= 0.8, `the exact nearest neighbour is of the same category for ${(sameCategory * 100).toFixed(1)}% of items`)
  t.equal(identical, 0, 'no two items have (nearly) the same embedding')
  t.ok(Math.max(...best) < 0.95, `the closest pair has cosine ${Math.max(...best).toFixed(3)}, not a duplicate`)
})

t.test('fields look like listings', async (t) => {
  const items = take(2_000)
  const categories = new Map(CATEGORIES.map((c) => [c.name, c]))
  const problems: string[] = []
  const problem = (item: CatalogueItem, what: string): void => { if (problems.length < 10) problems.push(`${item.id}: ${what}`) }
  const shares = new Map<string, number>()
  for (const item of items) {
    shares.set(item.category, (shares.get(item.category) ?? 0) + 1)
    if (!/^\d{1,8}\.\d\d$/.test(item.price) || Number(item.price) <= 0) problem(item, `price ${item.price}`)
    if (item.updatedAt.getTime() < item.createdAt.getTime()) problem(item, 'updated before created')
    if (item.createdAt.getTime() < CATALOGUE_START || item.updatedAt.getTime() > CATALOGUE_END) problem(item, 'outside the three years')
    if (item.createdAt.getTime() < item.seller.createdAt.getTime()) problem(item, 'listed before the seller joined')
    if (!CONDITION_NAMES.includes(item.condition)) problem(item, `condition ${item.condition}`)
    const category = categories.get(item.category)
    if (category === undefined) { problem(item, `category ${item.category}`); continue }
    const style = STYLES.find((s) => s.name === item.style)
    if (style === undefined || !item.title.includes(style.label)) problem(item, `title "${item.title}" lacks its style`)
    if (!category.nouns.some((n) => item.title.includes(n))) problem(item, `title "${item.title}" lacks its garment`)
    if (item.brand !== null && !item.title.includes(item.brand)) problem(item, `title "${item.title}" lacks its brand`)
    // The brand goes out first: "Dr. Martens" is not two sentences.
    const text = item.description.split('\n')[0]!.replaceAll(item.brand ?? '\u0000', 'brand')
    const sentences = text.split(/(?<=[.!])\s+/).length
    if (sentences < 2 || sentences > 3) problem(item, `description of ${sentences} sentences`)
    if (item.size !== null && !sizeFits(category.sizing, item.size)) problem(item, `size ${item.size} for ${item.category}`)
    if (item.sellerId < 1 || item.sellerId > USER_COUNT || item.seller.id !== item.sellerId) problem(item, `seller ${item.sellerId}`)
    if (!item.imageUrl.startsWith('https://example-cdn.')) problem(item, `image ${item.imageUrl}`)
    if (!/^https:\/\/www\.depop\.com\/products\/[a-z0-9-]+\/$/.test(item.listingUrl)) problem(item, `listing ${item.listingUrl}`)
  }
  t.same(problems, [], 'every item passes')
  t.equal(shares.size, CATEGORIES.length, `all ${CATEGORIES.length} categories appear`)
  const largest = Math.max(...shares.values()) / items.length
  const smallest = Math.min(...shares.values()) / items.length
  t.ok(largest < 0.2 && smallest > 0.02, `category shares run from ${(smallest * 100).toFixed(1)}% to ${(largest * 100).toFixed(1)}%`)
  const unbranded = items.filter((i) => i.brand === null).length / items.length
  t.ok(unbranded > 0.05 && unbranded < 0.3, `${(unbranded * 100).toFixed(1)}% of items name no brand`)
  t.ok(new Set(items.map((i) => i.brand)).size > 30, 'a few dozen brands')
  t.ok(new Set(items.map((i) => i.description)).size > 1_900, 'descriptions vary')
  t.ok(items.some((i) => i.description.includes('\n')), 'some descriptions have a line of hashtags')
})

function sizeFits (sizing: string, size: string): boolean {
  const letter = /^(XS|S|M|L|XL|XXL)$/.test(size)
  switch (sizing) {
    case 'letter': return letter
    case 'letter-or-uk': return letter || /^UK (6|8|10|12|14|16)$/.test(size)
    case 'waist': return /^W\d\d( L\d\d)?$/.test(size)
    case 'waist-or-letter': return letter || /^W\d\d( L\d\d)?$/.test(size)
    case 'shoe': return /^(UK \d{1,2}(\.5)?|EU \d\d)$/.test(size)
    default: return size === 'One size' || letter
  }
}

t.test('COPY text: escapes, nulls, timestamps and exact float32 components', async (t) => {
  t.equal(copyText('a\\b\tc\nd\re'), 'a\\\\b\\tc\\nd\\re')
  t.equal(copyText('\\.'), '\\\\.', 'an end-of-data marker cannot appear')
  t.equal(copyRow(['x', null, 3, new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))]), 'x\t\\N\t3\t2024-01-02T03:04:05.006Z\n')
  const values = [0, -0, 1, -1, 0.5, Math.fround(0.1), Math.fround(1 / 3), 2 ** -20, Math.fround(2 ** -20 * (1 + 2 ** -23)), 2 ** -126, 2 ** -149, Math.fround(3.4028234e38), Math.fround(-1.17549435e-38)]
  for (const x of values) {
    const s = shortestFloat32(x)
    t.ok(Object.is(Math.fround(Number(s)), x), `${Object.is(x, -0) ? '-0' : x} as ${s}`)
    t.ok(s.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').length <= 9, `${s} has at most 9 digits`)
  }
  t.equal(vectorLiteral([0.5, -0.25, Math.fround(0.1)]), '[0.5,-0.25,0.1]')
  const [item] = take(1)
  const parsed = vectorLiteral(item!.embedding).slice(1, -1).split(',').map(Number)
  t.same(Float32Array.from(parsed), Float32Array.from(item!.embedding), 'a real embedding reads back as the same float32 values')
})

t.test('loading puts exactly the generated catalogue into the legacy tables, and can run again', async (t) => {
  const { handle, kind } = await migratedDatabase(t, ['legacy'])
  const count = 3_000
  const progress: string[] = []
  const first = await loadLegacyCatalogue(handle, { seed: SEED, count, batchSize: 700, onProgress: (done, total) => progress.push(`${done}/${total}`) })
  t.match(first, { items: count, users: USER_COUNT })
  t.comment(`${kind}: ${count} items in ${first.ms} ms (COPY ${first.copyMs} ms, HNSW index ${first.indexMs} ms)`)
  t.same(progress, ['0/3000', '700/3000', '1400/3000', '2100/3000', '2800/3000', '3000/3000'], 'progress after each batch')

  const [counts] = await handle.query<{ items: string, users: string, max: string }>(
    'SELECT (SELECT count(*) FROM legacy.items) AS items, (SELECT count(*) FROM legacy.users) AS users, (SELECT max(id) FROM legacy.items) AS max')
  t.same(counts, { items: String(count), users: String(USER_COUNT), max: String(count) })

  const generated = take(count)
  const sample = [1, 2, 3, 700, 701, 1_234, 2_222, 2_999, 3_000]
  const rows = await handle.db.select().from(itemsTable).where(inArray(itemsTable.id, sample)).orderBy(itemsTable.id)
  t.equal(rows.length, sample.length)
  for (const row of rows) {
    const item = generated[row.id - 1]!
    t.same({ ...row, embedding: null, createdAt: row.createdAt.getTime(), updatedAt: row.updatedAt.getTime() }, {
      id: item.id,
      depopId: item.depopId,
      sellerId: item.sellerId,
      title: item.title,
      description: item.description,
      category: item.category,
      condition: item.condition,
      size: item.size,
      brand: item.brand,
      price: item.price,
      imageUrl: item.imageUrl,
      listingUrl: item.listingUrl,
      embedding: null,
      createdAt: item.createdAt.getTime(),
      updatedAt: item.updatedAt.getTime()
    }, `item ${row.id} reads back as generated`)
    t.ok(Buffer.from(Float32Array.from(row.embedding ?? []).buffer).equals(Buffer.from(Float32Array.from(item.embedding).buffer)),
      `item ${row.id}: the embedding is the same float32 values`)
  }
  const users = catalogueUsers(SEED)
  const userRows = await handle.db.select().from(usersTable).where(inArray(usersTable.id, [1, 999, 2_000])).orderBy(usersTable.id)
  t.same(userRows.map((u) => ({ ...u, createdAt: u.createdAt.getTime() })),
    [users[0]!, users[998]!, users[1_999]!].map((u) => ({ ...u, createdAt: u.createdAt.getTime() })), 'users read back as generated')

  const indexes = await handle.query<{ indexdef: string, valid: boolean }>(`
    SELECT i.indexdef, x.indisvalid AS valid FROM pg_indexes i
    JOIN pg_class c ON c.relname = i.indexname JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
    JOIN pg_index x ON x.indexrelid = c.oid
    WHERE i.schemaname = 'legacy' AND i.indexname = 'items_embedding_hnsw_idx'`)
  t.same(indexes, [{ indexdef: 'CREATE INDEX items_embedding_hnsw_idx ON legacy.items USING hnsw (embedding vector_cosine_ops)', valid: true }],
    'the HNSW index is back, as the migration defines it')
  const sequences = await handle.query<{ sequencename: string, last_value: string }>(
    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'legacy' AND sequencename IN ('items_id_seq', 'users_id_seq') ORDER BY sequencename")
  t.same(sequences, [{ sequencename: 'items_id_seq', last_value: String(count) }, { sequencename: 'users_id_seq', last_value: String(USER_COUNT) }],
    'the id sequences continue after the loaded ids')
  const analyzed = await handle.query<{ tablename: string }>(
    "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = 'legacy' ORDER BY tablename")
  t.same(analyzed, [{ tablename: 'items' }, { tablename: 'users' }], 'both tables have planner statistics')

  const again = await loadLegacyCatalogue(handle, { seed: SEED, count })
  t.equal(again.items, count)
  const [after] = await handle.query<{ items: string, users: string }>(
    'SELECT (SELECT count(*) FROM legacy.items) AS items, (SELECT count(*) FROM legacy.users) AS users')
  t.same(after, { items: String(count), users: String(USER_COUNT) }, 'a second load replaces the first')
  const [one] = await handle.db.select().from(itemsTable).where(inArray(itemsTable.id, [count]))
  t.equal(one?.depopId, generated[count - 1]!.depopId, 'with the same rows')
})
