// Every migration has a way back: applying both sets, reverting them all and applying them again gives the
// same schema, read from the catalogs; and reverting one step at a time leaves exactly the older migrations.
// On Postgres when SWITCHYARD_TEST_PG_URL is set (always in CI), else on PGlite.
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import legacyConfig from '../drizzle/legacy/drizzle.config.ts'
import unifiedConfig from '../drizzle/unified/drizzle.config.ts'
import type { DatabaseHandle } from '../services/db/database.ts'
import { migrateDown, migrateUp, migrationEntries, migrationStatus } from '../services/db/migrate.ts'
import { MIGRATION_SET_NAMES, migrationSet, repositoryRoot, type MigrationSetName } from '../services/db/migration-sets.ts'
import { testDatabase } from './helpers/db.ts'

const SCHEMAS = ['legacy', 'unified']
const CONFIGS = { legacy: legacyConfig, unified: unifiedConfig }
const tagsOf = (which: MigrationSetName) => migrationEntries(migrationSet(which)).map((e) => e.tag)

/** The one row whose fields equal those given, or undefined (which no t.match pattern matches). */
function find (rows: unknown[], where: Record<string, unknown>): unknown {
  const hits = rows.filter((row) => Object.entries(where).every(([k, v]) => (row as Record<string, unknown>)[k] === v))
  return hits.length === 1 ? hits[0] : undefined
}

async function appliedTags (handle: DatabaseHandle, which: MigrationSetName): Promise<string[]> {
  return (await migrationStatus(handle, which)).filter((m) => m.applied).map((m) => m.tag)
}

/** The schemas as the catalogs describe them, in a stable order, so that two captures compare whole. */
interface SchemaCapture { columns: unknown[], indexes: unknown[], constraints: unknown[], sequences: unknown[] }

async function captureSchema (handle: DatabaseHandle): Promise<SchemaCapture> {
  const params = [SCHEMAS]
  return {
    columns: await handle.query(`
      SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
        a.attnotnull AS not_null, a.attgenerated AS generated, pg_get_expr(d.adbin, d.adrelid) AS default_or_expression
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY 1, 2, a.attnum`, params),
    indexes: await handle.query(`
      SELECT schemaname AS schema, tablename AS table, indexname AS index, indexdef
      FROM pg_indexes WHERE schemaname = ANY($1) ORDER BY 1, 2, 3`, params),
    constraints: await handle.query(`
      SELECT n.nspname AS schema, c.relname AS table, k.conname AS constraint, k.contype AS kind,
        pg_get_constraintdef(k.oid) AS definition
      FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1)
      ORDER BY 1, 2, 3`, params),
    sequences: await handle.query(`
      SELECT schemaname AS schema, sequencename AS sequence, data_type::text AS type, start_value, min_value,
        max_value, increment_by, cache_size, cycle
      FROM pg_sequences WHERE schemaname = ANY($1) ORDER BY 1, 2`, params)
  }
}

async function leftovers (handle: DatabaseHandle): Promise<{ schemas: string[], relations: string[], extensions: string[] }> {
  const schemas = await handle.query<{ name: string }>(
    "SELECT nspname AS name FROM pg_namespace WHERE nspname IN ('legacy', 'unified', 'drizzle') ORDER BY 1")
  const relations = await handle.query<{ name: string }>(`
    SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('legacy', 'unified', 'drizzle') ORDER BY 1`)
  const extensions = await handle.query<{ name: string }>("SELECT extname AS name FROM pg_extension WHERE extname = 'vector'")
  return { schemas: schemas.map((r) => r.name), relations: relations.map((r) => r.name), extensions: extensions.map((r) => r.name) }
}

async function indexMethod (handle: DatabaseHandle, index: string): Promise<{ method: string, opclass: string } | undefined> {
  const [row] = await handle.query<{ method: string, opclass: string }>(`
    SELECT am.amname AS method, oc.opcname AS opclass
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    JOIN pg_opclass oc ON oc.oid = i.indclass[0]
    WHERE c.oid = to_regclass($1)`, [index])
  return row
}

