// Rollback rules on a live gateway: a fault injected in new at a 25 % rollout rolls the flag back on its own
// within seconds, with the rule, the value, the window and the samples in the audit event, the metric and
// the route's state; with failover, no client GET fails. Too little traffic gives inconclusive verdicts and
// no rollback. A latency fault trips the p99 rule and a shadow mismatch fault the mismatch rule.
import type { IncomingMessage, ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import type { RoutesAnswer } from '../gateway/cli/admin-types.ts'
import { renderStatus } from '../gateway/cli/commands/status.ts'
import { startGateway, type TestGateway } from './helpers/gateway.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { startUpstream } from './helpers/upstream.ts'

const ITEM = JSON.stringify({ id: 1, title: 'Denim jacket' })

/** new, with faults the test switches on: errors on a share of requests, a delay, or a different answer. */
function faultyNew () {
  const fault = { errorShare: 0, delayMs: 0, body: ITEM }
  let n = 0
  return {
    fault,
    handler: (req: IncomingMessage, res: ServerResponse) => {
      req.resume()
      const answer = () => {
        if (fault.errorShare > 0 && (n++ % 100) < fault.errorShare * 100) {
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"injected"}')
          return
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(fault.body)
      }
      if (fault.delayMs > 0) setTimeout(answer, fault.delayMs)
      else answer()
    }
  }
}

/** Requests from many users, one after another, until stopped; counts what the clients saw. */
function steadyLoad (t: Test, gw: TestGateway, opts: { method?: string, users?: number } = {}) {
  const seen = { requests: 0, failed: 0, legacy: 0, new: 0 }
  const run = { stopped: false }
  t.teardown(() => { run.stopped = true })
  const done = (async () => {
    for (let i = 0; !run.stopped; i++) {
      const res = await fetch(`${gw.proxyUrl}/items/1`, { method: opts.method ?? 'GET', headers: { 'x-user-id': `user-${i % (opts.users ?? 400)}` } })
      await res.arrayBuffer()
      seen.requests++
      if (res.status >= 500) seen.failed++
      if (res.headers.get('x-switchyard-backend') === 'legacy') seen.legacy++
      else seen.new++
    }
  })()
  return { seen, stop: async () => { run.stopped = true; await done } }
}

async function gatewayWithRule (t: Test, rule: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const legacy = await startUpstream(t, (req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'application/json' }).end(ITEM) })
  const neu = faultyNew()
  const upstream = await startUpstream(t, neu.handler)
  const gw = await startGateway(t, {
    legacy: legacy.url,
    new: upstream.url,
    percents: { 'items-api': 25 },
    config: {
      routes: [{ name: 'items', paths: ['/items', '/items/*'], flag: 'items-api', ...extra }],
      rules: { interval_ms: 200, list: [{ name: 'guard', window_seconds: 5, min_requests: 20, consecutive: 2, ...rule }] }
    }
  })
  return { gw, fault: neu.fault }
}

const stateOf = async (gw: TestGateway) => {
  const routes = await (await fetch(`${gw.adminUrl}/admin/routes`)).json() as { routes: Array<{ state: string, percent: number, state_reason: string | null }> }
  return routes.routes[0]!
}

t.test('50 % errors in new at 25 %: rolled back within seconds, with the evidence recorded, and no client GET fails', async (t) => {
  const { gw, fault } = await gatewayWithRule(t, { metric: 'error_rate', threshold: 0.1 })
  const load = steadyLoad(t, gw)
  const healthy = await within(5_000, 'a verdict on healthy traffic', async () => {
    const rules = await (await fetch(`${gw.adminUrl}/admin/rules`)).json() as { rules: Array<{ last: { status: string } | null }> }
    return rules.rules[0]?.last?.status === 'inconclusive' || rules.rules[0]?.last === null ? undefined : rules.rules[0]!.last!.status
  })
  t.equal(healthy.value, 'pass', 'the rule passes on healthy traffic')

  fault.errorShare = 0.5
  const onset = performance.now()
  const rolled = await within(10_000, 'the rollback', async () => (await stateOf(gw)).state === 'rolled_back' ? true : undefined, 20)
  const seconds = (performance.now() - onset) / 1000
  const newBefore = load.seen.new
  await within(2_000, 'requests after the rollback', async () => load.seen.requests > 0 ? true : undefined)
  const afterStart = load.seen.requests
  await new Promise((resolve) => setTimeout(resolve, 300))
  await load.stop()
  t.ok(rolled.ms >= 0 && seconds < 3, `rolled back ${seconds.toFixed(2)} s after the fault's onset (window 5 s, every 200 ms, 2 failing evaluations)`)
  t.equal(load.seen.new, newBefore, `every request after the rollback went to legacy (${load.seen.requests - afterStart} of them)`)
  t.equal(load.seen.failed, 0, `no client GET failed: new's errors were answered by legacy (${load.seen.requests} requests)`)

  const state = await stateOf(gw)
  t.match(state, { state: 'rolled_back', percent: 0, state_reason: /^rule guard: error rate of new \d+\.\d+ % \(\d+ of \d+\) over 5 s, threshold 10\.0 %, failing 2 evaluation\(s\) in a row$/ }, 'the route says why')
  const events = await (await fetch(`${gw.adminUrl}/admin/events?flag=items-api`)).json() as { events: Array<Record<string, any>> }
  const event = events.events.find((e) => e.action === 'rollback')
  t.match(event, { actor: 'rule:guard', source: 'rule-evaluator', flag: 'items-api', from: { state: 'running', percent: 25 }, to: { state: 'rolled_back', percent: 0 } }, 'the audit event names the rule')
  t.match(event?.details, { rule: 'guard', metric: 'error_rate', threshold: 0.1, window_seconds: 5, consecutive: 2, samples: { new: Number } }, 'and records the evidence')
  t.ok(event !== undefined && event.details.observed > 0.1 && event.details.samples.new >= 20, `observed ${event?.details.observed} on ${event?.details.samples.new} requests`)
  const text = await scrape(gw.adminUrl)
  t.equal(sample(text, 'switchyard_rollbacks_total', { flag: 'items-api', rule: 'guard' }), 1, 'switchyard_rollbacks_total counts it')
  t.ok(sample(text, 'switchyard_rule_evaluations_total', { rule: 'guard', flag: 'items-api', verdict: 'fail' }) >= 2, 'and the failing evaluations')

  // Only a person ends it: the rule keeps quiet, and a percentage change is refused until resumed.
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(sample(await scrape(gw.adminUrl), 'switchyard_rollbacks_total', { flag: 'items-api', rule: 'guard' }), 1, 'no second rollback while rolled back')
  const put = await fetch(`${gw.adminUrl}/admin/flags/items-api`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ percent: 10, reason: 'retry' }) })
  t.equal(put.status, 409, 'raising it again needs a resume first')
})

