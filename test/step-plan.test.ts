// Step plans on a live gateway: started by a person at its first step, a plan advances on healthy traffic
// through its steps to 100 % and promotes the flag; an inconclusive rule holds the step; a fault makes the
// rules roll the flag back, which stops the plan; pause holds it, resume lets it go on, promote ends it.
import type { IncomingMessage, ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { startGateway, type TestGateway } from './helpers/gateway.ts'
import { runSwitchyard } from './helpers/cli-run.ts'
import { within } from './helpers/poll.ts'
import { startUpstream } from './helpers/upstream.ts'

const ok = (req: IncomingMessage, res: ServerResponse) => { req.resume(); res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1}') }

async function planned (t: Test, opts: { ruleMinRequests?: number, hold?: number } = {}) {
  const fault = { errors: false }
  const legacy = await startUpstream(t, ok)
  const neu = await startUpstream(t, (req, res) => fault.errors ? (req.resume(), res.writeHead(500).end()) : ok(req, res))
  const gw = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    config: {
      routes: [{ name: 'items', paths: ['/items', '/items/*'], flag: 'items-api', failover: false }],
      rules: { interval_ms: 100, list: [{ name: 'errors', metric: 'error_rate', window_seconds: 2, min_requests: opts.ruleMinRequests ?? 5, threshold: 0.2, consecutive: 2 }] },
      plans: [{ flag: 'items-api', steps: [10, 50, 100], hold_seconds: opts.hold ?? 1, min_requests: 5 }]
    }
  })
  const run = { stopped: false }
  const load = (async () => {
    for (let i = 0; !run.stopped; i++) await (await fetch(`${gw.proxyUrl}/items/1`, { headers: { 'x-user-id': `u${i % 300}` } })).arrayBuffer()
  })()
  t.teardown(async () => {
    run.stopped = true
    await load
  })
  return { gw, fault }
}

const post = (gw: TestGateway, path: string) => fetch(`${gw.adminUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"test"}' })
const put = (gw: TestGateway, percent: number) => fetch(`${gw.adminUrl}/admin/flags/items-api`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ percent, reason: 'start the plan' }) })
const plan = async (gw: TestGateway) => ((await (await fetch(`${gw.adminUrl}/admin/plans`)).json()) as { plans: Array<{ percent: number, state: string, next: number | null, waiting_for: string[] }> }).plans[0]!
const events = async (gw: TestGateway) => ((await (await fetch(`${gw.adminUrl}/admin/events?flag=items-api`)).json()) as { events: Array<{ action: string, actor: string, to: unknown, reason: string }> }).events

t.test('a plan waits for a person, then advances on healthy traffic to 100 % and promotes the flag', async (t) => {
  const { gw } = await planned(t)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const waiting = await plan(gw)
  t.match(waiting, { percent: 0, state: 'running', next: 10 })
  t.match(waiting.waiting_for[0], /^a person to start it: switchyard rollout items-api 10/, `at 0 % it waits to be started (${waiting.waiting_for.join('; ')})`)
  t.equal((await put(gw, 10)).status, 200)
  const done = await within(20_000, 'promoted', async () => { const p = await plan(gw); return p.state === 'promoted' ? p : undefined }, 50)
  t.match(done.value, { percent: 100, next: null })
  const trail = (await events(gw)).reverse().map((e) => [e.action, e.actor, (e.to as { percent?: number }).percent ?? e.to])
  t.same(trail, [['set_percent', 'admin-api', 10], ['set_percent', 'plan', 50], ['set_percent', 'plan', 100], ['promote', 'plan', 100]], 'each step and the promotion are audit events by the plan')
  t.match((await events(gw)).find((e) => e.to === 50 || (e.to as number) === 50)?.reason ?? '', /^plan step 2 of 3: 10 → 50 % after 1 s and \d+ requests to new, every rule passing$/)
  t.pass(`promoted ${(done.ms / 1000).toFixed(1)} s after the start`)
})

t.test('an inconclusive rule holds the step', async (t) => {
  const { gw } = await planned(t, { ruleMinRequests: 100_000 })
  await put(gw, 10)
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  t.match(await plan(gw), { percent: 10, state: 'running', next: 50, waiting_for: [/^rule errors to pass \(inconclusive: \d+ requests to new over 2 s, fewer than 100000\)$/] }, 'held at 10 %, saying why')
})

t.test('a fault rolls the flag back and the plan stops there', async (t) => {
  const { gw, fault } = await planned(t, { hold: 3600 })
  await put(gw, 10)
  await within(5_000, 'traffic on new', async () => (await plan(gw)).waiting_for.every((w) => !w.startsWith('requests')) ? true : undefined, 50)
  fault.errors = true
  // The override comes first and the 0 % a moment later: wait for both.
  const p = await within(10_000, 'the rollback', async () => { const x = await plan(gw); return x.state === 'rolled_back' && x.percent === 0 ? x : undefined }, 50)
  t.match(p.value, { percent: 0, waiting_for: [/^a person to start it/, 'the flag is rolled_back', /^the hold/, /^requests to new/] }, 'rolled back by the rule; the plan waits')
})

t.test('pause holds a plan, resume lets it go on, promote ends it', async (t) => {
  const { gw } = await planned(t)
  await put(gw, 10)
  t.equal((await post(gw, '/admin/flags/items-api/pause')).status, 200)
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  t.match(await plan(gw), { percent: 10, state: 'paused', waiting_for: ['the flag is paused'] }, 'paused: it stays at 10 % past its hold')
  t.equal((await post(gw, '/admin/flags/items-api/resume')).status, 200)
  await within(10_000, 'the next step', async () => (await plan(gw)).percent === 50 ? true : undefined, 50)
  t.pass('resumed: it goes on to 50 %')
  const promoted = await post(gw, '/admin/flags/items-api/promote')
  t.match(await promoted.json(), { flag: 'items-api', state: 'promoted', percent: 100, previous: 50 })
  t.match(await plan(gw), { percent: 100, state: 'promoted' })
  const paused = await post(gw, '/admin/flags/items-api/pause')
  t.equal(paused.status, 409, 'a promoted flag cannot be paused')
  t.match(await paused.json(), { code: 'SY_ERR_FLAG_NOT_RUNNING' })
})

t.test('switchyard pause and promote, against the real admin API', async (t) => {
  const { gw } = await planned(t, { hold: 3600 })
  await put(gw, 10)
  const env = { SWITCHYARD_ADMIN_URL: gw.adminUrl, USER: 'ana' }
  const paused = await runSwitchyard(t, ['pause', 'items-api', '--reason', 'holding for the sale'], { env })
  t.equal(paused.code, 0)
  t.match(paused.stdout, /^items-api: paused, paused at 10% \(event #\d+\)\n$/)
  const promoted = await runSwitchyard(t, ['promote', 'items-api', '--reason', 'done'], { env })
  t.match(promoted.stdout, /^items-api: promoted, promoted at 100% \(event #\d+\)\n$/)
  const again = await runSwitchyard(t, ['pause', 'items-api', '--reason', 'too late'], { env })
  t.equal(again.code, 1)
  t.match(again.stderr, /items-api is promoted, so it cannot be paused/)
  const usage = await runSwitchyard(t, ['promote', 'items-api'], { env })
  t.equal(usage.code, 2, 'a missing reason is a usage error')
})
