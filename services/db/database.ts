// The one shape every service and job gets its database in, whether it is a Postgres server reached through a
// pool or a PGlite in the same process. The schemas are not bound to the drizzle instance, so one handle
// serves the legacy tables, the unified tables, or both.
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'

export type Database = PgDatabase<PgQueryResultHKT>

export type DatabaseKind = 'postgres' | 'pglite'

/** One row of COPY text per item; a missing final newline is added. */
export type CopyRows = AsyncIterable<string> | Iterable<string>

export interface DatabaseHandle {
  readonly db: Database
  readonly kind: DatabaseKind
  /**
   * Runs one statement with $1, $2... parameters and returns its rows. Both kinds parse values alike:
   * bigint (int8, count(*)) and numeric come back as strings, timestamps as Date, json as objects.
   */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>
  /**
   * Runs fn in a transaction on one connection: committed when fn resolves, rolled back when it throws.
   * Inside, use only the handle fn receives (its db, query, copyFrom, and transaction for a savepoint);
   * on PGlite the outer handle waits until the transaction ends.
   */
  transaction<T>(fn: (tx: DatabaseHandle) => Promise<T>): Promise<T>
  /**
   * Loads rows with a `COPY ... FROM STDIN` statement (text or csv format, without HEADER), all or nothing.
   * On Postgres the rows stream with backpressure. On PGlite they are read into memory first, unless this
   * is a transaction's handle, where they stream in batches.
   */
  copyFrom(sql: string, rows: CopyRows): Promise<void>
  /** Closes what the handle owns: the pool, or the PGlite that openPglite created. A transaction's handle owns nothing. */
  close(): Promise<void>
}

export { connectPostgres, type PostgresOptions } from './postgres.ts'
export { openPglite, pgliteHandle, type PgliteOptions } from './pglite.ts'
export { DatabaseError } from './errors.ts'
