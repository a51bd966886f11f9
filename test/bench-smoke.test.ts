// The README's benchmark commands, run as a user runs them, in their short --quick form: they must finish,
// exit 0 and report figures that make sense. They measure nothing here (the machine runs the other tests at
// the same time); the figures the README quotes come from full runs on a quiet machine. In CI a missing
// wrk, Postgres or redis-server fails the test; elsewhere it is skipped.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { tempDir } from './helpers/gateway.ts'
import { ROOT } from './helpers/process-serve.ts'
import { postgresMissing } from './helpers/db.ts'
import { missing } from './helpers/servers.ts'

t.setTimeout(600_000)

function npmRun (t: Test, script: string, args: string[]): Promise<{ code: number | null, output: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', script, '--', ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (c: Buffer) => { output += c.toString() })
    child.stderr.on('data', (c: Buffer) => { output += c.toString() })
    t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
    child.on('close', (code) => resolve({ code, output }))
  })
}

t.test('npm run bench -- --quick: the gateway with and without shadowing, through wrk', { skip: missing('wrk') ?? false }, async (t) => {
  const json = join(tempDir(t), 'bench.json')
  const run = await npmRun(t, 'bench', ['--quick', '--cases', 'c,f,g', '--json', json])
  t.equal(run.code, 0, 'it exits 0', { output: run.output.slice(-2000) })
  const report = JSON.parse(readFileSync(json, 'utf8')) as { cases: Array<{ id: string, median: { rps: number, errors: number } | null }>, notes: string[] }
  t.same(report.cases.map((c) => c.id), ['c', 'f', 'g'])
  for (const c of report.cases) t.ok(c.median !== null && c.median.rps > 0 && c.median.errors === 0, `case ${c.id}: ${c.median?.rps.toFixed(0)} req/s, no error`)
  t.match(report.notes.join('\n'), /g: .*shadows: match \d+/, 'case g compared shadows')
  t.match(run.output, /shadow 10 % vs 0 % \(g\/f\): req\/s x\d/, 'and the report gives the ratio')
})

t.test('npm run bench:data -- --quick: seed, backfill, search and the sync on Postgres', { skip: postgresMissing('bench:data runs on Postgres') ?? false }, async (t) => {
  const json = join(tempDir(t), 'data.json')
  const run = await npmRun(t, 'bench:data', ['--quick', '--json', json])
  t.equal(run.code, 0, 'it exits 0', { output: run.output.slice(-2000) })
  const r = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number>
  t.equal(r.sync_verify_ok, 1, 'both sides hold the same rows after the sync')
  t.ok(r.recall_at_10! >= 0.9, `recall@10 ${r.recall_at_10}`)
  for (const k of ['backfill_rows_per_s', 'sync_inserts_legacy_to_unified_rows_per_s', 'sync_updates_unified_to_legacy_rows_per_s', 'sync_lag_p99_ms']) {
    t.ok(Number.isFinite(r[k]) && r[k]! > 0, `${k}: ${r[k]}`)
  }
  t.ok(Number.isFinite(r.sync_catchup_s), `caught up after the outage in ${r.sync_catchup_s} s`)
})

t.test('npm run bench:rollback -- --quick: faults injected under load on three replicas and one Redis', { skip: missing('redis-server') ?? false }, async (t) => {
  const json = join(tempDir(t), 'rollback.json')
  const run = await npmRun(t, 'bench:rollback', ['--quick', '--json', json])
  t.equal(run.code, 0, 'it exits 0', { output: run.output.slice(-2000) })
  const r = JSON.parse(readFileSync(json, 'utf8')) as { injections: Array<{ ms: number, errors: number }>, p50: number, max: number, flagger: { seconds: number, errors: number } }
  t.equal(r.injections.length, 3, 'three injections')
  for (const [i, x] of r.injections.entries()) t.ok(x.ms > 0 && x.ms < 30_000, `injection ${i + 1}: every replica on legacy after ${x.ms.toFixed(0)} ms`)
  t.ok(r.max >= r.p50, 'max is at least p50')
  t.equal(r.flagger.seconds, 300, 'next to Flagger\'s default of 5 checks a minute apart')
  t.match(run.output, /fault → every replica on legacy, over 3 injections: p50 \d+ ms, max \d+ ms/)
})
