// One database holding both schemas (as in the embedded example; the SIGKILL and outage tests use two).
// Inserts, updates and deletes cross in both directions, exactly once, and conflicting writes converge.
import t from 'tap'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { syncBatch, type Direction } from '../services/sync/sync-batch.ts'
import { directionStatus } from '../services/sync/status.ts'
import { migratedDatabase } from './helpers/db.ts'

const stories = new TemplateStoryGenerator()
const opts = { limit: 1_000, stories }

async function setup (t: Parameters<typeof migratedDatabase>[0]) {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  const toUnified: Direction = { name: 'legacy_to_unified', from: 'legacy', to: 'unified', source: handle, target: handle }
  const toLegacy: Direction = { name: 'unified_to_legacy', from: 'unified', to: 'legacy', source: handle, target: handle }
  const item = (id: number, title = `Item ${id}`, at = '2025-01-01T00:00:00.000Z') => handle.query(
    `INSERT INTO legacy.items (id, depop_id, title, category, condition, price, created_at, updated_at, embedding)
     VALUES ($1, $2, $3, 'tops', 'like new', 10, $4, $4, $5::vector)`, [id, `dp-${id}`, title, at, `[${Array.from({ length: 768 }, (_, i) => i === id % 768 ? 1 : 0).join(',')}]`])
  const garment = (id: number) => handle.query<{ title: string, updated_at: Date, embedding: string }>('SELECT title, updated_at, embedding::text FROM unified.garments WHERE legacy_id = $1', [id])
  const legacyRow = (id: number) => handle.query<{ title: string, depop_id: string }>('SELECT title, depop_id FROM legacy.items WHERE id = $1', [id])
  return { handle, toUnified, toLegacy, item, garment, legacyRow }
}

t.test('insert, update and delete on legacy reach unified; no echo comes back', async (t) => {
  const { handle, toUnified, toLegacy, item, garment } = await setup(t)
  await item(1)
  await item(2)
  let r = await syncBatch(toUnified, opts)
  t.match(r, { changes: 2, applied: 2 })
  t.equal((await garment(1))[0]?.title, 'Item 1')
  const legacyEmbedding = await handle.query<{ e: string }>('SELECT embedding::text AS e FROM legacy.items WHERE id = 1')
  t.equal((await garment(1))[0]?.embedding, legacyEmbedding[0]!.e, 'the embedding crossed bit for bit')
  t.match((await handle.query<{ story: { text: string } }>('SELECT story FROM unified.garments WHERE legacy_id = 1'))[0], { story: { generatedBy: 'template-v1' } })
  t.equal((await syncBatch(toLegacy, opts)).changes, 0, 'no echo: the applied rows were not captured on unified')

  await handle.query("UPDATE legacy.items SET title = 'Renamed', updated_at = '2025-01-02T00:00:00Z' WHERE id = 1")
  await handle.query('DELETE FROM legacy.items WHERE id = 2')
  r = await syncBatch(toUnified, opts)
  t.match(r, { changes: 2, applied: 2 })
  t.equal((await garment(1))[0]?.title, 'Renamed')
  t.equal((await garment(2)).length, 0, 'the delete crossed')
  t.equal((await syncBatch(toUnified, opts)).changes, 0, 'each change is applied once')
  t.equal((await syncBatch(toLegacy, opts)).changes, 0)
})

t.test('writes made on unified reach legacy, new rows with their ids from the new side', async (t) => {
  const { handle, toUnified, toLegacy, legacyRow } = await setup(t)
  const [g] = await handle.query<{ legacy_id: string }>(`INSERT INTO unified.garments (title, category, condition, story, price)
    VALUES ('Made on new', 'jackets', 'new', '{"text": "a story"}', 40) RETURNING legacy_id::text`)
  const id = Number(g!.legacy_id)
  t.match(await syncBatch(toLegacy, opts), { changes: 1, applied: 1 })
  t.same(await legacyRow(id), [{ title: 'Made on new', depop_id: `local-${id}` }])
  t.equal((await syncBatch(toUnified, opts)).changes, 0, 'and nothing echoes back')
  await handle.query('DELETE FROM unified.garments WHERE legacy_id = $1', [id])
  await syncBatch(toLegacy, opts)
  t.same(await legacyRow(id), [], 'the delete crossed too')
})

