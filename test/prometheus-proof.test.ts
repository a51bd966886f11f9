// The proof that the dashboards and the alerts read real metrics: a real Prometheus, scraping every 500 ms a
// real gateway's admin /metrics (sharing its state through a real Redis), both services' /metrics and the
// sync's --metrics-port, with the alert rules loaded. Traffic goes through the gateway to the legacy and
// unified services on Postgres: shadowed reads that mismatch (a row changed behind the sync's back, and a
// field of new's that differs on every answer until it is learned as noise), a step plan's step, a fault in
// new that a rule rolls back, writes through both backends that the sync carries, and a verify run that
// finds the changed row. Then every PromQL expression of the generated dashboards (targets, annotations and
// variables, with the variables given real values) and of the alert rules (and of each alert, what must
// have series for it to fire) is sent to /api/v1/query: each must parse and return at least one series.
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { loadLegacyCatalogue } from '../services/catalogue/load.ts'
import { backfill } from '../services/migrate/backfill.ts'
import { openDatabases } from '../services/migrate/cli/databases.ts'
import { runSyncCommand } from '../services/migrate/cli/sync-command.ts'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { alertExpressions, dashboardExpressions, substitute, type Expression } from '../dashboards/expressions.ts'
import { DASHBOARDS, ROOT, RULES_FILE } from '../dashboards/outputs.ts'
import { JOBS } from '../dashboards/panels.ts'
import { migratedPair, postgresMissing } from './helpers/db.ts'
import { startGateway, type TestGateway } from './helpers/gateway.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { freePort, missing, startPrometheus, startRedis, type ScrapeTarget } from './helpers/servers.ts'
import { startUpstream } from './helpers/upstream.ts'

t.setTimeout(300_000)

const skip = missing('prometheus', 'redis-server') ?? postgresMissing('the services run as processes on Postgres') ?? false

/** The values the template variables take: real labels of the traffic below, and Grafana's intervals. */
const VARIABLES = {
  route: 'items',
  flag: 'items-api',
  direction: 'legacy_to_unified',
  __rate_interval: '1m',
  __interval: '5m',
  __range: '10m'
}
const ITEMS = 200
const CHANGED_ITEM = 7
const SERVICE = join(ROOT, 'services', 'bin', 'switchyard-service.ts')

/** A service as its own process, as a container runs it (switchyard-service legacy|unified), with its /metrics. */
async function startService (t: Test, name: 'legacy' | 'unified', db: { url: string | null }): Promise<string> {
  if (db.url === null) throw new Error('the services run as processes on a Postgres server: set SWITCHYARD_TEST_PG_URL (source .ci/postgres.sh)')
  const port = await freePort()
  const env = { ...process.env, [name === 'legacy' ? 'LEGACY_DATABASE_URL' : 'DATABASE_URL']: db.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }
  const child = spawn(process.execPath, ['--import', 'tsx', SERVICE, name], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => { log = (log + s).slice(-4_000) })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited } })
  const url = `http://127.0.0.1:${port}`
  await within(30_000, `switchyard-service ${name} ready (${log})`, async () => {
    if (child.exitCode !== null) throw new Error(`switchyard-service ${name} exited: ${log}`)
    return (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) ? true : undefined
  }, 100)
  return url
}

/**
 * new as the gateway sees it: the unified service behind a proxy that adds a field differing on every answer
 * (noise, once learned), and that, while the fault is on, answers 500 or resets the connection.
 */
async function faultyNew (t: Test, target: string) {
  const fault = { on: false }
  const to = new URL(target)
  let n = 0
  const proxy = await startUpstream(t, (req, res) => {
    const i = n++
    if (fault.on && i % 10 < 2) { req.socket.destroy(); return }
    if (fault.on && i % 10 < 8) {
      req.resume()
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"statusCode":500,"error":"Internal Server Error","message":"injected"}')
      return
    }
    const out = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } }, (up) => {
      const chunks: Buffer[] = []
      up.on('data', (c: Buffer) => chunks.push(c))
      up.on('end', () => {
        let body = Buffer.concat(chunks)
        if (req.method === 'GET' && String(up.headers['content-type'] ?? '').startsWith('application/json')) {
          const parsed = JSON.parse(body.toString()) as unknown
          if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
            body = Buffer.from(JSON.stringify({ ...parsed, served_at: process.hrtime.bigint().toString() }))
          }
        }
        const headers = { ...up.headers, 'content-length': String(body.length) }
        delete headers['transfer-encoding']
        res.writeHead(up.statusCode ?? 502, headers).end(body)
      })
    })
    out.on('error', (err) => res.destroy(err))
    req.pipe(out)
  })
  return { url: proxy.url, fault }
}

