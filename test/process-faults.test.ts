// `switchyard serve` and `switchyard-service` as real processes, with a bug of their own injected from
// outside any request (the preload test/fixtures/process-fault.mjs, on SIGUSR2): a promise rejected with no
// handler is logged (and reported to Sentry by the gateway), and the process serves on; an exception nobody
// caught is logged and reported, the request in flight is drained, and the process exits 1 for its
// supervisor to start a fresh one.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { migratedDatabase, postgresMissing, TEST_PG_URL_VARIABLE } from './helpers/db.ts'
import { events, fakeSentry } from './helpers/fake-sentry.ts'
import { tempDir } from './helpers/gateway.ts'
import { within } from './helpers/poll.ts'
import { ROOT, spawnServe, waitReady, writeServeConfig } from './helpers/process-serve.ts'
import { freePort } from './helpers/servers.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

const PRELOAD = join(ROOT, 'test', 'fixtures', 'process-fault.mjs')
const SLOW_MS = 1_000
const SERVICE = join(ROOT, 'services', 'bin', 'switchyard-service.ts')
const noPostgres = postgresMissing('the service runs as a process on Postgres') ?? false

async function faultyServe (t: Parameters<typeof tempDir>[0], fault: 'rejection' | 'exception') {
  const arrived: Array<() => void> = []
  const legacy = await startUpstream(t, (req, res) => {
    if (req.url !== '/items/slow') return namedJson('legacy')(req, res)
    for (const f of arrived.splice(0)) f()
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"slow":true}'), SLOW_MS)
  })
  const next = await startUpstream(t, namedJson('new'))
  const sentry = await fakeSentry(t)
  const dir = tempDir(t)
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const file = writeServeConfig(dir, { proxyPort, adminPort, legacy: legacy.url, new: next.url, drainTimeoutMs: 5_000 })
  const serve = spawnServe(t, ['--config', file], { NODE_OPTIONS: `--import=${PRELOAD}`, SWITCHYARD_TEST_FAULT: fault, SENTRY_DSN: sentry.dsn })
  const adminUrl = `http://127.0.0.1:${adminPort}`
  await waitReady(serve, adminUrl)
  return { serve, sentry, proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl, slowArrived: () => new Promise<void>((resolve) => arrived.push(resolve)) }
}

t.test('a promise rejected with no handler: logged, reported, and the gateway serves on', async (t) => {
  const { serve, sentry, proxyUrl } = await faultyServe(t, 'rejection')
  t.ok(serve.child.kill('SIGUSR2'), 'the fault is raised')
  const reported = await within(5_000, 'the report', async () => events(sentry.envelopes).find((e) => e.tags?.kind === 'unhandled_rejection'))
  t.match(reported.value, { tags: { component: 'process', kind: 'unhandled_rejection' }, exception: { values: [{ value: 'injected rejection' }] } }, 'reported to Sentry with its tags')
  await sleep(500)
  t.equal(serve.child.exitCode, null, 'the process is still running')
  const res = await fetch(`${proxyUrl}/items/1`)
  t.equal(res.status, 200, 'and still serves')
  await res.arrayBuffer()
  t.match(serve.stdout() + serve.stderr(), /a promise was rejected and nothing handled it[^\n]*injected rejection|injected rejection[^\n]*a promise was rejected and nothing handled it/, 'the log says what happened, with the error')
})

t.test('an exception nobody caught: logged, reported, the request in flight drained, exit 1', async (t) => {
  const { serve, sentry, proxyUrl, slowArrived } = await faultyServe(t, 'exception')
  const arrived = slowArrived()
  const inFlight = fetch(`${proxyUrl}/items/slow`).then(async (res) => ({ status: res.status, body: await res.text() }), (err: Error) => ({ error: err.message }))
  await arrived
  const raised = performance.now()
  t.ok(serve.child.kill('SIGUSR2'), 'the fault is raised')
  const exit = await serve.exited
  t.same({ code: exit.code, signal: exit.signal }, { code: 1, signal: null }, `the process exits 1 (after ${(exit.at - raised).toFixed(0)} ms)`)
  t.match(await inFlight, { status: 200, body: '{"slow":true}' }, 'the request in flight was answered first')
  t.match(events(sentry.envelopes).find((e) => e.tags?.kind === 'uncaught_exception'), { tags: { component: 'process' }, exception: { values: [{ value: 'injected exception' }] } },
    'reported to Sentry before the exit')
  t.match(serve.stdout() + serve.stderr(), /an exception nobody caught[^\n]*injected exception|injected exception[^\n]*an exception nobody caught/, 'the log says what happened, with the error')
})

t.test('the same in switchyard-service: serves on after a rejection, exits 1 after an exception', { skip: noPostgres }, async (t) => {
  const db = await migratedDatabase(t, ['legacy'])
  if (db.url === null) throw new Error(`the service runs as a process on a Postgres server: set ${TEST_PG_URL_VARIABLE}`)
  for (const fault of ['rejection', 'exception'] as const) {
    const port = await freePort()
    const env = { ...process.env, NODE_OPTIONS: `--import=${PRELOAD}`, SWITCHYARD_TEST_FAULT: fault, LEGACY_DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1' }
    const child = spawn(process.execPath, ['--import', 'tsx', SERVICE, 'legacy'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let log = ''
    for (const s of [child.stdout, child.stderr]) s.setEncoding('utf8').on('data', (x: string) => { log += x })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    t.teardown(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited } })
    const url = `http://127.0.0.1:${port}`
    await within(30_000, `the legacy service ready (${log})`, async () => (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) ? true : undefined, 100)
    child.kill('SIGUSR2')
    if (fault === 'rejection') {
      await within(5_000, 'the log line', async () => /a promise was rejected and nothing handled it \(a bug of the legacy service/.test(log) ? true : undefined)
      await sleep(300)
      t.equal(child.exitCode, null, 'after a rejection the service still runs')
      t.equal((await fetch(`${url}/items`)).status, 200, 'and still serves')
      child.kill('SIGTERM')
      t.equal(await exited, 0, 'SIGTERM still ends it with 0')
    } else {
      t.equal(await exited, 1, 'after an exception it exits 1')
      t.match(log, /an exception nobody caught \(a bug of the legacy service[^\n]*|injected exception/, 'saying why')
    }
  }
})