t.test('conflicting updates converge to the same value on both sides', async (t) => {
  const { handle, toUnified, toLegacy, item, garment, legacyRow } = await setup(t)
  for (const id of [1, 2, 3]) await item(id)
  await syncBatch(toUnified, opts)
  // 1: legacy later; 2: unified later; 3: same instant, different content (the checksum decides).
  await handle.query("UPDATE legacy.items SET title = 'L1', updated_at = '2025-03-01T00:00:02Z' WHERE id = 1")
  await handle.query("UPDATE unified.garments SET title = 'U1', updated_at = '2025-03-01T00:00:01Z' WHERE legacy_id = 1")
  await handle.query("UPDATE legacy.items SET title = 'L2', updated_at = '2025-03-01T00:00:01Z' WHERE id = 2")
  await handle.query("UPDATE unified.garments SET title = 'U2', updated_at = '2025-03-01T00:00:02Z' WHERE legacy_id = 2")
  await handle.query("UPDATE legacy.items SET title = 'L3', updated_at = '2025-03-01T00:00:05Z' WHERE id = 3")
  await handle.query("UPDATE unified.garments SET title = 'U3', updated_at = '2025-03-01T00:00:05Z' WHERE legacy_id = 3")
  const a = await syncBatch(toUnified, opts)
  const b = await syncBatch(toLegacy, opts)
  t.equal(a.outcomes.apply + a.outcomes.keep_target, 3, 'every conflict is decided and counted')
  t.equal(a.outcomes.apply + b.outcomes.apply, 3, 'each conflict is won by exactly one side')
  const conflicts = async () => [
    (await directionStatus(handle, 'legacy', handle, 'unified', 'legacy_to_unified')).conflicts,
    (await directionStatus(handle, 'unified', handle, 'legacy', 'unified_to_legacy')).conflicts
  ]
  t.same(await conflicts(), [a.outcomes.keep_target, b.outcomes.keep_target], 'sync status shows the conflicts each target won')
  for (const id of [1, 2, 3]) {
    t.equal((await garment(id))[0]?.title, (await legacyRow(id))[0]?.title, `item ${id} is the same on both sides`)
  }
  t.equal((await legacyRow(1))[0]?.title, 'L1')
  t.equal((await legacyRow(2))[0]?.title, 'U2')
  t.equal((await syncBatch(toUnified, opts)).changes + (await syncBatch(toLegacy, opts)).changes, 0, 'and it settles')
})

t.test('an update older than a delete on the other side does not bring the row back', async (t) => {
  const { handle, toUnified, toLegacy, item, garment, legacyRow } = await setup(t)
  await item(1)
  await syncBatch(toUnified, opts)
  await handle.query("UPDATE unified.garments SET title = 'stale', updated_at = '2025-01-01T00:00:01Z' WHERE legacy_id = 1")
  await handle.query('DELETE FROM legacy.items WHERE id = 1')
  await syncBatch(toUnified, opts)
  await syncBatch(toLegacy, opts)
  t.same(await legacyRow(1), [], 'still deleted on legacy')
  t.same(await garment(1), [], 'and deleted on unified')
})

t.test('a change that cannot be applied is parked and the rest keep flowing', async (t) => {
  const { handle, toLegacy, item } = await setup(t)
  await item(1)
  // A garment claiming a Depop id legacy already has violates legacy's unique constraint.
  await handle.query(`INSERT INTO unified.garments (title, category, condition, story, price, external_id)
    VALUES ('Duplicate', 'tops', 'new', '{"text": ""}', 5, 'dp-1'), ('Fine', 'tops', 'new', '{"text": ""}', 5, 'dp-fine')`)
  const r = await syncBatch(toLegacy, opts)
  t.equal(r.applied, 1)
  t.equal(r.parked.length, 1)
  t.match(r.parked[0]!.reason, /23505/)
  const dead = await handle.query<{ direction: string, reason: string }>('SELECT direction, reason FROM legacy.sync_dead_letters')
  t.match(dead, [{ direction: 'unified_to_legacy', reason: /duplicate key|unique/ }])
  t.same((await handle.query<{ title: string }>("SELECT title FROM legacy.items WHERE depop_id = 'dp-fine'")).map((r) => r.title), ['Fine'])
  t.equal((await syncBatch(toLegacy, opts)).changes, 0, 'the position moved past the poison change')
})

