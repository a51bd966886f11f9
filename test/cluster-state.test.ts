// Several replicas on one real Redis (REDIS_URL): a change made through any replica reaches the others
// within a second; one replica holds the evaluator's lease and hands it over when it stops; the rules read
// every replica's counters; with Redis killed, routing goes on on the last known state, changes that need
// agreement are refused with 503, a rollback still applies, and everything is shared again when Redis
// returns (even empty: the replicas refill it).
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startGateway, type TestGateway } from './helpers/gateway.ts'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { missing, startRedis } from './helpers/servers.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'
import { renderStatus } from '../gateway/cli/commands/status.ts'
import { runSwitchyard } from './helpers/cli-run.ts'

const skip = missing('redis-server') ?? false

async function admin (gw: TestGateway, method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, json: await res.json() }
}

async function percentOn (gw: TestGateway, flag: string): Promise<{ percent: number, state: string }> {
  const { json } = await admin(gw, 'GET', '/admin/routes')
  const route = json.routes.find((r: any) => r.flag === flag)
  return { percent: route.percent, state: route.state }
}

async function backendFor (gw: TestGateway, user: string): Promise<string | null> {
  const res = await fetch(`${gw.proxyUrl}/items/1`, { headers: { 'x-user-id': user } })
  await res.arrayBuffer()
  return res.headers.get('x-switchyard-backend')
}

async function replicas (t: Test, n: number, redisUrl: string, config: Record<string, unknown> = {}): Promise<TestGateway[]> {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const fresh = await startUpstream(t, namedJson('new'))
  const out: TestGateway[] = []
  const prefix = `test-${process.pid}-${Date.now()}`
  for (let i = 0; i < n; i++) {
    out.push(await startGateway(t, {
      legacy: legacy.url,
      new: fresh.url,
      percents: { 'items-api': 0 },
      env: { REDIS_URL: redisUrl },
      config: { cluster: { key_prefix: prefix, lease_ms: 1_000, flush_interval_ms: 100 }, ...config }
    }))
  }
  return out
}

t.test('a change made through one replica reaches the others within a second', { skip }, async (t) => {
  const redis = await startRedis(t)
  const [a, b, c] = await replicas(t, 3, redis.url)
  const put = await admin(a!, 'PUT', '/admin/flags/items-api', { percent: 40, reason: 'step 2' })
  t.equal(put.status, 200)
  const reached = await within(1_000, 'the 40 % on every replica', async () => {
    const seen = await Promise.all([b!, c!].map((g) => percentOn(g, 'items-api')))
    return seen.every((s) => s.percent === 40) ? true : undefined
  })
  t.comment(`percentage: set on one replica, seen on the other two after ${reached.ms.toFixed(0)} ms`)
  // Same users, same backends, on every replica.
  for (const user of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']) {
    const seen = await Promise.all([a!, b!, c!].map((g) => backendFor(g, user)))
    t.equal(new Set(seen).size, 1, `${user} lands on one backend whichever replica serves it`)
  }
  const rb = await admin(c!, 'POST', '/admin/flags/items-api/rollback', { reason: 'bad answers' })
  t.equal(rb.status, 200)
  const rolled = await within(1_000, 'the rollback on every replica', async () => {
    const seen = await Promise.all([a!, b!].map((g) => percentOn(g, 'items-api')))
    return seen.every((s) => s.state === 'rolled_back' && s.percent === 0) ? true : undefined
  })
  t.comment(`rollback: made on one replica, obeyed by the other two after ${rolled.ms.toFixed(0)} ms`)
  t.equal(await backendFor(a!, 'u1'), 'legacy')
  const refused = await admin(b!, 'PUT', '/admin/flags/items-api', { percent: 10, reason: 'too soon' })
  t.equal(refused.status, 409, 'a rolled-back flag refuses a percentage on every replica')
  const resumed = await admin(b!, 'POST', '/admin/flags/items-api/resume', { reason: 'fixed' })
  t.equal(resumed.status, 200)
  await within(1_000, 'the resume on every replica', async () => {
    const seen = await Promise.all([a!, c!].map((g) => percentOn(g, 'items-api')))
    return seen.every((s) => s.state === 'running') ? true : undefined
  })
  t.pass('a resume reaches every replica')
  const replicaOf = async (g: TestGateway): Promise<string> => (await admin(g, 'GET', '/admin/cluster')).json.replica
  const trail = await within(2_000, 'the three changes in the shared trail', async () => {
    const { json } = await admin(a!, 'GET', '/admin/events?flag=items-api')
    return json.events.length === 3 ? json.events : undefined
  })
  t.match(trail.value.map((e: any) => [e.action, e.replica]), [['resume', await replicaOf(b!)], ['rollback', await replicaOf(c!)], ['set_percent', await replicaOf(a!)]],
    'every replica\'s changes, newest first, each naming the replica it was made through')
  t.same((await admin(c!, 'GET', '/admin/events?flag=items-api&limit=1')).json.events.map((e: any) => e.action), ['resume'], 'the same trail through any replica, limited')
  const cli = await runSwitchyard(t, ['events', '--flag', 'items-api'], { env: { SWITCHYARD_ADMIN_URL: a!.adminUrl } })
  t.equal(cli.code, 0)
  const newest = cli.stdout.split('\n')[1]!
  t.ok(newest.includes('resume') && newest.includes(`via ${await replicaOf(b!)}`), `switchyard events names the replica each change went through: ${newest}`)
})

