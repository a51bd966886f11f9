// SENTRY_DSN points the gateway's reports at a local HTTP endpoint that stands where Sentry's ingest is, and
// the envelopes that arrive are read: a rollback by a rule is a warning message tagged with the route, the
// flag and the rule, and carrying the evidence; a failure of the gateway's own (an admin call that cannot
// save its state) is an exception; a backend's 4xx and 5xx answers are traffic, and send nothing.
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { events, fakeSentry } from './helpers/fake-sentry.ts'
import { startGateway } from './helpers/gateway.ts'
import { within } from './helpers/poll.ts'
import { startUpstream } from './helpers/upstream.ts'

t.test('rollbacks and the gateway\'s own errors reach Sentry with their tags; backend errors do not', async (t) => {
  const sentry = await fakeSentry(t)
  const legacy = await startUpstream(t, (req, res) => { req.resume(); res.writeHead(req.url === '/items/missing' ? 404 : 200, { 'content-type': 'application/json' }).end('{"id":1}') })
  const failing = { on: false }
  const neu = await startUpstream(t, (req, res) => { req.resume(); res.writeHead(failing.on ? 500 : 200, { 'content-type': 'application/json' }).end('{"id":1}') })
  const gw = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    percents: { 'items-api': 50 },
    env: { SENTRY_DSN: sentry.dsn, SENTRY_ENVIRONMENT: 'test' },
    config: {
      routes: [{ name: 'items', paths: ['/items', '/items/*'], flag: 'items-api', failover: false }, { name: 'search', paths: ['/search_by_image'], methods: ['POST'], flag: 'visual-search' }],
      rules: { interval_ms: 100, list: [{ name: 'new-errors', metric: 'error_rate', window_seconds: 2, min_requests: 10, threshold: 0.2, consecutive: 2 }] }
    }
  })

  // Backend errors are traffic: a 404 from legacy, 500s from new, none of them reported.
  await (await fetch(`${gw.proxyUrl}/items/missing`)).arrayBuffer()
  failing.on = true
  for (let i = 0; !(await isRolledBack(gw.adminUrl)) && i < 2000; i++) {
    await (await fetch(`${gw.proxyUrl}/items/1`, { headers: { 'x-user-id': `u${i % 200}` } })).arrayBuffer()
  }
  const rollback = await within(5_000, 'the rollback report', async () => events(sentry.envelopes).find((e) => e.tags?.component === 'rollback'))
  t.match(rollback.value, {
    level: 'warning',
    message: /^items-api rolled back by rule new-errors: rule new-errors: error rate of new .* over 2 s/,
    environment: 'test',
    release: /^switchyard@\d+\.\d+\.\d+/,
    tags: { component: 'rollback', flag: 'items-api', rule: 'new-errors', route: 'items' },
    extra: { routes: ['items'], actor: 'rule:new-errors', details: { rule: 'new-errors', metric: 'error_rate', threshold: 0.2, window_seconds: 2 } }
  }, 'a rollback is a warning tagged with the route, the flag and the rule, with the evidence')
  t.equal(events(sentry.envelopes).length, 1, 'the backends\' 404 and 500 answers sent nothing')

  // The gateway's own failure: a directory stands where the state file goes, so a rollback call answers 500.
  const stateFile = join(gw.dir, 'state', 'flag-states.json')
  rmSync(stateFile, { force: true })
  mkdirSync(join(stateFile, 'in-the-way'), { recursive: true })
  const broken = await fetch(`${gw.adminUrl}/admin/flags/visual-search/rollback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"test"}' })
  t.equal(broken.status, 500, 'an admin call the gateway cannot carry out answers 500')
  const error = await within(5_000, 'the error report', async () => events(sentry.envelopes).find((e) => e.tags?.component === 'admin'))
  t.match(error.value, {
    level: 'error',
    exception: { values: [{ type: String, value: String, stacktrace: { frames: Array } }] },
    tags: { component: 'admin', endpoint: 'POST /admin/flags/:flag/rollback' }
  }, 'and is reported as an exception with its stack')
  t.same([...new Set(sentry.seen.map((r) => `${r.method} ${r.url.split('?')[0]}`))], ['POST /api/42/envelope/'], 'sent to the project of the DSN, as envelopes')
})

async function isRolledBack (adminUrl: string): Promise<boolean> {
  const routes = await (await fetch(`${adminUrl}/admin/routes`)).json() as { routes: Array<{ name: string, state: string }> }
  return routes.routes.find((r) => r.name === 'items')?.state === 'rolled_back'
}
