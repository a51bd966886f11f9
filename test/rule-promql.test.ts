// Rollback rules of metric promql, against a real Prometheus scraping a real gateway's admin /metrics every
// 500 ms, with real backends. A fault in new rolls the flag back with the query, the value and the threshold
// in the audit event; too few samples, a query without one number, a query Prometheus refuses, and
// Prometheus down or too slow all give inconclusive verdicts and never a rollback. First, the pure parts:
// Prometheus's answer → a number or the reason there is none → a verdict, and the placeholders.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createServer as createTcpServer, type Socket } from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import t, { type Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import type { RoutesAnswer } from '../gateway/cli/admin-types.ts'
import { renderStatus } from '../gateway/cli/commands/status.ts'
import { checkRoutes } from '../gateway/config/check-routes.ts'
import { buildConfig } from '../gateway/config/load.ts'
import type { RuleConfig } from '../gateway/config/schema.ts'
import { errors } from '../gateway/errors.ts'
import { expandQuery, placeholderProblems, readAnswer, type QueryAnswer } from '../gateway/rules/prometheus-query.ts'
import type { RuleState } from '../gateway/rules/rule-evaluator.ts'
import { evaluatePromql } from '../gateway/rules/verdict.ts'
import { featuresJson, startGateway, tempDir, testConfig, type TestGateway } from './helpers/gateway.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { freePort, missing, startPrometheus } from './helpers/servers.ts'
import { startUpstream } from './helpers/upstream.ts'

// ---------------------------------------------------------------------------------------------------------
// Prometheus's answer → a number, or why there is none.

const URL_ = 'http://prometheus:9090'
const ok = (data: unknown): string => JSON.stringify({ status: 'success', data })
const series = (metric: Record<string, string>, value: string) => ({ metric, value: [1_700_000_000.5, value] })

t.test('answers: one number from a scalar or a one-series vector', async (t) => {
  t.same(readAnswer(200, ok({ resultType: 'scalar', result: [1, '0.25'] }), URL_), { kind: 'value', value: 0.25 })
  t.same(readAnswer(200, ok({ resultType: 'vector', result: [series({}, '42')] }), URL_), { kind: 'value', value: 42 })
  t.same(readAnswer(200, ok({ resultType: 'vector', result: [series({ route: 'items' }, '-3e-2')] }), URL_), { kind: 'value', value: -0.03 })
})

t.test('answers: nothing, NaN and the infinities are no number, with the reason', async (t) => {
  t.match(readAnswer(200, ok({ resultType: 'vector', result: [] }), URL_), { kind: 'no_data', why: /matched no series/ })
  t.match(readAnswer(200, ok({ resultType: 'vector', result: [series({}, 'NaN')] }), URL_), { kind: 'no_data', why: /NaN/ })
  t.match(readAnswer(200, ok({ resultType: 'scalar', result: [1, 'NaN'] }), URL_), { kind: 'no_data', why: /NaN/ })
  t.match(readAnswer(200, ok({ resultType: 'scalar', result: [1, '+Inf'] }), URL_), { kind: 'no_data', why: /\+Inf/ })
  t.match(readAnswer(200, ok({ resultType: 'vector', result: [series({}, '-Inf')] }), URL_), { kind: 'no_data', why: /-Inf/ })
})

t.test('answers: several series, a range vector or a string are errors of the query, saying what to do', async (t) => {
  const several = readAnswer(200, ok({
    resultType: 'vector',
    result: [series({ route: 'items', backend: 'new', code: '200' }, '1'), series({ route: 'items', backend: 'legacy', code: '200' }, '2'), series({ route: 'items', backend: 'new', code: '500' }, '3')]
  }), URL_)
  t.equal(several.kind, 'error')
  const e = (several as Extract<QueryAnswer, { kind: 'error' }>).error
  t.equal(e.code, 'SY_ERR_PROMQL_NOT_ONE_SERIES')
  t.match(e.message, /returned 3 series.*they differ in backend \("new", "legacy"\), code \("200", "500"\); aggregate them to one/, 'names the labels that differ, not route')
  t.notMatch(e.message, /route/, 'a label they share is not named')
  t.match(readAnswer(200, ok({ resultType: 'matrix', result: [] }), URL_), { kind: 'error', error: { code: 'SY_ERR_PROMQL_RESULT_TYPE', message: /range vector.*rate\(x\[5m\]\)/ } })
  t.match(readAnswer(200, ok({ resultType: 'string', result: [1, 'x'] }), URL_), { kind: 'error', error: { code: 'SY_ERR_PROMQL_RESULT_TYPE' } })
})