t.test('a change right after another replica\'s is judged on it, not on a message still in flight', { skip }, async (t) => {
  const redis = await startRedis(t)
  const [a, b, c] = await replicas(t, 3, redis.url)
  // c hears no message from now on (as when its subscription lags behind): what it knows of a change made
  // elsewhere, it must read from Redis when it is asked to make the next one.
  c!.gw.cluster!.link.subscriber.disconnect(false)
  for (let i = 1; i <= 20; i++) {
    const rb = await admin(c!, 'POST', '/admin/flags/items-api/rollback', { reason: `round ${i}` })
    const resume = await admin(i % 2 === 0 ? a! : b!, 'POST', '/admin/flags/items-api/resume', { reason: `round ${i}` })
    const put = await admin(c!, 'PUT', '/admin/flags/items-api', { percent: 10 + i, reason: `round ${i}` })
    if (rb.status !== 200 || resume.status !== 200 || put.status !== 200) {
      t.fail(`round ${i}: rollback ${rb.status}, resume ${resume.status} ${resume.json.message ?? ''}, rollout ${put.status} ${put.json.message ?? ''}`)
      return
    }
  }
  t.pass('20 rounds: rolled back through c, resumed through another replica, raised through c again at once, all accepted though c hears no message')
  await within(1_000, 'every replica at 30 %', async () => (await Promise.all([a!, b!, c!].map((g) => percentOn(g, 'items-api')))).every((s) => s.percent === 30 && s.state === 'running') ? true : undefined)
})

t.test('one replica evaluates at a time, and hands over when it stops', { skip }, async (t) => {
  const redis = await startRedis(t)
  const gws = await replicas(t, 3, redis.url)
  const leaders = async (): Promise<boolean[]> => (await Promise.all(gws.map((g) => admin(g, 'GET', '/admin/cluster')))).map((r) => r.json.this_replica_leads)
  const first = await within(3_000, 'one leader', async () => {
    const l = await leaders()
    return l.filter(Boolean).length === 1 ? l.indexOf(true) : undefined
  })
  const status = (await admin(gws[0]!, 'GET', '/admin/cluster')).json
  t.equal(status.enabled, true)
  t.equal(status.redis.up, true)
  t.equal(status.leader, (await admin(gws[first.value]!, 'GET', '/admin/cluster')).json.replica, 'every replica names the leader')
  const text = await scrape(gws[first.value]!.adminUrl)
  t.match(text, /^switchyard_rule_evaluator_leader 1$/m)
  t.match(renderStatus((await admin(gws[first.value]!, 'GET', '/admin/routes')).json, false), /Replicas share state through Redis at redis:\/\/127\.0\.0\.1:\d+\/0; rules evaluated by this replica \(.+\)\./, 'switchyard status names the leader')
  t.equal(sample(text, 'switchyard_dependency_up', { dependency: 'redis' }), 1)
  const started = performance.now()
  await gws[first.value]!.gw.shutdown()
  const rest = gws.filter((_, i) => i !== first.value)
  await within(3_000, 'another leader', async () => {
    const l = await Promise.all(rest.map((g) => admin(g, 'GET', '/admin/cluster')))
    return l.filter((r) => r.json.this_replica_leads).length === 1 ? true : undefined
  })
  t.comment(`graceful handover of the lease: ${(performance.now() - started).toFixed(0)} ms`)
})

t.test('the rules read every replica\'s counters', { skip }, async (t) => {
  const redis = await startRedis(t)
  const gws = await replicas(t, 2, redis.url, {})
  for (const [i, g] of gws.entries()) {
    for (let k = 0; k < 20 * (i + 1); k++) await backendFor(g, `user-${k}`)
  }
  const cluster = gws[0]!.gw.cluster!
  const seen = await within(3_000, 'both replicas\' requests in the shared window', async () => {
    await cluster.windows.refresh()
    const totals = cluster.windows.traffic.totals('items', 60)
    return totals.legacy === 60 ? totals : undefined
  })
  t.same(seen.value, { legacy: 60, new: 0, legacyErrors: 0, newErrors: 0 }, '20 + 40 requests, summed')
  t.equal(cluster.windows.cumulative('items').legacy, 60)
  t.equal(gws[0]!.gw.cluster!.windows.shared, true)
})

