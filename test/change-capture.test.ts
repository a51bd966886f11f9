// Change capture on both sides: every insert, update and delete of an item or a garment is recorded with
// its transaction id; a delete leaves a tombstone; writes marked as the sync's own are not recorded.
import t from 'tap'
import { migratedDatabase } from './helpers/db.ts'

t.test('inserts, updates and deletes are captured with their transaction, sync writes are not', async (t) => {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  const item = (id: number) => `INSERT INTO legacy.items (id, depop_id, title, category, condition, price) VALUES (${id}, 'dp-${id}', 'Item ${id}', 'tops', 'like new', 10)`
  await handle.query(item(1))
  const xids = await handle.transaction(async (tx) => {
    await tx.query(item(2))
    await tx.query("UPDATE legacy.items SET title = 'Renamed' WHERE id = 2")
    return tx.query<{ x: string }>('SELECT pg_current_xact_id()::text AS x')
  })
  await handle.query('DELETE FROM legacy.items WHERE id = 1')
  await handle.transaction(async (tx) => {
    await tx.query("SET LOCAL switchyard.sync_apply = 'on'")
    await tx.query(item(3))
    await tx.query('DELETE FROM legacy.items WHERE id = 3')
  })
  const changes = await handle.query<{ op: string, row_id: string, xid: string }>('SELECT op, row_id::text, xid::text FROM legacy.sync_changes ORDER BY seq')
  t.same(changes.map((c) => [c.op, Number(c.row_id)]), [['I', 1], ['I', 2], ['U', 2], ['D', 1]], 'the sync\'s own writes were not captured')
  t.equal(changes[1]!.xid, xids[0]!.x, 'a change carries the id of the transaction that made it')
  t.equal(changes[1]!.xid, changes[2]!.xid)
  const tombs = await handle.query<{ row_id: string }>('SELECT row_id::text FROM legacy.item_tombstones ORDER BY row_id')
  t.same(tombs.map((r) => Number(r.row_id)), [1, 3], 'every delete leaves a tombstone, the sync\'s too')

  await handle.query("INSERT INTO unified.garments (title, category, condition, story, legacy_id) VALUES ('G', 'tops', 'new', '{\"text\": \"\"}', 42)")
  await handle.query('UPDATE unified.garments SET view_count = 1 WHERE legacy_id = 42')
  await handle.query('DELETE FROM unified.garments WHERE legacy_id = 42')
  const g = await handle.query<{ op: string, row_id: string }>('SELECT op, row_id::text FROM unified.sync_changes ORDER BY seq')
  t.same(g.map((c) => [c.op, Number(c.row_id)]), [['I', 42], ['U', 42], ['D', 42]], 'garments are captured by their v2.0 id')
  t.equal((await handle.query('SELECT 1 FROM unified.garment_tombstones WHERE row_id = 42')).length, 1)
})
