// End to end: the real legacy service and the real unified service over the synthetic catalogue, after
// the real backfill, behind a gateway that shadows every GET of /items and every POST of /search_by_image.
// With the data in sync the mismatch rate is 0 on both routes; with the unified service's test-only fault
// switch on, the mismatches are on exactly the field it breaks. On Postgres when SWITCHYARD_TEST_PG_URL is
// set (always in CI), else PGlite.
import t, { type Test } from 'tap'
import { loadLegacyCatalogue } from '../services/catalogue/load.ts'
import { buildLegacyService } from '../services/legacy/app.ts'
import { backfill } from '../services/migrate/backfill.ts'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { buildUnifiedService } from '../services/unified/app.ts'
import { listening } from './helpers/catalogue-rows.ts'
import { migratedDatabase } from './helpers/db.ts'
import { startGateway } from './helpers/gateway.ts'
import { shadowRoute, untilCompared } from './helpers/shadow.ts'

const ITEMS = 200

async function stack (t: Test, fieldBug?: string) {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  await loadLegacyCatalogue(handle, { seed: 20240501, count: ITEMS })
  await backfill(handle, handle, { stories: new TemplateStoryGenerator() })
  const legacy = await listening(t, await buildLegacyService({}, { db: handle }))
  const unified = await listening(t, await buildUnifiedService(fieldBug === undefined ? {} : { faults: { v2FieldBug: fieldBug } }, { db: handle }))
  const gw = await startGateway(t, {
    legacy,
    new: unified,
    percents: { 'items-api': 50, 'visual-search': 50 },
    config: {
      routes: [
        { name: 'items', paths: ['/items', '/items/*'], flag: 'items-api', shadow: { percent: 100 } },
        { name: 'search', paths: ['/search_by_image'], methods: ['POST'], flag: 'visual-search', shadow: { percent: 100, methods: ['POST'], side_effect_free: true } }
      ]
    }
  })
  const paths = ['/items', '/items?limit=50', '/items?limit=20&offset=40', '/items?category=tops', ...Array.from({ length: 30 }, (_, i) => `/items/${i * 6 + 1}`), '/items/999999']
  let i = 0
  for (const path of paths) {
    const res = await fetch(gw.proxyUrl + path, { headers: { 'x-user-id': `user-${i++}` } })
    await res.arrayBuffer()
  }
  const searches = Array.from({ length: 20 }, (_, n) => ({ item_id: n * 9 + 2, k: 10 }))
  for (const body of searches) {
    const res = await fetch(gw.proxyUrl + '/search_by_image', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', 'x-user-id': `user-${i++}` } })
    await res.arrayBuffer()
  }
  return {
    items: await untilCompared(gw.adminUrl, 'items', paths.length, 30_000),
    search: await untilCompared(gw.adminUrl, 'search', searches.length, 30_000),
    adminUrl: gw.adminUrl,
    counts: { items: paths.length, search: searches.length }
  }
}

t.test('with the data in sync, the mismatch rate is 0 on /items and /search_by_image', async (t) => {
  const { items, search, counts } = await stack(t)
  for (const [name, r, n] of [['items', items, counts.items], ['search', search, counts.search]] as const) {
    t.same(r.counts, { match: n, mismatch: 0, error: 0, dropped: 0 }, `${name}: ${n} compared, all matching`)
    t.equal(r.window.mismatch_rate, 0, `${name}: the mismatch rate the rules read is 0`)
    t.same(r.samples.map((s) => s.differences), [], `${name}: no sample`)
  }
})

t.test('a mapping bug in the unified service shows up as mismatches on exactly that field', async (t) => {
  const { items, search, adminUrl } = await stack(t, 'brand')
  t.ok(items.counts.mismatch > 0 && search.counts.mismatch > 0, `mismatches on both routes (items ${items.counts.mismatch}, search ${search.counts.mismatch})`)
  t.same(items.top_fields.map((f) => f.field).sort(), ['/brand', '/items/*/brand'], `items: only brand differs, in single items and in lists (${JSON.stringify(items.top_fields)})`)
  t.same(search.top_fields.map((f) => f.field), ['/results/*/item/brand'], 'search: only the results\' brand differs')
  const detail = await shadowRoute(adminUrl, 'items')
  const paths = detail.samples.flatMap((s) => s.differences.map((d) => d.path))
  t.ok(paths.length > 0 && paths.every((p) => /^(\/items\/\d+)?\/brand$/.test(p)), `every sampled difference is a brand (${paths.slice(0, 5).join(', ')}…)`)
})