t.test('answers: a query Prometheus refuses carries its message; Prometheus failing is unavailable', async (t) => {
  const refused = readAnswer(400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: '1:5: parse error: unclosed left parenthesis' }), URL_)
  t.match(refused, { kind: 'error', error: { code: 'SY_ERR_PROMQL_REJECTED', message: /\(bad_data\): 1:5: parse error: unclosed left parenthesis; fix the rule's query/ } })
  t.match(readAnswer(422, JSON.stringify({ status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' }), URL_),
    { kind: 'error', error: { code: 'SY_ERR_PROMQL_REJECTED', message: /execution.*many-to-many/ } })
  t.match(readAnswer(503, JSON.stringify({ status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' }), URL_),
    { kind: 'unavailable', error: { code: 'SY_ERR_PROMETHEUS_UNAVAILABLE', message: /Prometheus at http:\/\/prometheus:9090 did not answer \(HTTP 503, timeout: query timed out/ } })
  t.match(readAnswer(500, JSON.stringify({ status: 'error', errorType: 'internal', error: 'boom' }), URL_), { kind: 'unavailable' })
  t.match(readAnswer(502, '<html>Bad Gateway</html>', URL_), { kind: 'unavailable', error: { message: /HTTP 502 without a Prometheus API answer; check PROMETHEUS_URL/ } })
  t.match(readAnswer(404, '404 page not found', URL_), { kind: 'unavailable', error: { message: /HTTP 404/ } })
  t.match(readAnswer(200, JSON.stringify({ status: 'success' }), URL_), { kind: 'unavailable' })
})

// ---------------------------------------------------------------------------------------------------------
// Answers → a verdict.

const promqlRule = (over: Partial<RuleConfig> = {}): RuleConfig => ({
  name: 'r', metric: 'promql', query: 'q', window_seconds: 30, min_requests: 50, threshold: 0.05, min_difference: 0.01, consecutive: 3, ...over
})
const value = (v: number): QueryAnswer => ({ kind: 'value', value: v })
const down: QueryAnswer = { kind: 'unavailable', error: errors.PROMETHEUS_UNAVAILABLE(URL_, 'connection refused') }
const bad: QueryAnswer = { kind: 'error', error: errors.PROMQL_REJECTED('bad_data', '1:1: parse error') }

t.test('verdict: the value against the threshold, failing above it or, with fail_when: below, under it', async (t) => {
  t.match(evaluatePromql(promqlRule(), { value: value(0.06), samples: null }), { status: 'fail', observed: 0.06, samples: {} })
  t.match(evaluatePromql(promqlRule(), { value: value(0.05), samples: null }), { status: 'pass', observed: 0.05 })
  t.match(evaluatePromql(promqlRule({ fail_when: 'below', threshold: 0.99 }), { value: value(0.98), samples: value(120) }), {
    status: 'fail', observed: 0.98, samples: { query: 120 }, summary: 'query value 0.98 on 120 samples, threshold 0.99 (fails below it)'
  })
  t.match(evaluatePromql(promqlRule({ fail_when: 'below', threshold: 0.99 }), { value: value(0.995), samples: value(120) }), { status: 'pass' })
  t.equal(evaluatePromql(promqlRule(), { value: value(0.123456), samples: value(77.25) }).summary, 'query value 0.1235 on 77.25 samples, threshold 0.05 (fails above it)')
})

t.test('verdict: fewer samples than min_requests, or no value, is inconclusive, whatever the value', async (t) => {
  t.match(evaluatePromql(promqlRule(), { value: value(1), samples: value(49) }), { status: 'inconclusive', observed: null, samples: { query: 49 }, summary: 'samples_query counted 49, fewer than 50' })
  t.match(evaluatePromql(promqlRule(), { value: value(1), samples: { kind: 'no_data', why: 'the query matched no series' } }),
    { status: 'inconclusive', samples: { query: 0 }, summary: /samples_query counted 0 \(the query matched no series\), fewer than 50/ })
  t.match(evaluatePromql(promqlRule(), { value: { kind: 'no_data', why: 'the value is NaN' }, samples: value(500) }), { status: 'inconclusive', samples: { query: 500 }, summary: 'no value: the value is NaN' })
  t.match(evaluatePromql(promqlRule(), { value: value(1), samples: value(50) }), { status: 'fail' }, 'exactly min_requests is enough')
})

t.test('verdict: Prometheus unavailable or a query in error is inconclusive and carries the error', async (t) => {
  for (const [answers, code, summary] of [
    [{ value: down, samples: value(1000) }, 'SY_ERR_PROMETHEUS_UNAVAILABLE', /^Prometheus at .* did not answer \(connection refused\)/],
    [{ value: value(1), samples: down }, 'SY_ERR_PROMETHEUS_UNAVAILABLE', /did not answer/],
    [{ value: bad, samples: value(3) }, 'SY_ERR_PROMQL_REJECTED', /^query: Prometheus refused the query \(bad_data\)/],
    [{ value: value(1), samples: bad }, 'SY_ERR_PROMQL_REJECTED', /^samples_query: Prometheus refused/]
  ] as const) {
    const v = evaluatePromql(promqlRule({ consecutive: 1 }), answers)
    t.match(v, { status: 'inconclusive', observed: null, error: { code }, summary }, code)
  }
})

// ---------------------------------------------------------------------------------------------------------
// Placeholders.

t.test('placeholders: replaced per flag, escaped for a PromQL string; unknown ones are named', async (t) => {
  const q = 'sum(rate(x{flag="{{flag}}",route=~"{{ routes }}"}[{{window}}]))'
  t.equal(expandQuery(q, { flag: 'items-api', routes: ['items', 'items_v2'], windowSeconds: 30 }), 'sum(rate(x{flag="items-api",route=~"items|items_v2"}[30s]))')
  t.equal(expandQuery('{{flag}} {{routes}}', { flag: 'a"b\\c', routes: ['a.b'], windowSeconds: 1 }), 'a\\"b\\\\c a\\\\.b', 'quotes, backslashes and regex characters are escaped')
  t.equal(expandQuery('[{{window}}]', { flag: 'f', routes: [], windowSeconds: 1.5 }), '[1500ms]', 'a window cut short is in milliseconds')
  t.same(placeholderProblems(q), [])
  t.same(placeholderProblems('x{route="{{route}}"}'), ['unknown placeholder {{route}}; the placeholders are {{flag}}, {{routes}}, {{window}}'])
  t.match(placeholderProblems('x[{{window]'), [/a \{\{ is not closed by \}\}/])
})

// ---------------------------------------------------------------------------------------------------------
// The configuration.

const base = {
  listen: { port: 0 },
  admin: { port: 0 },
  backends: { legacy: { url: 'http://127.0.0.1:1' }, new: { url: 'http://127.0.0.1:2' } },
  routes: [{ name: 'items', paths: ['/items'], flag: 'items-api' }]
}
const PROMETHEUS = { PROMETHEUS_URL: 'http://127.0.0.1:9090' }
const build = (list: unknown[], env: Record<string, string> = PROMETHEUS) => buildConfig({ ...base, rules: { list } }, { baseDir: '.', env })

t.test('config: a promql rule is taken as written, with the usual defaults', async (t) => {
  const c = build([{ name: 'p', metric: 'promql', query: 'sum(rate(x{route=~"{{routes}}"}[{{window}}]))', samples_query: 'sum(increase(y[{{window}}]))', threshold: 0.1, fail_when: 'below', timeout_ms: 2000 }])
  t.match(c.rules.list[0], { metric: 'promql', threshold: 0.1, fail_when: 'below', timeout_ms: 2000, window_seconds: 30, min_requests: 50, consecutive: 3 })
  t.equal(c.secrets.prometheus?.url, 'http://127.0.0.1:9090')
})

t.test('config: every problem of promql rules is named with its fix', async (t) => {
  t.throws(() => build([
    { name: 'no-query', metric: 'promql', threshold: 0.1 },
    { name: 'typo', metric: 'promql', query: 'sum(x{route=~"{{route}}"})', samples_query: 'sum(y[{{window}])', threshold: 0.1 },
    { name: 'stray', metric: 'error_rate', query: 'up', fail_when: 'below', threshold: 0.1 }
  ]), {
    code: 'SY_ERR_CONFIG_INVALID',
    message: new RegExp([
      'rules\\.list\\[0\\]\\.query: missing; a promql rule needs a PromQL query',
      'rules\\.list\\[1\\]\\.query: unknown placeholder \\{\\{route\\}\\}; the placeholders are \\{\\{flag\\}\\}, \\{\\{routes\\}\\}, \\{\\{window\\}\\}',
      'rules\\.list\\[1\\]\\.samples_query: a \\{\\{ is not closed by \\}\\}',
      'rules\\.list\\[2\\]\\.query: only a rule of metric promql takes query; remove it, or set metric: promql',
      'rules\\.list\\[2\\]\\.fail_when: only a rule of metric promql takes fail_when'
    ].join('[\\s\\S]*'))
  })
  t.throws(() => build([{ name: 'p', metric: 'promql', query: 'up', threshold: 1, fail_when: 'over', timeout_ms: 10 }]), {
    message: /rules\.list\[0\]\.fail_when: expected promql only: above \(the default\)[\s\S]*got "over"[\s\S]*rules\.list\[0\]\.timeout_ms: expected .*got 10/
  })
})

t.test('config: promql without PROMETHEUS_URL is refused, saying to set it', async (t) => {
  const list = [{ name: 'p', metric: 'promql', query: 'up', threshold: 1 }, { name: 'e', metric: 'error_rate', threshold: 0.1 }]
  t.throws(() => build(list, {}), { code: 'SY_ERR_CONFIG_INVALID', message: /rules\.list\[0\]\.metric: promql needs PROMETHEUS_URL/ }, 'the loader refuses it')
  const config = build(list)
  t.same(checkRoutes(config, { prometheus: false }), [
    'rules.list[0].metric: promql needs PROMETHEUS_URL, the Prometheus to query (such as http://prometheus:9090); set it, or remove the rule'
  ], 'the check names the rule')
  t.same(checkRoutes(config, { prometheus: true }), [])
  const dir = tempDir(t)
  writeFileSync(`${dir}/features.json`, featuresJson({ 'items-api': 0, 'visual-search': 0 }))
  t.throws(() => testConfig(dir, { legacy: 'http://127.0.0.1:1', new: 'http://127.0.0.1:2', config: { rules: { list: [{ name: 'p', metric: 'promql', query: 'up', threshold: 1 }] } } }),
    { code: 'SY_ERR_CONFIG_INVALID', message: /rules\.list\[0\]\.metric: promql needs PROMETHEUS_URL/ }, 'the gateway refuses to start')
})

t.test('config: the promql examples of flags/switchyard.yaml (commented out) and of the README are valid', async (t) => {
  const file = join(import.meta.dirname, '..', 'flags', 'switchyard.yaml')
  const lines = readFileSync(file, 'utf8').split('\n')
  const from = lines.findIndex((l) => l.includes('- name: prom-new-error-rate'))
  t.ok(from > 0, 'the example is there')
  const uncommented = lines.map((l, i) => i >= from && /^ {4}# {2}/.test(l) ? l.replace(/^( {4})# /, '$1') : l)
  uncommented[from] = uncommented[from]!.replace(/^( {4})# /, '$1')
  const raw = parseYaml(uncommented.join('\n'))
  const c = buildConfig(raw, { baseDir: dirname(file), env: PROMETHEUS })
  t.match(c.rules.list.find((r) => r.name === 'prom-new-error-rate'), { metric: 'promql', query: /^\(sum\(rate\(.*\/ sum\(rate/, samples_query: /^sum\(increase/ })

  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
  const snippet = /## Rollback rules[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)![1]!
  const rules = (parseYaml(snippet) as { rules: { list: Array<Record<string, unknown>> } }).rules
  const shown = buildConfig({ ...base, routes: [{ ...base.routes[0], shadow: { percent: 10 } }], rules }, { baseDir: '.', env: PROMETHEUS })
  t.match(shown.rules.list.find((r) => r.metric === 'promql'), { fail_when: 'above', timeout_ms: 5000, min_requests: 100 }, 'the README\'s rules load')
})

t.test('config: buildConfig itself refuses promql without PROMETHEUS_URL', async (t) => {
  t.throws(() => build([{ name: 'p', metric: 'promql', query: 'up', threshold: 1 }], {}), { code: 'SY_ERR_CONFIG_INVALID', message: /rules\.list\[0\]\.metric: promql needs PROMETHEUS_URL/ })
})

// ---------------------------------------------------------------------------------------------------------
// A real Prometheus, a real gateway, real backends.

const ITEM = JSON.stringify({ id: 1, title: 'Denim jacket' })
const NEW_ERROR_RATE = '(sum(rate(switchyard_requests_total{route=~"{{routes}}",backend="new",code=~"5.."}[{{window}}])) or vector(0))' +
  ' / sum(rate(switchyard_requests_total{route=~"{{routes}}",backend="new"}[{{window}}]))'
const NEW_REQUESTS = 'sum(increase(switchyard_requests_total{route=~"{{routes}}",backend="new"}[{{window}}]))'
const SCRAPE_MS = 500

interface Line { level: string, msg: string }

/** A logger that keeps what the gateway logs, so that a test can count its warnings. */
function quietLogger (lines: Line[] = []): FastifyBaseLogger {
  const make = (): FastifyBaseLogger => {
    const log: Record<string, unknown> = { level: 'info' }
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace']) {
      log[level] = (obj: unknown, msg?: string) => { lines.push({ level, msg: typeof obj === 'string' ? obj : msg ?? '' }) }
    }
    log.silent = () => {}
    log.child = () => make()
    return log as unknown as FastifyBaseLogger
  }
  return make()
}

/** new, with a share of errors the test switches on. */
function faultyNew () {
  const fault = { errorShare: 0 }
  let n = 0
  return {
    fault,
    handler: (req: IncomingMessage, res: ServerResponse) => {
      req.resume()
      if (fault.errorShare > 0 && (n++ % 100) < fault.errorShare * 100) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"injected"}')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(ITEM)
    }
  }
}

/** Requests from many users, one after another, until stopped. */
function steadyLoad (t: Test, gw: TestGateway) {
  const seen = { requests: 0, failed: 0 }
  const run = { stopped: false }
  t.teardown(() => { run.stopped = true })
  const done = (async () => {
    for (let i = 0; !run.stopped; i++) {
      const res = await fetch(`${gw.proxyUrl}/items/1`, { headers: { 'x-user-id': `user-${i % 400}` } })
      await res.arrayBuffer()
      seen.requests++
      if (res.status >= 500) seen.failed++
    }
  })()
  return { seen, stop: async () => { run.stopped = true; await done } }
}

/**
 * Backends, a Prometheus scraping the gateway's admin port, and the gateway with `rules` and PROMETHEUS_URL.
 * The admin port is chosen first, since Prometheus must know it before the gateway exists.
 */
async function stack (t: Test, rules: Array<Record<string, unknown>>, opts: { prometheusUrl?: string, lines?: Line[] } = {}) {
  const legacy = await startUpstream(t, (req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'application/json' }).end(ITEM) })
  const neu = faultyNew()
  const upstream = await startUpstream(t, neu.handler)
  const adminPort = await freePort()
  const started = performance.now()
  const prometheus = opts.prometheusUrl === undefined
    ? await startPrometheus(t, [{ job: 'switchyard', url: `http://127.0.0.1:${adminPort}/metrics` }], { scrapeIntervalMs: SCRAPE_MS })
    : null
  const prometheusStartMs = performance.now() - started
  const gw = await startGateway(t, {
    legacy: legacy.url,
    new: upstream.url,
    percents: { 'items-api': 50 },
    config: {
      admin: { host: '127.0.0.1', port: adminPort },
      routes: [{ name: 'items', paths: ['/items', '/items/*'], flag: 'items-api' }],
      rules: { interval_ms: 200, list: rules }
    },
    env: { PROMETHEUS_URL: opts.prometheusUrl ?? prometheus!.url },
    ...(opts.lines !== undefined ? { deps: { logger: quietLogger(opts.lines) } } : {})
  })
  return { gw, fault: neu.fault, prometheus, prometheusStartMs }
}

const rulesOf = async (gw: TestGateway): Promise<RuleState[]> => ((await (await fetch(`${gw.adminUrl}/admin/rules`)).json()) as { rules: RuleState[] }).rules
const ruleOf = async (gw: TestGateway, name: string): Promise<RuleState> => (await rulesOf(gw)).find((r) => r.rule === name)!
const stateOf = async (gw: TestGateway) => {
  const routes = await (await fetch(`${gw.adminUrl}/admin/routes`)).json() as { routes: Array<{ state: string, percent: number, state_reason: string | null }> }
  return routes.routes[0]!
}
/** The rule's next verdict whose status is `status` (and that `also` accepts). */
const verdict = (gw: TestGateway, name: string, status: string, ms: number, also: (r: RuleState) => boolean = () => true) =>
  within(ms, `a verdict ${status} of ${name}`, async () => {
    const r = await ruleOf(gw, name)
    return r.last?.status === status && also(r) ? r : undefined
  }, 50)

const prometheusMissing = missing('prometheus')

t.test('an error fault in new: the promql rule rolls the flag back, and the audit event records the query, the value and the threshold', { skip: prometheusMissing ?? false }, async (t) => {
  const { gw, fault, prometheusStartMs } = await stack(t, [
    { name: 'guard', metric: 'promql', query: NEW_ERROR_RATE, samples_query: NEW_REQUESTS, window_seconds: 5, min_requests: 20, threshold: 0.1, consecutive: 2 },
    // The same evidence, but never enough of it: it must stay inconclusive through the fault.
    { name: 'starved', metric: 'promql', query: NEW_ERROR_RATE, samples_query: NEW_REQUESTS, window_seconds: 5, min_requests: 1_000_000, threshold: 0.1, consecutive: 1 }
  ])
  t.comment(`Prometheus ready in ${prometheusStartMs.toFixed(0)} ms`)
  const load = steadyLoad(t, gw)
  const healthy = await verdict(gw, 'guard', 'pass', 20_000)
  t.comment(`first pass ${healthy.ms.toFixed(0)} ms after the load began: ${healthy.value.last!.summary}`)
  t.match(healthy.value, { metric: 'promql', fail_when: 'above', last: { status: 'pass', observed: 0, samples: { query: Number } } }, 'healthy traffic passes')
  t.match(healthy.value.query, /route=~"items",backend="new",code=~"5.."\}\[5s\]/, 'the placeholders are replaced for the flag')
  t.match(await ruleOf(gw, 'starved'), { failing: 0, last: { status: 'inconclusive', summary: /^samples_query counted \d+(\.\d+)?, fewer than 1000000$/ } }, 'too few samples: inconclusive')

  fault.errorShare = 0.5
  const onset = performance.now()
  await within(20_000, 'the rollback', async () => (await stateOf(gw)).state === 'rolled_back' ? true : undefined, 20)
  const seconds = (performance.now() - onset) / 1000
  await load.stop()
  t.comment(`fault → rollback: ${seconds.toFixed(2)} s (scrape every ${SCRAPE_MS} ms, window 5 s, evaluated every 200 ms, 2 failing evaluations)`)
  t.ok(seconds < 10, `rolled back ${seconds.toFixed(2)} s after the fault's onset`)
  t.equal(load.seen.failed, 0, `no client GET failed (${load.seen.requests} requests, failover to legacy)`)

  // The override acts at once; the flag file and the audit log are written just after.
  const event = (await within(5_000, 'the audit event', async () => {
    const events = await (await fetch(`${gw.adminUrl}/admin/events?flag=items-api`)).json() as { events: Array<Record<string, any>> }
    return events.events.find((e) => e.action === 'rollback')
  })).value
  const state = await stateOf(gw)
  t.match(state, { state: 'rolled_back', percent: 0, state_reason: /^rule guard: query value \d\.\d+ on \d+(\.\d+)? samples, threshold 0\.1 \(fails above it\), failing 2 evaluation\(s\) in a row$/ }, 'the route says why')
  t.match(event, { actor: 'rule:guard', source: 'rule-evaluator', from: { state: 'running', percent: 50 }, to: { state: 'rolled_back', percent: 0 } }, 'the audit event names the rule')
  t.match(event?.details, {
    rule: 'guard',
    metric: 'promql',
    query: /^\(sum\(rate\(switchyard_requests_total\{route=~"items",backend="new",code=~"5.."\}\[5s\]\)\) or vector\(0\)\) \/ sum\(/,
    samples_query: 'sum(increase(switchyard_requests_total{route=~"items",backend="new"}[5s]))',
    fail_when: 'above',
    threshold: 0.1,
    window_seconds: 5,
    consecutive: 2,
    samples: { query: Number }
  }, 'and records the query, the threshold and the samples')
  t.ok(event !== undefined && event.details.observed > 0.1 && event.details.samples.query >= 20, `observed ${event?.details.observed} on ${event?.details.samples.query} samples`)
  const starved = await ruleOf(gw, 'starved')
  const text = await scrape(gw.adminUrl)
  t.equal(sample(text, 'switchyard_rollbacks_total', { flag: 'items-api', rule: 'guard' }), 1, 'switchyard_rollbacks_total counts it')
  t.equal(sample(text, 'switchyard_rule_evaluations_total', { rule: 'starved', flag: 'items-api', verdict: 'fail' }), 0, 'the starved rule never failed')
  t.match(starved, { failing: 0, last: { status: 'inconclusive' } })
  t.equal(sample(text, 'switchyard_dependency_errors_total', { dependency: 'prometheus' }), 0, 'Prometheus answered every query')

  // A person resumes it while new still fails. Prometheus still holds the failing window, but {{window}}
  // starts at the resume: no second rollback on the evidence from before it.
  const post = (path: string, body: unknown, method = 'POST') => fetch(`${gw.adminUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.equal((await post('/admin/flags/items-api/resume', { reason: 'try again' })).status, 200)
  await sleep(1_500)
  const resumed = await ruleOf(gw, 'guard')
  t.equal((await stateOf(gw)).state, 'running', 'the resume holds')
  t.match(resumed, { failing: 0, last: { status: 'inconclusive' }, query: /\[\d{3,4}ms\]/ }, `the window is cut to the time since the resume (${resumed.last?.summary})`)
  // Raised again with the fault still there, the rule sees it afresh.
  t.equal((await post('/admin/flags/items-api', { percent: 50, reason: 'again' }, 'PUT')).status, 200)
  const again = steadyLoad(t, gw)
  const raised = performance.now()
  await within(20_000, 'the second rollback', async () => (await stateOf(gw)).state === 'rolled_back' ? true : undefined, 20)
  await again.stop()
  t.comment(`raised again → rolled back again: ${((performance.now() - raised) / 1000).toFixed(2)} s`)
  const second = await within(5_000, 'the second audit event', async () => {
    const events = await (await fetch(`${gw.adminUrl}/admin/events?flag=items-api`)).json() as { events: Array<Record<string, any>> }
    const rollbacks = events.events.filter((e) => e.action === 'rollback')
    return rollbacks.length === 2 ? rollbacks[0] : undefined
  })
  t.match(second.value, { actor: 'rule:guard', details: { query: /\[\d+(ms|s)\]/ } }, 'rolled back a second time, on evidence from after the resume')
  t.ok(second.value.details.samples.query >= 20, `${second.value.details.samples.query} samples since the resume, over ${/\[(\d+m?s)\]/.exec(second.value.details.query)![1]}`)
})

t.test('below samples_query\'s minimum the verdict is inconclusive and nothing rolls back, whatever the errors', { skip: prometheusMissing ?? false }, async (t) => {
  const { gw, fault, prometheus } = await stack(t, [
    { name: 'starved', metric: 'promql', query: NEW_ERROR_RATE, samples_query: NEW_REQUESTS, window_seconds: 5, min_requests: 1_000_000, threshold: 0.1, consecutive: 1 }
  ])
  fault.errorShare = 1
  const load = steadyLoad(t, gw)
  // Prometheus sees new failing: the evidence is there, only not enough of it.
  const query = (await ruleOf(gw, 'starved')).query!
  const seen = await within(20_000, 'Prometheus to see the errors', async () => {
    const res = await fetch(`${prometheus!.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query }) })
    const v = Number(((await res.json()) as any).data?.result?.[0]?.value?.[1])
    return v > 0.5 ? v : undefined
  }, 100)
  t.comment(`Prometheus saw new's error rate at ${seen.value.toFixed(2)} after ${seen.ms.toFixed(0)} ms`)
  await sleep(1_500)
  await load.stop()
  const rule = await ruleOf(gw, 'starved')
  t.match(rule, { failing: 0, last: { status: 'inconclusive', observed: null, summary: /^samples_query counted \d+(\.\d+)?, fewer than 1000000$/ } }, 'inconclusive')
  t.equal((await stateOf(gw)).state, 'running', 'the flag keeps running')
  const text = await scrape(gw.adminUrl)
  t.ok(sample(text, 'switchyard_rule_evaluations_total', { rule: 'starved', flag: 'items-api', verdict: 'inconclusive' }) >= 5, 'evaluated again and again')
  t.equal(sample(text, 'switchyard_rule_evaluations_total', { rule: 'starved', flag: 'items-api', verdict: 'fail' }), 0, 'never failing')
  t.equal(sample(text, 'switchyard_rollbacks_total', { flag: 'items-api', rule: 'starved' }), 0, 'and never rolling back')
})

t.test('a query without one number, or one Prometheus refuses, is inconclusive and says why', { skip: prometheusMissing ?? false }, async (t) => {
  const { gw } = await stack(t, [
    { name: 'nothing', metric: 'promql', query: 'sum(rate(switchyard_requests_total{route=~"{{routes}}",backend="nowhere"}[{{window}}]))', threshold: 0, consecutive: 1 },
    { name: 'nan', metric: 'promql', query: '0 / 0', threshold: 0, consecutive: 1 },
    { name: 'several', metric: 'promql', query: 'sum by (backend) (rate(switchyard_requests_total{route=~"{{routes}}"}[{{window}}]))', threshold: 0, consecutive: 1 },
    { name: 'bad', metric: 'promql', query: 'sum(rate(switchyard_requests_total{route=~"{{routes}}"}[{{window}}])', threshold: 0, consecutive: 1 }
  ])
  const load = steadyLoad(t, gw)
  const several = await verdict(gw, 'several', 'inconclusive', 20_000, (r) => r.last?.error?.code === 'SY_ERR_PROMQL_NOT_ONE_SERIES')
  await sleep(600)
  await load.stop()
  t.comment(`several series seen after ${several.ms.toFixed(0)} ms`)
  const rules = new Map((await rulesOf(gw)).map((r) => [r.rule, r]))
  t.match(rules.get('nothing'), { failing: 0, last: { status: 'inconclusive', observed: null, summary: /^no value: the query matched no series/ } }, 'no series: inconclusive')
  t.notOk(rules.get('nothing')?.last?.error, 'and no error: nothing to fix')
  t.match(rules.get('nan'), { last: { status: 'inconclusive', summary: /^no value: the value is NaN/ } }, 'NaN: inconclusive')
  t.match(rules.get('several'), {
    failing: 0,
    last: { status: 'inconclusive', summary: /^query: the query returned 2 series, and a rule compares one number: they differ in backend \("(new|legacy)", "(new|legacy)"\); aggregate them to one/ }
  }, 'several series: inconclusive, naming the label that differs')
  t.match(rules.get('bad'), {
    failing: 0,
    last: { status: 'inconclusive', error: { code: 'SY_ERR_PROMQL_REJECTED', message: /^Prometheus refused the query \(bad_data\): .*parse error.*; fix the rule's query$/ } }
  }, `a bad query: Prometheus's message in GET /admin/rules (${rules.get('bad')?.last?.summary})`)
  const status = renderStatus(await (await fetch(`${gw.adminUrl}/admin/routes`)).json() as RoutesAnswer, false)
  t.match(status, /^Rule bad on items-api gets no value: Prometheus refused the query \(bad_data\): .*parse error.*$/m, 'switchyard status shows the query\'s error')
  t.match(status, /^Rule several on items-api gets no value: the query returned 2 series/m)
  t.notMatch(status, /Rule (nothing|nan) /, 'but not a query that merely has no value yet')
  t.equal((await stateOf(gw)).state, 'running')
  t.equal(gw.gw.rules.prometheus?.healthy, true, 'a refused query is not an outage')
  t.equal(sample(await scrape(gw.adminUrl), 'switchyard_dependency_errors_total', { dependency: 'prometheus' }), 0)
})

t.test('Prometheus killed mid-run: inconclusive, no rollback, counted and logged once; back, the rules evaluate again', { skip: prometheusMissing ?? false }, async (t) => {
  const lines: Line[] = []
  const { gw, prometheus } = await stack(t, [
    { name: 'guard', metric: 'promql', query: NEW_ERROR_RATE, samples_query: NEW_REQUESTS, window_seconds: 5, min_requests: 20, threshold: 0.1, consecutive: 1 }
  ], { lines })
  const load = steadyLoad(t, gw)
  await verdict(gw, 'guard', 'pass', 20_000)
  t.equal(gw.gw.rules.prometheus?.healthy, true, 'healthy while Prometheus answers')

  await prometheus!.kill()
  const killed = performance.now()
  const down = await verdict(gw, 'guard', 'inconclusive', 5_000)
  t.comment(`killed → inconclusive: ${(performance.now() - killed).toFixed(0)} ms`)
  t.match(down.value.last, { observed: null, error: { code: 'SY_ERR_PROMETHEUS_UNAVAILABLE', message: /^Prometheus at http:\/\/127\.0\.0\.1:\d+ did not answer \(connection refused\); promql rules are inconclusive until it does$/ } })
  await sleep(1_500)
  t.equal(gw.gw.rules.prometheus?.healthy, false, 'healthy is false')
  const during = await scrape(gw.adminUrl)
  const failedCalls = sample(during, 'switchyard_dependency_errors_total', { dependency: 'prometheus' })
  t.ok(failedCalls >= 5, `every failed call is counted (${failedCalls})`)
  t.equal(sample(during, 'switchyard_rule_evaluations_total', { rule: 'guard', flag: 'items-api', verdict: 'fail' }), 0, 'no failing evaluation')
  t.match(await ruleOf(gw, 'guard'), { failing: 0, last: { status: 'inconclusive' } })
  t.equal((await stateOf(gw)).state, 'running', 'no rollback')
  const warnings = lines.filter((l) => l.level === 'warn' && /did not answer/.test(l.msg))
  t.equal(warnings.length, 1, `the outage is logged once, not at each of the ${failedCalls} failed calls`)

  const restarting = performance.now()
  await prometheus!.start(30_000)
  const restartMs = performance.now() - restarting
  const back = await verdict(gw, 'guard', 'pass', 20_000)
  t.comment(`Prometheus restarted in ${restartMs.toFixed(0)} ms; a passing verdict ${back.ms.toFixed(0)} ms after that`)
  await load.stop()
  t.equal(gw.gw.rules.prometheus?.healthy, true, 'healthy again')
  t.equal(lines.filter((l) => l.level === 'info' && /answers again/.test(l.msg)).length, 1, 'and its return is logged once')
  t.equal(sample(await scrape(gw.adminUrl), 'switchyard_rollbacks_total', { flag: 'items-api', rule: 'guard' }), 0)
})

t.test('a Prometheus that never answers: inconclusive after the timeout, ticks do not overlap, and the in-process rules still roll back', async (t) => {
  // A listener that accepts connections and never answers, as a Prometheus stuck in a long query would.
  const sockets = new Set<Socket>()
  const stuck = createTcpServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); stuck.close(() => resolve()) }))
  const url = `http://127.0.0.1:${(stuck.address() as { port: number }).port}`
  const { gw, fault } = await stack(t, [
    { name: 'slow', metric: 'promql', query: NEW_ERROR_RATE, threshold: 0.1, consecutive: 1, timeout_ms: 1_000 },
    { name: 'errors', metric: 'error_rate', window_seconds: 5, min_requests: 20, threshold: 0.1, consecutive: 2 }
  ], { prometheusUrl: url })
  const load = steadyLoad(t, gw)
  const first = await verdict(gw, 'slow', 'inconclusive', 5_000)
  t.match(first.value.last, { error: { code: 'SY_ERR_PROMETHEUS_UNAVAILABLE', message: /did not answer \(no answer within 1000 ms\)/ } }, 'the timeout is the reason')
  t.equal(gw.gw.rules.prometheus?.healthy, false)

  const before = sample(await scrape(gw.adminUrl), 'switchyard_rule_evaluations_total', { rule: 'errors', flag: 'items-api', verdict: 'pass' })
  const counting = performance.now()
  await sleep(3_000)
  const evaluations = sample(await scrape(gw.adminUrl), 'switchyard_rule_evaluations_total', { rule: 'errors', flag: 'items-api', verdict: 'pass' }) - before
  const elapsed = performance.now() - counting
  t.comment(`${evaluations} evaluations in ${elapsed.toFixed(0)} ms with a 1000 ms query timeout (every 200 ms otherwise)`)
  t.ok(evaluations >= 1 && evaluations <= Math.ceil(elapsed / 1_000) + 1, 'one tick at a time: a tick lasts as long as the query timeout')

  fault.errorShare = 0.5
  const onset = performance.now()
  await within(15_000, 'the rollback', async () => (await stateOf(gw)).state === 'rolled_back' ? true : undefined, 20)
  const seconds = (performance.now() - onset) / 1000
  await load.stop()
  t.comment(`fault → rollback by the in-process rule: ${seconds.toFixed(2)} s (2 evaluations, each tick held about 1 s by the query)`)
  t.ok(seconds < 8, `rolled back ${seconds.toFixed(2)} s after the onset, within about two query timeouts`)
  t.match((await stateOf(gw)).state_reason, /^rule errors: error rate of new/, 'by the in-process rule')
})
