// The database handle behaves the same on Postgres and on PGlite: raw queries parse values alike,
// transactions commit or roll back whole and nest with savepoints, COPY loads all or nothing, and a
// connection failure says where and what to check without printing the password.
import { createServer } from 'node:net'
import t from 'tap'
import { connectPostgres, type DatabaseHandle } from '../services/db/database.ts'
import { testDatabase } from './helpers/db.ts'

const DIMENSIONS = 768

async function table (handle: DatabaseHandle): Promise<void> {
  await handle.query('CREATE EXTENSION IF NOT EXISTS vector')
  await handle.query('CREATE TABLE things (id bigint PRIMARY KEY, name text, embedding vector(768))')
}

const count = async (handle: DatabaseHandle): Promise<number> =>
  Number((await handle.query<{ n: string }>('SELECT count(*) AS n FROM things'))[0]?.n)

function vectorText (seed: number): string {
  return `[${Array.from({ length: DIMENSIONS }, (_, i) => Math.sin(seed * 31 + i).toFixed(6)).join(',')}]`
}

async function * rowsOf (n: number, opts: { failAt?: number } = {}): AsyncGenerator<string> {
  for (let id = 1; id <= n; id++) {
    if (id === opts.failAt) throw new Error('the source failed')
    yield `${id}\tthing ${id}\\twith a tab\t${id % 7 === 0 ? '\\N' : vectorText(id)}`
  }
}

t.test('raw queries parse values the same way on both kinds', async (t) => {
  const { handle, kind } = await testDatabase(t)
  const [row] = await handle.query<Record<string, unknown>>(
    "SELECT 9007199254740993::int8 AS big, count(*) AS n, 12.50::numeric(10,2) AS price, now() AS at, '{\"a\":1}'::jsonb AS doc, $1::int AS param FROM (VALUES (1)) v",
    [42])
  t.same(row, { big: '9007199254740993', n: '1', price: '12.50', at: row?.at, doc: { a: 1 }, param: 42 }, kind)
  t.ok(row?.at instanceof Date, 'timestamps are Dates')
})

t.test('a transaction commits when its function resolves and rolls back when it throws', async (t) => {
  const { handle } = await testDatabase(t)
  await table(handle)
  const result = await handle.transaction(async (tx) => {
    await tx.query("INSERT INTO things (id, name) VALUES (1, 'kept')")
    return 'done'
  })
  t.equal(result, 'done')
  await t.rejects(handle.transaction(async (tx) => {
    await tx.query("INSERT INTO things (id, name) VALUES (2, 'lost')")
    throw new Error('changed my mind')
  }), { message: 'changed my mind' })
  t.same(await handle.query('SELECT id, name FROM things ORDER BY id'), [{ id: '1', name: 'kept' }])
})

t.test('transactions nest with savepoints, through the handle and through its drizzle db', async (t) => {
  const { handle } = await testDatabase(t)
  await table(handle)
  await handle.transaction(async (tx) => {
    await tx.query("INSERT INTO things (id, name) VALUES (1, 'outer')")
    await t.rejects(tx.transaction(async (inner) => {
      await inner.query("INSERT INTO things (id, name) VALUES (2, 'inner')")
      throw new Error('inner fails')
    }))
    await tx.db.transaction(async (dtx) => {
      await dtx.execute("INSERT INTO things (id, name) VALUES (3, 'drizzle')")
    })
    await t.rejects(tx.db.transaction(async (dtx) => {
      await dtx.execute("INSERT INTO things (id, name) VALUES (4, 'drizzle, rolled back')")
      dtx.rollback()
    }))
    t.equal(await count(tx), 2, 'inside, the outer row and the committed savepoint are visible')
    throw new Error('then the outer one fails')
  }).catch(() => {})
  t.equal(await count(handle), 0, 'a nested commit did not commit the outer transaction')
})