t.test('too little traffic gives inconclusive verdicts and no rollback, whatever the errors', async (t) => {
  const { gw, fault } = await gatewayWithRule(t, { metric: 'error_rate', threshold: 0.1, min_requests: 1000 })
  fault.errorShare = 1
  const load = steadyLoad(t, gw, { users: 40 })
  // With failover the clients get legacy's answers; the gateway's own count shows new's errors.
  await within(5_000, 'errors on new', async () => sample(await scrape(gw.adminUrl), 'switchyard_requests_total', { route: 'items', backend: 'new', method: 'GET', code: '500' }) > 20 ? true : undefined)
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  await load.stop()
  const rules = await (await fetch(`${gw.adminUrl}/admin/rules`)).json() as { rules: Array<{ failing: number, last: { status: string, summary: string } }> }
  t.match(rules.rules[0], { failing: 0, last: { status: 'inconclusive', summary: /requests to new over 5 s, fewer than 1000/ } }, 'the verdict is inconclusive')
  t.equal((await stateOf(gw)).state, 'running', 'and the flag keeps running')
  t.equal(sample(await scrape(gw.adminUrl), 'switchyard_rollbacks_total', { flag: 'items-api', rule: 'guard' }), 0)
})

t.test('switchyard status shows a rule that fails before it acts', async (t) => {
  const { gw, fault } = await gatewayWithRule(t, { metric: 'error_rate', threshold: 0.1, consecutive: 1_000 })
  fault.errorShare = 0.5
  const load = steadyLoad(t, gw, { users: 40 })
  const seen = await within(10_000, 'the failing rule in status', async () => {
    const text = renderStatus(await (await fetch(`${gw.adminUrl}/admin/routes`)).json() as RoutesAnswer, false)
    return /^Rule guard on items-api fails \(\d+ of 1000 in a row before it rolls back\): error rate of new .* over 5 s, threshold 10\.0 %$/m.test(text) ? text : undefined
  })
  await load.stop()
  t.pass(`status: ${seen.value.split('\n').find((l) => l.startsWith('Rule guard'))}`)
  t.equal((await stateOf(gw)).state, 'running', 'it has not acted yet')
})

t.test('a latency fault trips the p99 rule', async (t) => {
  const { gw, fault } = await gatewayWithRule(t, { metric: 'latency_p99', threshold: 0.1 })
  const load = steadyLoad(t, gw)
  await within(5_000, 'traffic on new', async () => load.seen.new > 30 ? true : undefined)
  t.equal((await stateOf(gw)).state, 'running', 'fast answers keep it running')
  fault.delayMs = 250
  const rolled = await within(15_000, 'the rollback', async () => (await stateOf(gw)).state === 'rolled_back' ? true : undefined, 20)
  await load.stop()
  t.match((await stateOf(gw)).state_reason, /^rule guard: p99 latency of new \d+ ms over \d+ requests over 5 s, threshold 100 ms/, `rolled back ${(rolled.ms / 1000).toFixed(1)} s after the delay began`)
})

t.test('a shadow mismatch fault trips the mismatch rule', async (t) => {
  const { gw, fault } = await gatewayWithRule(t, { metric: 'mismatch_rate', threshold: 0.05 }, { shadow: { percent: 100 } })
  const load = steadyLoad(t, gw)
  await within(5_000, 'comparisons', async () => load.seen.requests > 60 ? true : undefined)
  t.equal((await stateOf(gw)).state, 'running', 'matching answers keep it running')
  fault.body = JSON.stringify({ id: 1, title: 'Denim jacket', price: 'wrong' })
  const rolled = await within(15_000, 'the rollback', async () => (await stateOf(gw)).state === 'rolled_back' ? true : undefined, 20)
  await load.stop()
  t.match((await stateOf(gw)).state_reason, /^rule guard: shadow mismatch rate \d+\.\d+ % \(\d+ of \d+\) over 5 s/, `rolled back ${(rolled.ms / 1000).toFixed(1)} s after new's answers changed`)
})
