// The metrics contract of DESIGN.md as served on the admin port, with the default process metrics, and
// the probes beside it.
import t from 'tap'
import { startGateway } from './helpers/gateway.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

t.test('every contract metric this gateway produces is served, with bounded labels', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const g = await startGateway(t, { legacy: legacy.url, new: 'http://127.0.0.1:1', percents: { 'items-api': 100, 'visual-search': 35 } })
  await (await fetch(`${g.proxyUrl}/items/1`, { headers: { 'x-user-id': 'ana' } })).arrayBuffer()
  await (await fetch(`${g.proxyUrl}/some/path/with/id/123`)).arrayBuffer()
  await (await fetch(`${g.proxyUrl}/v1/items/1`, { method: 'PROPFIND' })).arrayBuffer()

  const res = await fetch(`${g.adminUrl}/metrics`)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  for (const name of [
    'switchyard_requests_total', 'switchyard_request_duration_seconds', 'switchyard_decisions_total',
    'switchyard_upstream_errors_total', 'switchyard_rollout_percent', 'process_cpu_seconds_total',
    'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds'
  ]) {
    t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is declared`)
  }
  t.equal(sample(text, 'switchyard_rollout_percent', { flag: 'visual-search' }), 35)
  t.equal(sample(text, 'switchyard_rollout_percent', { flag: 'items-api' }), 100)
  t.equal(sample(text, 'switchyard_request_duration_seconds_count', { route: 'items', backend: 'new' }), 1)
  t.equal(sample(text, 'switchyard_request_duration_seconds_count', { route: 'items', backend: 'legacy' }), 2, 'the failover attempt and the PROPFIND are timed')
  t.equal(sample(text, 'switchyard_requests_total', { route: 'unmatched', backend: 'legacy', method: 'GET', code: '200' }), 1, 'an unmatched path is labelled by route name, not by path')
  t.equal(sample(text, 'switchyard_requests_total', { route: 'items', backend: 'legacy', method: 'OTHER', code: '200' }), 1, 'any method is proxied, and methods outside the common set fold into OTHER')
  t.notMatch(text, /\/some\/path|ana/, 'no raw path or user id in any label')
})

t.test('the rollout gauge reads 0 for a rolled-back flag', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const g = await startGateway(t, { legacy: legacy.url, new: legacy.url, percents: { 'items-api': 60 } })
  await g.gw.control.rollback('items-api', { actor: 't', source: 't', reason: 't' })
  t.equal(sample(await scrape(g.adminUrl), 'switchyard_rollout_percent', { flag: 'items-api' }), 0)
})

t.test('healthz and readyz', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const g = await startGateway(t, { legacy: legacy.url, new: legacy.url })
  t.same(await (await fetch(`${g.adminUrl}/healthz`)).json(), { status: 'ok' })
  t.same(await (await fetch(`${g.adminUrl}/readyz`)).json(), { status: 'ready' })
  t.equal(g.gw.ready, true)
})
