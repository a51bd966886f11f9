// A database of its own for each test, dropped by the test's own teardown. With SWITCHYARD_TEST_PG_URL
// (set by .ci/run, or by `source .ci/postgres.sh`) it is a fresh database on that Postgres server; without
// it, an in-memory PGlite with pgvector, so the tests run on a machine with nothing but Node. CI must test
// against the real server, so there a missing URL fails the test instead.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { connectPostgres, openPglite, type DatabaseHandle, type DatabaseKind } from '../../services/db/database.ts'
import { migrateUp } from '../../services/db/migrate.ts'
import { inCi } from './servers.ts'
import type { MigrationSetName } from '../../services/db/migration-sets.ts'

export const TEST_PG_URL_VARIABLE = 'SWITCHYARD_TEST_PG_URL'

/**
 * Why a test that needs a real Postgres server (another process connects to it, or it must go away mid-run:
 * PGlite will not do) cannot run here, or null when it can. In CI a missing server throws, as a missing
 * binary does in servers.ts: there it is part of the machine.
 */
export function postgresMissing (what: string): string | null {
  const url = process.env[TEST_PG_URL_VARIABLE]
  if (url !== undefined && url !== '') return null
  const why = `${TEST_PG_URL_VARIABLE} is not set: ${what} (source .ci/postgres.sh)`
  if (inCi()) throw new Error(`${why}; in CI the tests need the real server, which .ci/run starts`)
  return why
}

interface Teardown { teardown (fn: () => unknown): void }

export interface TestDatabase {
  readonly handle: DatabaseHandle
  /** The test database's URL, for code that connects by itself; null on PGlite. */
  readonly url: string | null
  readonly kind: DatabaseKind
}

export async function testDatabase (t: Teardown): Promise<TestDatabase> {
  const serverUrl = process.env[TEST_PG_URL_VARIABLE]
  if (serverUrl !== undefined && serverUrl !== '') return postgresDatabase(t, serverUrl)
  if (inCi()) {
    throw new Error(`${TEST_PG_URL_VARIABLE} is not set: in CI the tests need a real PostgreSQL with pgvector ` +
      '(.ci/run starts one with .ci/postgres.sh); they do not fall back to PGlite there')
  }
  const { handle } = await openPglite({ loadDataDir: await pgliteTemplate() })
  t.teardown(() => handle.close())
  return { handle, url: null, kind: 'pglite' }
}

/** A test database with the given sets of migrations applied, in that order. */
export async function migratedDatabase (t: Teardown, which: MigrationSetName[]): Promise<TestDatabase> {
  const database = await testDatabase(t)
  for (const set of which) await migrateUp(database.handle, set)
  return database
}

/** A legacy and a unified test database, each with its migrations applied: the two sides of the sync. */
export async function migratedPair (t: Teardown): Promise<{ legacyDb: TestDatabase, unifiedDb: TestDatabase }> {
  return { legacyDb: await migratedDatabase(t, ['legacy']), unifiedDb: await migratedDatabase(t, ['unified']) }
}

// A new PGlite spends seconds in initdb; a copy of an empty one opens in a fraction of that. The copy is
// made once per test process and never changes, so sharing it keeps the tests independent.
let template: Promise<Blob> | undefined

function pgliteTemplate (): Promise<Blob> {
  template ??= (async () => {
    const { pglite, handle } = await openPglite({})
    try {
      return await pglite.dumpDataDir('none')
    } finally {
      await handle.close()
    }
  })()
  return template
}

async function postgresDatabase (t: Teardown, serverUrl: string): Promise<TestDatabase> {
  const name = `sy_test_${randomBytes(6).toString('hex')}`
  await onServer(serverUrl, `CREATE DATABASE ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  let handle: DatabaseHandle
  try {
    handle = await connectPostgres(url.toString(), { applicationName: 'switchyard-test' })
  } catch (err) {
    await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name}`)
    throw err
  }
  t.teardown(async () => {
    await handle.close()
    // FORCE: a connection the test leaked must not keep the database alive.
    await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })
  return { handle, url: url.toString(), kind: 'postgres' }
}

export async function onServer (serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, application_name: 'switchyard-test' })
  await client.connect()
  try {
    await client.query(statement)
  } finally {
    await client.end()
  }
}