t.test('a large transaction read in several batches loses no change', async (t) => {
  const { handle, toUnified } = await setup(t)
  await handle.query(`INSERT INTO legacy.items (id, depop_id, title, category, condition, price)
    SELECT n, 'dp-' || n, 'Item ' || n, 'tops', 'new', 10 FROM generate_series(1, 1000) AS n`)
  let batches = 0
  while ((await syncBatch(toUnified, { ...opts, limit: 150 })).changes > 0) batches++
  t.ok(batches >= 7, `read in ${batches} batches`)
  const [{ n } = { n: 0 }] = await handle.query<{ n: number }>('SELECT count(*)::int AS n FROM unified.garments')
  t.equal(n, 1000, 'every row crossed')
})

t.test('one poison change in a batch of inserts, updates and deletes: the rest are applied one by one', async (t) => {
  const { handle, toUnified, toLegacy, item, legacyRow } = await setup(t)
  for (const id of [1, 2, 3]) await item(id)
  await syncBatch(toUnified, opts)
  await handle.query("UPDATE unified.garments SET title = 'Renamed on new', updated_at = '2025-02-01T00:00:00Z' WHERE legacy_id = 1")
  await handle.query('DELETE FROM unified.garments WHERE legacy_id = 2')
  await handle.query(`INSERT INTO unified.garments (title, category, condition, story, price, external_id)
    VALUES ('Duplicate', 'tops', 'new', '{"text": ""}', 5, 'dp-3'), ('Fine', 'tops', 'new', '{"text": ""}', 5, 'dp-fine')`)
  const r = await syncBatch(toLegacy, opts)
  t.match(r, { rows: 4, applied: 3 }, 'the update, the delete and the fine insert are applied')
  t.same(r.parked.map((p) => p.reason.slice(0, 5)), ['23505'], 'and only the duplicate is parked')
  t.same(await legacyRow(1), [{ title: 'Renamed on new', depop_id: 'dp-1' }])
  t.same(await legacyRow(2), [])
  t.same(await legacyRow(3), [{ title: 'Item 3', depop_id: 'dp-3' }], 'the item whose Depop id was claimed is untouched')
  t.same((await handle.query("SELECT title FROM legacy.items WHERE depop_id = 'dp-fine'")), [{ title: 'Fine' }])
  t.same(await handle.query<{ n: number }>('SELECT count(*)::int AS n FROM legacy.item_tombstones WHERE row_id = 2'), [{ n: 1 }], 'the delete left its tombstone')
})

t.test('a batch of several hundred rows each way is written as a set and crosses intact', async (t) => {
  const { handle, toUnified, toLegacy } = await setup(t)
  await handle.query(`INSERT INTO legacy.items (id, depop_id, title, category, condition, price, size, brand, embedding)
    SELECT n, 'dp-' || n, 'Item ' || n, 'tops', 'new', n % 90 + 0.5, CASE WHEN n % 2 = 0 THEN 'M' END, 'Brand ' || n % 7,
      (SELECT ('[' || string_agg(CASE WHEN i = n % 768 THEN '1' ELSE '0' END, ',') || ']')::vector FROM generate_series(0, 767) AS i)
    FROM generate_series(1, 400) AS n`)
  t.match(await syncBatch(toUnified, opts), { rows: 400, applied: 400, parked: [] })
  await handle.query("UPDATE unified.garments SET title = title || ' (new)', price = price + 1, updated_at = now() WHERE legacy_id % 3 = 0")
  await handle.query('DELETE FROM unified.garments WHERE legacy_id % 10 = 1')
  // 133 updated, 40 deleted, 13 of them both.
  t.match(await syncBatch(toLegacy, opts), { rows: 160, applied: 160, parked: [] })
  const differ = await handle.query(`SELECT i.id FROM legacy.items i FULL JOIN unified.garments g ON g.legacy_id = i.id
    WHERE i.id IS NULL OR g.legacy_id IS NULL OR i.title <> g.title OR i.price <> g.price OR i.size IS DISTINCT FROM g.size
      OR i.brand IS DISTINCT FROM g.brand OR i.embedding::text <> g.embedding::text OR i.updated_at <> g.updated_at`)
  t.same(differ, [], 'every field of every row is the same on both sides')
  t.equal((await syncBatch(toUnified, opts)).changes, 0, 'and nothing echoes')
})
