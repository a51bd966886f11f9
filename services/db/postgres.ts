// A DatabaseHandle on a Postgres server, through a pg.Pool. A transaction holds one pooled client from
// BEGIN to COMMIT or ROLLBACK; COPY streams on one pooled client with backpressure.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import pgCopy from 'pg-copy-streams'
import { PgDialect } from 'drizzle-orm/pg-core'
import { drizzle, NodePgSession, NodePgTransaction } from 'drizzle-orm/node-postgres'
import { checkCopySql, chunkRows } from './copy-rows.ts'
import { describeConnectError } from './connect-error.ts'
import type { CopyRows, Database, DatabaseHandle } from './database.ts'

export interface PostgresOptions {
  /** The most connections the pool opens (pg's default: 10). */
  max?: number
  /** Shown in pg_stat_activity, so a DBA can tell the services and jobs apart. */
  applicationName?: string
  /**
   * Called when an idle pooled connection fails (a server restart, a killed backend). The pool has
   * already dropped it and the next query opens a new one; by default nothing else is done.
   */
  onIdleError?: (err: Error) => void
}

// Large enough that a write carries many rows, small enough that backpressure still bounds memory.
const COPY_CHUNK_CHARS = 64 * 1024

export async function connectPostgres (url: string, opts: PostgresOptions = {}): Promise<DatabaseHandle> {
  const pool = new pg.Pool({
    connectionString: url,
    ...(opts.max !== undefined ? { max: opts.max } : {}),
    ...(opts.applicationName !== undefined ? { application_name: opts.applicationName } : {})
  })
  pool.on('error', (err) => opts.onIdleError?.(err))
  try {
    const client = await pool.connect()
    client.release()
  } catch (err) {
    await pool.end().catch(() => {})
    throw describeConnectError(url, err)
  }
  return poolHandle(pool)
}

function poolHandle (pool: pg.Pool): DatabaseHandle {
  const db: Database = drizzle({ client: pool })
  let closing: Promise<void> | undefined
  return {
    db,
    kind: 'postgres',
    async query<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
      const result = await pool.query(text, params)
      return result.rows as T[]
    },
    async transaction<T>(fn: (tx: DatabaseHandle) => Promise<T>): Promise<T> {
      const client = await pool.connect()
      let broken: Error | undefined
      // pg-pool listens for a client's 'error' only while the client is idle; a connection lost while it is
      // checked out would otherwise be an unhandled 'error' event and end the process. The failing query
      // rejects on its own; this keeps the process alive and makes release() discard the client.
      const onError = (err: Error): void => { broken = err }
      client.on('error', onError)
      try {
        await client.query('BEGIN')
        const result = await fn(clientHandle(client, transactionDb(client)))
        await client.query('COMMIT')
        return result
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: Error) => { broken = rollbackErr })
        throw err
      } finally {
        // A client whose ROLLBACK failed is in an unknown state: release(err) closes it instead of pooling it.
        client.off('error', onError)
        client.release(broken)
      }
    },
    async copyFrom (sql: string, rows: CopyRows): Promise<void> {
      const client = await pool.connect()
      let broken: Error | undefined
      const onError = (err: Error): void => { broken = err }
      client.on('error', onError)
      try {
        await copyOnClient(client, sql, rows)
      } catch (err) {
        broken ??= err instanceof Error ? err : new Error(String(err))
        throw err
      } finally {
        client.off('error', onError)
        client.release(broken)
      }
    },
    close (): Promise<void> {
      closing ??= pool.end()
      return closing
    }
  }
}

// A drizzle transaction object over the client already in BEGIN, so that tx.db.transaction() nests with a
// savepoint instead of sending a second BEGIN (and then a COMMIT that would end the outer transaction).
function transactionDb (client: pg.PoolClient): Database {
  const dialect = new PgDialect()
  return new NodePgTransaction(dialect, new NodePgSession(client, dialect, undefined), undefined)
}

function clientHandle (client: pg.PoolClient, db: Database): DatabaseHandle {
  return {
    db,
    kind: 'postgres',
    async query<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
      const result = await client.query(text, params)
      return result.rows as T[]
    },
    transaction<T>(fn: (tx: DatabaseHandle) => Promise<T>): Promise<T> {
      return db.transaction((nested) => fn(clientHandle(client, nested)))
    },
    copyFrom (sql: string, rows: CopyRows): Promise<void> {
      return copyOnClient(client, sql, rows)
    },
    async close (): Promise<void> {}
  }
}

async function copyOnClient (client: pg.PoolClient, sql: string, rows: CopyRows): Promise<void> {
  const stream = client.query(pgCopy.from(checkCopySql(sql)))
  await pipeline(Readable.from(chunkRows(rows, COPY_CHUNK_CHARS)), stream)
}