/** Readers of many users, and a writer through both versions, until stopped. */
function traffic (t: Test, gw: TestGateway) {
  const seen = { reads: 0, writes: 0, byBackend: {} as Record<string, number> }
  const run = { stopped: false }
  // Paced, so that the machine keeps time to answer the scrapes (their timeout is the 500 ms interval).
  const reader = async (k: number) => {
    for (let i = k; !run.stopped; i += 4) {
      await sleep(10)
      const path = i % 10 === 0 ? '/items?limit=5' : `/items/${1 + (i % 60)}`
      const res = await fetch(`${gw.proxyUrl}${path}`, { headers: { 'x-user-id': `user-${i % 300}` } }).catch(() => null)
      await res?.arrayBuffer()
      const backend = res?.headers.get('x-switchyard-backend') ?? 'none'
      seen.byBackend[backend] = (seen.byBackend[backend] ?? 0) + 1
      seen.reads++
    }
  }
  const writer = async () => {
    for (let i = 0; !run.stopped; i++) {
      const body = JSON.stringify({ depop_id: `proof-${i}`, title: `Written through v${1 + (i % 2)} #${i}`, description: 'proof', category: 'tops', condition: 'new', price: 10 + i })
      const res = await fetch(`${gw.proxyUrl}/v${1 + (i % 2)}/items`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': `writer-${i}` }, body }).catch(() => null)
      await res?.arrayBuffer()
      seen.writes++
      await sleep(250)
    }
  }
  const done = Promise.all([...[0, 1, 2, 3].map(reader), writer()])
  const stop = async () => { run.stopped = true; await done }
  t.teardown(stop)
  return { seen, stop }
}

interface Answer { status: string, error?: string, data?: { resultType: string, result: unknown[] } }

async function query (prometheus: string, expr: string): Promise<Answer> {
  const res = await fetch(`${prometheus}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: expr }).toString() })
  return await res.json() as Answer
}

/** Why an answer is not at least one series, or null when it is. */
function problem (a: Answer, needSeries: boolean): string | null {
  if (a.status !== 'success') return `error: ${a.error ?? JSON.stringify(a)}`
  if (!needSeries) return null
  const rows = a.data?.resultType === 'vector' || a.data?.resultType === 'matrix' ? a.data.result.length : 0
  return rows > 0 ? null : `no series (${a.data?.resultType})`
}

t.test('every expression of the dashboards and the alerts returns series from a real Prometheus', { skip }, async (t) => {
  const { legacyDb, unifiedDb } = await migratedPair(t)
  await loadLegacyCatalogue(legacyDb.handle, { seed: 20240501, count: ITEMS })
  await backfill(legacyDb.handle, unifiedDb.handle, { stories: new TemplateStoryGenerator() })
  // Changed without the sync seeing it: the shadows of this item mismatch, and verify finds it.
  await unifiedDb.handle.transaction(async (tx) => {
    await tx.query("SET LOCAL switchyard.sync_apply = 'on'")
    await tx.query("UPDATE unified.garments SET title = 'Changed behind the sync' WHERE legacy_id = $1", [CHANGED_ITEM])
  })

  const legacy = { url: await startService(t, 'legacy', legacyDb) }
  const unified = { url: await startService(t, 'unified', unifiedDb) }
  const neu = await faultyNew(t, unified.url)
  const redis = await startRedis(t)
  const gw = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    env: { REDIS_URL: redis.url },
    config: {
      routes: [
        { name: 'items', paths: ['/items', '/items/*'], flag: 'items-api', shadow: { percent: 100, noise_percent: 30, concurrency: 64 } },
        { name: 'search', paths: ['/search_by_image'], methods: ['POST'], flag: 'visual-search' }
      ],
      rules: { interval_ms: 200, list: [{ name: 'new-error-rate', metric: 'error_rate', window_seconds: 3, min_requests: 10, threshold: 0.2, consecutive: 2, flags: ['items-api'] }] },
      plans: [{ flag: 'items-api', steps: [10, 50, 100], hold_seconds: 5, min_requests: 10 }]
    }
  })

  // The sync as `switchyard-migrate sync --follow --metrics-port <p> --verify-interval 2` runs it.
  const dbs = await openDatabases({ LEGACY_DATABASE_URL: legacyDb.url!, DATABASE_URL: unifiedDb.url! }, undefined)
  const syncPort = await freePort()
  const stopSync = new AbortController()
  const quiet = { write: () => true }
  const syncing = runSyncCommand('--follow', dbs, { json: false, batchSize: 500, metricsPort: syncPort, verifyIntervalSeconds: 2 }, { stdout: quiet, stderr: quiet, signal: stopSync.signal })
  t.teardown(async () => { stopSync.abort(); await syncing; await dbs.close() })
  const syncUrl = `http://127.0.0.1:${syncPort}`
  await within(10_000, 'the sync\'s metrics port', async () => (await fetch(`${syncUrl}/healthz`).then((r) => r.ok, () => false)) ? true : undefined, 50)

  const targets: ScrapeTarget[] = [
    { job: JOBS.gateway, url: `${gw.adminUrl}/metrics` },
    { job: JOBS.sync, url: `${syncUrl}/metrics` },
    { job: 'switchyard-legacy', url: `${legacy.url}/metrics` },
    { job: 'switchyard-unified', url: `${unified.url}/metrics` }
  ]
  const prometheus = await startPrometheus(t, targets, { scrapeIntervalMs: 500, ruleFiles: [join(ROOT, RULES_FILE)] })

  const load = traffic(t, gw)
  const admin = (path: string, init?: RequestInit) => fetch(`${gw.adminUrl}/admin${path}`, init).then(async (r) => await r.json() as any)
  const plan = async () => (await admin('/plans')).plans.find((p: { flag: string }) => p.flag === 'items-api') as { percent: number, state: string }
  const state = async () => (await admin('/routes')).routes.find((r: { name: string }) => r.name === 'items') as { state: string, percent: number }

  // A step plan, started by a person at its first step, takes the next on healthy traffic.
  const started = await admin('/flags/items-api', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ percent: 10, reason: 'start the plan' }) })
  t.match(started, { flag: 'items-api', percent: 10 }, 'the plan is started at 10 %')
  const stepped = await within(60_000, 'the plan\'s step to 50 %', async () => (await plan()).percent === 50 ? true : undefined, 50)
  t.pass(`the plan stepped to 50 % after ${(stepped.ms / 1000).toFixed(1)} s`)
  // The step must be in Prometheus before the fault ends it, for the rollout steps annotation to show it.
  await within(20_000, 'Prometheus seeing 50 %', async () => problem(await query(prometheus.url, 'switchyard_rollout_percent{flag="items-api"} == 50'), true) === null ? true : undefined, 100)

  // new fails: the rule rolls the flag back.
  neu.fault.on = true
  const rolled = await within(30_000, 'the rollback', async () => (await state()).state === 'rolled_back' ? true : undefined, 50)
  neu.fault.on = false
  t.pass(`the rule rolled items-api back ${(rolled.ms / 1000).toFixed(1)} s after the fault began`)

  const verified = await within(60_000, 'a verify run finding the changed row', async () => {
    const text = await scrape(syncUrl)
    return sample(text, 'switchyard_sync_verify_differences', { kind: 'different' }) >= 1 ? text : undefined
  }, 200)
  t.ok(sample(verified.value, 'switchyard_sync_rows_applied_total', { direction: 'legacy_to_unified' }) > 0 &&
    sample(verified.value, 'switchyard_sync_rows_applied_total', { direction: 'unified_to_legacy' }) > 0, 'the sync carried writes both ways')

  const dashboards: Expression[] = []
  for (const file of Object.keys(DASHBOARDS)) dashboards.push(...dashboardExpressions(file, JSON.parse(await readFile(join(ROOT, file), 'utf8'))))
  const alerts = alertExpressions(await readFile(join(ROOT, RULES_FILE), 'utf8'))
  const checks = [
    ...dashboards.map((e) => ({ where: e.where, expr: substitute(e.expr, VARIABLES), needSeries: true })),
    ...alerts.flatMap((a) => [
      { where: `alert ${a.alert}`, expr: a.expr, needSeries: false },
      ...a.operands.map((o) => ({ where: `alert ${a.alert}, operand`, expr: o, needSeries: true }))
    ])
  ]
  // Scrapes and rate windows take a few seconds to fill: ask again until every check passes, or give up.
  let failures: string[] = []
  const deadline = performance.now() + 45_000
  do {
    failures = []
    for (const c of checks) {
      const why = problem(await query(prometheus.url, c.expr), c.needSeries)
      if (why !== null) failures.push(`${c.where}: ${why}\n    ${c.expr.replace(/\s*\n\s*/g, ' ')}`)
    }
    if (failures.length === 0) break
    await sleep(1_000)
  } while (performance.now() < deadline)
  for (const f of failures) t.comment(`FAILED ${f}`)
  t.same(failures, [], `${checks.length} queries: ${dashboards.length} dashboard expressions, ${alerts.length} alert expressions and their operands, each parses and has series`)

  const rules = await (await fetch(`${prometheus.url}/api/v1/rules?type=alert`)).json() as { data: { groups: Array<{ rules: Array<{ name: string, health: string, lastError?: string }> }> } }
  const loaded = rules.data.groups.flatMap((g) => g.rules)
  t.same(loaded.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), [], `Prometheus loaded and evaluates all ${loaded.length} alert rules`)
  t.equal(loaded.length, alerts.length)
  const firing = await within(20_000, 'the alerts this traffic causes', async () => {
    const answer = await (await fetch(`${prometheus.url}/api/v1/alerts`)).json() as { data: { alerts: Array<{ labels: Record<string, string>, state: string }> } }
    const names = new Set(answer.data.alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname))
    return names.has('SwitchyardRollback') && names.has('SwitchyardSyncVerifyDifferences') ? answer.data.alerts : undefined
  }, 250)
  t.pass(`alerts: ${firing.value.map((a) => `${a.labels.alertname} ${a.state}`).join(', ')}`)

  await load.stop()
  t.comment(`traffic: ${load.seen.reads} reads (${JSON.stringify(load.seen.byBackend)}), ${load.seen.writes} writes`)
})