t.test('Redis killed: routing goes on, changes wait or apply safely, and Redis is refilled when it returns', { skip }, async (t) => {
  const redis = await startRedis(t)
  const [a, b] = await replicas(t, 2, redis.url)
  t.equal((await admin(a!, 'PUT', '/admin/flags/items-api', { percent: 50, reason: 'half' })).status, 200)
  await within(1_000, 'the 50 % on b', async () => (await percentOn(b!, 'items-api')).percent === 50 ? true : undefined)
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`)
  const before = await Promise.all(users.map((u) => backendFor(b!, u)))

  await redis.kill()
  await within(3_000, 'Redis seen as down', async () => (await admin(a!, 'GET', '/admin/cluster')).json.redis.up === false ? true : undefined)
  const after = await Promise.all(users.map((u) => backendFor(b!, u)))
  t.same(after, before, 'every user stays on the same backend while Redis is down')
  t.equal(sample(await scrape(a!.adminUrl), 'switchyard_dependency_up', { dependency: 'redis' }), 0)
  t.ok(sample(await scrape(a!.adminUrl), 'switchyard_dependency_errors_total', { dependency: 'redis' }) >= 1)

  const refused = await admin(a!, 'PUT', '/admin/flags/items-api', { percent: 60, reason: 'more' })
  t.equal(refused.status, 503)
  t.equal(refused.json.code, 'SY_ERR_SHARED_STATE_UNAVAILABLE')
  t.match(refused.json.message, /nothing was changed/)
  t.equal((await percentOn(a!, 'items-api')).percent, 50, 'nothing changed')
  const paused = await admin(a!, 'POST', '/admin/flags/items-api/pause', { reason: 'hold' })
  t.equal(paused.status, 503, 'a pause needs every replica too')
  t.equal((await percentOn(a!, 'items-api')).state, 'running')

  const rb = await admin(a!, 'POST', '/admin/flags/items-api/rollback', { reason: 'errors' })
  t.equal(rb.status, 200, 'a rollback applies even without Redis')
  t.equal(await backendFor(a!, users[before.indexOf('new')]!), 'legacy', 'on the replica that made it, at once')
  t.equal((await admin(a!, 'GET', '/admin/cluster')).json.pending_changes, 2, 'the state and the 0 % wait to be shared')
  t.match(renderStatus((await admin(a!, 'GET', '/admin/routes')).json, false), /Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is not answering: this replica \(.+\) routes on the last state it knew and holds 2 change\(s\) to share when Redis returns\./, 'switchyard status says so')
  t.equal((await percentOn(b!, 'items-api')).state, 'running', 'the other replica cannot know yet')

  await redis.start() // empty: no persistence
  const back = await within(5_000, 'the rollback on b after Redis returns', async () => {
    const s = await percentOn(b!, 'items-api')
    return s.state === 'rolled_back' && s.percent === 0 ? true : undefined
  })
  t.comment(`Redis back: the rollback made during the outage reached the other replica after ${back.ms.toFixed(0)} ms`)
  t.equal((await admin(a!, 'GET', '/admin/cluster')).json.pending_changes, 0)
  const events = await within(2_000, 'the outage\'s rollback in the shared trail', async () => {
    const { json } = await admin(b!, 'GET', '/admin/events?flag=items-api')
    return json.events.some((e: any) => e.action === 'rollback') ? json.events : undefined
  })
  t.match(events.value[0], { action: 'rollback', reason: 'errors', replica: (await admin(a!, 'GET', '/admin/cluster')).json.replica }, 'the rollback made during the outage is in the trail every replica reads')
  const r = new Redis(redis.url)
  t.teardown(() => r.quit())
  const prefix = a!.config.cluster.key_prefix
  const states = await r.hgetall(`${prefix}:states`)
  t.equal(JSON.parse(states['items-api']!).value.state, 'rolled_back', 'the emptied Redis was refilled from the replicas')
  t.equal(JSON.parse((await r.hget(`${prefix}:percents`, 'items-api'))!).value, 0)
  t.equal((await admin(b!, 'PUT', '/admin/flags/visual-search', { percent: 5, reason: 'start' })).status, 200, 'changes are accepted again')
})

t.test('a bad REDIS_URL is refused at startup', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  await t.rejects(startGateway(t, { legacy: legacy.url, new: legacy.url, env: { REDIS_URL: 'localhost:6379' } }), { code: 'SY_ERR_CONFIG_INVALID', message: /REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/ })
})