t.test('the migrator uses the folders and tables that drizzle.config.ts names, and every migration has a down', async (t) => {
  const root = repositoryRoot()
  for (const which of MIGRATION_SET_NAMES) {
    const set = migrationSet(which)
    const config = CONFIGS[which]
    t.equal(relative(root, set.folder), String(config.out).replace(/^\.\//, ''), `${which}: the migrations folder`)
    t.same({ schema: set.migrationsSchema, table: set.migrationsTable }, config.migrations, `${which}: drizzle's table`)
    const ups = tagsOf(which).map((tag) => `${tag}.sql`)
    const downs = readdirSync(set.downFolder).filter((f) => f.endsWith('.sql')).sort()
    t.same(downs, ups, `${which}: one down file per migration, named like it`)
    t.ok(ups.every((f) => readdirSync(set.folder).includes(f)), `${which}: the journal names the files in ${relative(root, set.folder)}`)
  }
  t.equal(repositoryRoot(join(root, 'dist', 'services', 'db')), root, 'the build finds the same root from dist/')
})

t.test('up, down all the way, then up again gives the same schema', async (t) => {
  const { handle, kind } = await testDatabase(t)

  t.same(await migrateUp(handle, 'legacy'), tagsOf('legacy'), `${kind}: up applies every legacy migration`)
  t.same(await migrateUp(handle, 'unified'), tagsOf('unified'), 'and every unified migration')
  t.same(await migrateUp(handle, 'unified'), [], 'a second up applies nothing')
  const a = await captureSchema(handle)

  t.match(find(a.columns, { table: 'items', column: 'embedding' }), { schema: 'legacy', type: 'vector(768)', not_null: false })
  t.match(find(a.columns, { table: 'items', column: 'price' }), { schema: 'legacy', type: 'numeric(10,2)', not_null: true })
  t.match(find(a.columns, { table: 'garments', column: 'search' }), { type: 'tsvector', generated: 's', default_or_expression: /to_tsvector\('english'/ })
  t.match(find(a.columns, { table: 'garments', column: 'legacy_id' }), { default_or_expression: /nextval\('unified\.v2_item_id_seq'/ })
  t.match(find(a.sequences, { sequence: 'v2_item_id_seq' }), { schema: 'unified', start_value: '1000000000000' })
  t.match(find(a.constraints, { constraint: 'items_seller_id_users_id_fk' }), { table: 'items', definition: /REFERENCES legacy\.users\(id\)/ })
  t.match(find(a.constraints, { constraint: 'garments_exchange_type_check' }), { table: 'garments', kind: 'c' })
  for (const index of ['legacy.items_embedding_hnsw_idx', 'unified.garments_embedding_hnsw_idx']) {
    t.same(await indexMethod(handle, index), { method: 'hnsw', opclass: 'vector_cosine_ops' }, `${index}: HNSW, cosine`)
  }
  t.same(await indexMethod(handle, 'unified.garments_search_gin_idx'), { method: 'gin', opclass: 'tsvector_ops' }, 'full-text search: GIN')

  t.same(await migrateDown(handle, 'unified', { steps: Infinity }), tagsOf('unified').reverse(), 'down reverts every unified migration, newest first')
  t.same(await migrateDown(handle, 'legacy', { steps: Infinity }), tagsOf('legacy').reverse(), 'then every legacy one')
  t.same(await leftovers(handle), { schemas: [], relations: [], extensions: [] },
    'no legacy, unified or drizzle schema or table is left, nor the vector extension')

  t.same(await migrateUp(handle, 'legacy'), tagsOf('legacy'), 'up applies the legacy migrations again')
  t.same(await migrateUp(handle, 'unified'), tagsOf('unified'), 'and the unified ones')
  t.strictSame(await captureSchema(handle), a, 'the schema is the same as the first time')
})

t.test('down one step at a time leaves the older migrations, and up re-applies exactly the reverted ones', async (t) => {
  const { handle } = await testDatabase(t)
  for (const which of MIGRATION_SET_NAMES) await migrateUp(handle, which)

  const unified = tagsOf('unified')
  for (let applied = unified.length; applied > 1; applied--) {
    t.same(await migrateDown(handle, 'unified', { steps: 1 }), [unified[applied - 1]], `unified: reverts ${unified[applied - 1]}`)
    t.same(await appliedTags(handle, 'unified'), unified.slice(0, applied - 1), 'and leaves the ones before it applied')
  }
  t.same((await leftovers(handle)).schemas, ['drizzle', 'legacy'], 'the unified schema is gone')
  t.same(await migrateDown(handle, 'unified', { steps: 1 }), [unified[0]], 'down reverts the unified 0000')
  t.same((await leftovers(handle)).extensions, ['vector'], 'which keeps the vector extension, that legacy.items still uses')
  t.equal((await handle.query('SELECT embedding FROM legacy.items')).length, 0, 'and legacy.items is intact')

  const legacy = tagsOf('legacy')
  for (let applied = legacy.length; applied > 1; applied--) {
    t.same(await migrateDown(handle, 'legacy', { steps: 1 }), [legacy[applied - 1]], `legacy: reverts ${legacy[applied - 1]}`)
    t.same(await appliedTags(handle, 'legacy'), legacy.slice(0, applied - 1), 'and leaves the ones before it applied')
  }
  t.same((await leftovers(handle)).extensions, ['vector'], 'with 0000 still applied, and its extension')
  t.same(await migrateUp(handle, 'legacy'), legacy.slice(1), 'up re-applies only what was reverted')

  t.same(await migrateUp(handle, 'unified'), unified, 'unified up again')
  t.same(await migrateDown(handle, 'unified', { to: '0000' }), unified.slice(1).reverse(), 'down to 0000 reverts everything after it')
  t.same(await appliedTags(handle, 'unified'), ['0000_vector_extension'])
  t.same(await migrateDown(handle, 'unified', { to: '0000_vector_extension' }), [], 'down to the newest applied reverts nothing')
  t.same(await migrateDown(handle, 'unified'), ['0000_vector_extension'], 'down with no options reverts one')
  t.same(await migrateDown(handle, 'unified'), [], 'and with nothing applied, nothing')
})

t.test('a bad down target or a migration inside a transaction is refused, and changes nothing', async (t) => {
  const { handle } = await testDatabase(t)
  await migrateUp(handle, 'legacy')
  await t.rejects(migrateDown(handle, 'legacy', { steps: 1, to: '0000' }), { code: 'SY_ERR_DB_BAD_DOWN_TARGET', message: /not both/ })
  await t.rejects(migrateDown(handle, 'legacy', { steps: 0 }), { code: 'SY_ERR_DB_BAD_DOWN_TARGET', message: /positive integer/ })
  await t.rejects(migrateDown(handle, 'legacy', { to: '0099' }), { code: 'SY_ERR_DB_BAD_DOWN_TARGET', message: `0099 is not an applied migration (applied: ${[...tagsOf('legacy')].reverse().join(', ')})` })
  await t.rejects(handle.transaction((tx) => migrateUp(tx, 'unified')), { code: 'SY_ERR_DB_IN_TRANSACTION' })
  t.same(await appliedTags(handle, 'legacy'), tagsOf('legacy'))
  t.same(await appliedTags(handle, 'unified'), [])

  await handle.query('CREATE TABLE legacy.extra (id int)')
  await t.rejects(migrateDown(handle, 'legacy', { steps: Infinity }), { code: 'SY_ERR_DB_MIGRATE_DOWN', message: /0001_legacy_tables/ },
    'a down that meets an object it did not expect fails')
  t.same(await appliedTags(handle, 'legacy'), tagsOf('legacy'), 'and reverts nothing')
  t.equal((await handle.query('SELECT * FROM legacy.items')).length, 0, 'the tables are still there')
})
