// A DatabaseHandle on PGlite: real Postgres with pgvector inside this process. One PGlite can carry both the
// legacy and the unified schema, each service with its own handle on it.
import { PGlite, types, type Transaction } from '@electric-sql/pglite'
import { vector } from '@electric-sql/pglite-pgvector'
import { PgDialect } from 'drizzle-orm/pg-core'
import { drizzle, PgliteSession, PgliteTransaction } from 'drizzle-orm/pglite'
import { chunkRows, copyFromBlobSql } from './copy-rows.ts'
import type { CopyRows, Database, DatabaseHandle } from './database.ts'

// PGlite takes COPY data as one Blob per statement, copied whole into its memory; a load is split into
// blobs of about this many characters, each its own COPY, so that copy stays small.
const COPY_BATCH_CHARS = 4 * 1024 * 1024

// node-postgres returns int8 as a string (it may not fit a JavaScript number); PGlite returns a number.
// Raw queries follow node-postgres, so code tested on one kind behaves the same on the other.
const QUERY_OPTIONS = { parsers: { [types.INT8]: (value: string) => value } }

export interface PgliteOptions {
  /** Where the database files live; in memory when absent. */
  dataDir?: string
  /** Starts from a copy of another PGlite (its dumpDataDir()), which is much faster than a new cluster. */
  loadDataDir?: Blob
}

/** A new PGlite with pgvector loaded, and a handle whose close() closes it. */
export async function openPglite (opts: PgliteOptions = {}): Promise<{ pglite: PGlite, handle: DatabaseHandle }> {
  const pglite = await PGlite.create({
    ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
    ...(opts.loadDataDir !== undefined ? { loadDataDir: opts.loadDataDir } : {}),
    extensions: { vector }
  })
  const shared = pgliteHandle(pglite)
  const handle: DatabaseHandle = {
    ...shared,
    close: async () => { if (!pglite.closed) await pglite.close() }
  }
  return { pglite, handle }
}

/** A handle on a PGlite owned elsewhere: its close() leaves the PGlite open for the other handles on it. */
export function pgliteHandle (pglite: PGlite): DatabaseHandle {
  const db: Database = drizzle({ client: pglite })
  return {
    db,
    kind: 'pglite',
    async query<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
      return (await pglite.query<T>(text, params, QUERY_OPTIONS)).rows
    },
    transaction<T>(fn: (tx: DatabaseHandle) => Promise<T>): Promise<T> {
      return pglite.transaction((tx) => fn(transactionHandle(tx, transactionDb(tx))))
    },
    async copyFrom (sql: string, rows: CopyRows): Promise<void> {
      const blobSql = copyFromBlobSql(sql)
      // The rows are read before the transaction starts: a source that itself queries this PGlite (a
      // backfill reading legacy tables into unified ones on the same database) would otherwise wait
      // forever for the transaction to end. The load stays all or nothing.
      const blobs: Blob[] = []
      for await (const batch of chunkRows(rows, COPY_BATCH_CHARS)) blobs.push(new Blob([batch]))
      await pglite.transaction(async (tx) => {
        for (const blob of blobs) await tx.query(blobSql, [], { blob })
      })
    },
    async close (): Promise<void> {}
  }
}

// A drizzle transaction object over PGlite's transaction, so that tx.db.transaction() nests with a savepoint.
function transactionDb (tx: Transaction): Database {
  const dialect = new PgDialect()
  return new PgliteTransaction(dialect, new PgliteSession(tx, dialect, undefined), undefined)
}

function transactionHandle (tx: Transaction, db: Database): DatabaseHandle {
  return {
    db,
    kind: 'pglite',
    async query<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
      return (await tx.query<T>(text, params, QUERY_OPTIONS)).rows
    },
    transaction<T>(fn: (nested: DatabaseHandle) => Promise<T>): Promise<T> {
      return db.transaction((nested) => fn(transactionHandle(tx, nested)))
    },
    copyFrom (sql: string, rows: CopyRows): Promise<void> {
      return copyInTransaction(tx, copyFromBlobSql(sql), rows)
    },
    async close (): Promise<void> {}
  }
}

// Already in a transaction, the rows cannot come from this PGlite outside it anyway, so they stream.
async function copyInTransaction (tx: Transaction, blobSql: string, rows: CopyRows): Promise<void> {
  for await (const batch of chunkRows(rows, COPY_BATCH_CHARS)) {
    await tx.query(blobSql, [], { blob: new Blob([batch]) })
  }
}
