// switchyard-migrate as a user runs it: usage errors as sentences with exit code 2, and up, seed, backfill,
// verify and rollback in sequence on a real database, with verify exiting 1 and naming the ids that differ.
import t from 'tap'
import { runMigrate } from '../services/migrate/cli/main.ts'
import { testDatabase } from './helpers/db.ts'
import { tempDir } from './helpers/gateway.ts'

t.setTimeout(300_000)

async function migrate (argv: string[], env: Record<string, string | undefined>) {
  let out = ''
  let err = ''
  const code = await runMigrate(argv, { env, stdout: { write: (s: string) => { out += s } }, stderr: { write: (s: string) => { err += s } } })
  return { code, out, err }
}

t.test('usage errors are sentences with exit code 2', async (t) => {
  const cases: Array<[string[], Record<string, string>, RegExp]> = [
    [[], {}, /^Usage: switchyard-migrate <command>/],
    [['nope'], {}, /Unknown command "nope"/],
    [['backfill', '--batch-size', '0'], { LEGACY_DATABASE_URL: 'x', DATABASE_URL: 'y' }, /--batch-size takes a whole number of at least 1, got "0"/],
    [['verify'], {}, /Set LEGACY_DATABASE_URL \(the legacy database\) and DATABASE_URL/],
    [['up', '--only', 'both'], { LEGACY_DATABASE_URL: 'x', DATABASE_URL: 'y' }, /--only takes legacy or unified, got "both"/],
    [['up', '--frobnicate'], {}, /Unknown option '--frobnicate'/],
    [['sync', '--follow', '--verify-interval', '10m'], { LEGACY_DATABASE_URL: 'x', DATABASE_URL: 'y' }, /--verify-interval takes a whole number of seconds, 0 to turn verifying off, got "10m"/],
    [['sync', '--follow', '--verify-interval=-1'], { LEGACY_DATABASE_URL: 'x', DATABASE_URL: 'y' }, /--verify-interval takes a whole number of seconds, 0 to turn verifying off, got "-1"/]
  ]
  for (const [argv, env, message] of cases) {
    const r = await migrate(argv, env)
    t.equal(r.code, 2, argv.join(' '))
    t.match(r.err, message)
    t.notMatch(r.err, /^\s+at /m, 'no stack trace')
  }
  const help = await migrate(['--help'], {})
  t.equal(help.code, 0)
  t.match(help.out, /backfill \[--batch-size n\]/)
  t.match(help.out, /sync --follow \[--metrics-port p\] \[--verify-interval s\]/)
})

t.test('up, seed, backfill, verify and rollback on one database', async (t) => {
  const db = await testDatabase(t)
  const dir = db.url === null ? tempDir(t) : null
  // On PGlite the command opens the database itself, in a directory; on Postgres it connects by URL.
  if (dir !== null) await db.handle.close()
  const env = db.url === null ? {} : { LEGACY_DATABASE_URL: db.url, DATABASE_URL: db.url }
  const where = dir === null ? [] : ['--pglite', dir]

  t.match((await migrate(['up', ...where], env)).out, /Migrations applied: legacy, unified/)
  t.match((await migrate(['seed', '--count', '400', '--seed', '7', ...where], env)).out, /Loaded 400 items and 2,000 users into the legacy tables/)
  const b = await migrate(['backfill', ...where], env)
  t.equal(b.code, 0, b.err)
  t.match(b.out, /Backfilled 400 of 400 legacy items in [\d.]+ s \([\d,]+ rows\/s\); HNSW index built in [\d.]+ s\./)
  const ok = await migrate(['verify', ...where, '--json'], env)
  t.equal(ok.code, 0)
  t.match(JSON.parse(ok.out), { ok: true, checked: 400 })
  const rb = await migrate(['rollback', ...where], env)
  t.match(rb.out, /Removed 400 backfilled garments/)
  const bad = await migrate(['verify', ...where], env)
  t.equal(bad.code, 1, 'verify fails after the rollback')
  t.match(bad.out, /missing in unified \(400\): 1, 2, 3, .*\.\.\. \(400 in all\)/)
  t.match(bad.out, /Run switchyard-migrate backfill/)
  t.match((await migrate(['down', '--steps', '1', '--only', 'unified', ...where], env)).out, /Reverted the newest 1 migration\(s\) of: unified/)
})

t.test('a database that cannot be reached is a sentence, exit 1', async (t) => {
  const r = await migrate(['verify'], { LEGACY_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' })
  t.equal(r.code, 1)
  t.match(r.err, /switchyard-migrate: cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/none/)
  t.notMatch(r.err, /^\s+at /m)
})