t.test('COPY loads many rows, tabs, nulls and vectors included', async (t) => {
  const { handle, kind } = await testDatabase(t)
  await table(handle)
  const n = 1_500 // about 12 MB of COPY text: several chunks on Postgres, several blobs on PGlite
  const started = Date.now()
  await handle.copyFrom('COPY things (id, name, embedding) FROM STDIN', rowsOf(n))
  t.equal(await count(handle), n, `${kind}: ${n} rows in ${Date.now() - started} ms`)
  const [row] = await handle.query<{ name: string, embedding: string | null, dims: number }>(
    'SELECT name, embedding::text AS embedding, vector_dims(embedding) AS dims FROM things WHERE id = 1')
  t.equal(row?.name, 'thing 1\twith a tab')
  t.equal(row?.dims, DIMENSIONS)
  t.equal(row?.embedding?.split(',')[1], Math.sin(32).toFixed(6).replace(/0+$/, ''))
  t.equal(Number((await handle.query<{ n: string }>('SELECT count(*) AS n FROM things WHERE embedding IS NULL'))[0]?.n), Math.floor(n / 7))

  await handle.copyFrom('COPY things (id, name) FROM STDIN WITH (FORMAT csv)', ['900001,"a, b"\n', '900002,'])
  t.same(await handle.query('SELECT name FROM things WHERE id > 900000 ORDER BY id'), [{ name: 'a, b' }, { name: null }],
    'csv, and plain arrays with or without the final newline')
})

t.test('COPY is all or nothing, and the handle works after a failed one', async (t) => {
  const { handle } = await testDatabase(t)
  await table(handle)
  await t.rejects(handle.copyFrom('COPY things (id, name) FROM STDIN', ['1\tone', '2\ttwo', 'x\tbad id']), /bigint|invalid input/)
  t.equal(await count(handle), 0, 'a bad row loads nothing')
  await t.rejects(handle.copyFrom('COPY things (id, name, embedding) FROM STDIN', rowsOf(1_000, { failAt: 900 })), { message: 'the source failed' })
  t.equal(await count(handle), 0, 'a source that fails half way loads nothing')
  await t.rejects(handle.transaction(async (tx) => {
    await tx.copyFrom('COPY things (id, name) FROM STDIN', ['1\tone'])
    t.equal(await count(tx), 1, 'in a transaction, the rows are visible to it')
    throw new Error('roll back')
  }))
  t.equal(await count(handle), 0, 'and go with its rollback')
  await t.rejects(handle.copyFrom('INSERT INTO things VALUES (1)', []), { code: 'SY_ERR_DB_COPY_SQL' })
  await t.rejects(handle.copyFrom('COPY things FROM STDIN WITH (FORMAT csv, HEADER)', []), { code: 'SY_ERR_DB_COPY_SQL' })
  await handle.copyFrom('COPY things (id, name) FROM STDIN', ['7\tseven'])
  t.equal(await count(handle), 1, 'the handle still works')
})

t.test('COPY rows may come from a query on the same database', async (t) => {
  const { handle } = await testDatabase(t)
  await table(handle)
  await handle.query("INSERT INTO things (id, name) SELECT g, 'source ' || g FROM generate_series(1, 50) g")
  await handle.query('CREATE TABLE copies (id bigint, name text)')
  async function * fromThings (): AsyncGenerator<string> {
    for (let after = 0; ; after += 10) {
      const page = await handle.query<{ id: string, name: string }>('SELECT id, name FROM things WHERE id > $1 ORDER BY id LIMIT 10', [after])
      if (page.length === 0) return
      for (const r of page) yield `${r.id}\t${r.name}`
    }
  }
  await handle.copyFrom('COPY copies (id, name) FROM STDIN', fromThings())
  t.equal(Number((await handle.query<{ n: string }>('SELECT count(*) AS n FROM copies'))[0]?.n), 50)
})

t.test('connecting to a server that is not there names it, says what to check, and hides the password', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
  const err = await connectPostgres(`postgres://app:hunter2@127.0.0.1:${port}/shop?sslpassword=secret`).catch((e: unknown) => e)
  t.match(err, {
    code: 'SY_ERR_DB_CONNECT',
    message: `cannot connect to postgres://app@127.0.0.1:${port}/shop: ECONNREFUSED; is Postgres running? set DATABASE_URL`
  })
  t.notMatch(String((err as Error).message), /hunter2|secret/)
  t.ok((err as Error).cause, 'the driver error is the cause')
})

t.test('connecting to a database that does not exist says so', async (t) => {
  const { url } = await testDatabase(t)
  if (url === null) return t.pass('needs a Postgres server (SWITCHYARD_TEST_PG_URL)')
  const missing = new URL(url)
  missing.pathname = '/sy_no_such_database'
  await t.rejects(connectPostgres(missing.toString()), {
    code: 'SY_ERR_DB_CONNECT',
    message: /\/sy_no_such_database: database "sy_no_such_database" does not exist; create the database/
  })
})
