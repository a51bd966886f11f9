// Three gateway processes, one Redis and the two backends, under steady load from many users. 50 % errors
// injected in new at a 25 % rollout: the rule, evaluated by one replica on every replica's counters, rolls
// the flag back and every replica serves legacy within 2 seconds of the fault's onset; with failover no
// client GET fails, and the POSTs that failed are counted by the replicas' metrics exactly as the clients
// saw them. Then the leader is killed and another replica takes over evaluation and rolls back the next
// fault; then Redis is killed mid-run and routing goes on, and the state is restored when it returns.
import type { IncomingMessage, ServerResponse } from 'node:http'
import t from 'tap'
import { sample, scrape } from './helpers/metrics.ts'
import { within } from './helpers/poll.ts'
import { clusterStatus, routeState, startReplicas, type Replica } from './helpers/replicas.ts'
import { missing, startRedis } from './helpers/servers.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

const skip = missing('redis-server') ?? false

const RULES = {
  interval_ms: 250,
  list: [{ name: 'new-error-burst', metric: 'error_rate', window_seconds: 2, min_requests: 40, threshold: 0.25, consecutive: 1 }]
}

function faultyNew () {
  const fault = { on: false }
  let n = 0
  return {
    fault,
    handler: (req: IncomingMessage, res: ServerResponse) => {
      req.resume()
      req.on('end', () => {
        if (fault.on && n++ % 2 === 0) {
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"injected"}')
          return
        }
        res.writeHead(200, { 'content-type': 'application/json', 'x-backend': 'new' }).end('{"name":"new"}')
      })
    }
  }
}

/** Two loops per replica: GETs, and a POST every fifth request, from 2,000 users. */
function steadyLoad (replicas: Replica[]) {
  const seen = { requests: 0, getFailed: 0, posts: 0, postFailed: 0, examples: [] as string[] }
  const run = { stopped: false }
  let live = replicas
  const loop = async (r: Replica, k: number): Promise<void> => {
    for (let i = k; !run.stopped && live.includes(r); i += 7) {
      const post = i % 5 === 0
      try {
        const res = await fetch(`${r.proxyUrl}/items/${i % 50}`, {
          method: post ? 'POST' : 'GET',
          headers: { 'x-user-id': `user-${i % 2000}`, ...(post ? { 'content-type': 'application/json' } : {}) },
          ...(post ? { body: '{"title":"x"}' } : {}),
          signal: AbortSignal.timeout(5_000)
        })
        await res.arrayBuffer()
        seen.requests++
        if (post) seen.posts++
        if (res.status >= 500) {
          if (post) seen.postFailed++
          else {
            seen.getFailed++
            if (seen.examples.length < 5) seen.examples.push(`GET via ${r.name}: ${res.status}`)
          }
        }
      } catch (err) {
        seen.requests++
        if (post) { seen.posts++; seen.postFailed++ } else {
          seen.getFailed++
          if (seen.examples.length < 5) seen.examples.push(`GET via ${r.name}: ${(err as Error).message}`)
        }
      }
    }
  }
  const loops = new Map(live.map((r, i) => [r, Promise.all([loop(r, i * 2), loop(r, i * 2 + 1)])]))
  return {
    seen,
    /** Stops sending through the given replica, once its requests in flight are answered (it is about to be killed). */
    async without (r: Replica) {
      live = live.filter((x) => x !== r)
      await loops.get(r)
    },
    async stop () { run.stopped = true; await Promise.all(loops.values()) }
  }
}

/** Waits until every replica has the flag rolled back; returns how long after `since` that was. */
async function everyRolledBack (replicas: Replica[], since: number): Promise<number> {
  const at = new Map<Replica, number>()
  await within(15_000, 'every replica rolled back', async () => {
    await Promise.all(replicas.filter((r) => !at.has(r)).map(async (r) => {
      if ((await routeState(r, 'items-api')).state === 'rolled_back') at.set(r, performance.now())
    }))
    return at.size === replicas.length ? true : undefined
  }, 10)
  return Math.max(...at.values()) - since
}

async function postMetric (replicas: Replica[]): Promise<number> {
  let n = 0
  for (const r of replicas) n += sample(await scrape(r.adminUrl), 'switchyard_requests_total', { route: 'items', backend: 'new', method: 'POST', code: '500' })
  return n
}

t.test('three replicas roll back together, hand evaluation over, and ride out a Redis outage', { skip, timeout: 180_000 }, async (t) => {
  const redis = await startRedis(t)
  const legacy = await startUpstream(t, namedJson('legacy'))
  const { fault, handler } = faultyNew()
  const fresh = await startUpstream(t, handler)
  const replicas = await startReplicas(t, {
    n: 3,
    redisUrl: redis.url,
    legacy: legacy.url,
    new: fresh.url,
    percents: { 'items-api': 25 },
    override: { rules: RULES, cluster: { lease_ms: 1_500, flush_interval_ms: 100 }, logging: { level: 'warn' } }
  })
  await within(5_000, 'one leader', async () => {
    const s = await Promise.all(replicas.map(clusterStatus))
    return s.filter((x) => x.this_replica_leads).length === 1 ? true : undefined
  })

  const load = steadyLoad(replicas)
  t.teardown(() => load.stop())
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  t.equal((await routeState(replicas[0]!, 'items-api')).state, 'running', 'healthy traffic passes')

  // 1. The fault.
  const onset = performance.now()
  fault.on = true
  const ms = await everyRolledBack(replicas, onset)
  t.comment(`fault → every replica rolled back (serving legacy): ${ms.toFixed(0)} ms`)
  t.ok(ms < 2_000, `every replica serves legacy within 2 s of the fault's onset (${ms.toFixed(0)} ms)`)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const state = await routeState(replicas[2]!, 'items-api')
  t.match(state, { state: 'rolled_back', percent: 0 })
  t.equal(load.seen.getFailed, 0, `with failover no client GET failed (${load.seen.examples.join('; ')})`)
  const countedPosts = await postMetric(replicas)
  t.ok(load.seen.postFailed > 0, `${load.seen.postFailed} POSTs failed during the fault`)
  t.equal(countedPosts, load.seen.postFailed, 'the replicas count every POST that failed, as the clients saw it')
  t.comment(`POSTs: ${load.seen.posts} sent, ${load.seen.postFailed} failed; requests: ${load.seen.requests}`)
  fault.on = false

  // 2. The leader dies; another replica takes over and acts on the next fault.
  const statuses = await Promise.all(replicas.map(clusterStatus))
  const leaderIndex = statuses.findIndex((s) => s.this_replica_leads)
  const leader = replicas[leaderIndex]!
  const leaderEvents = await (await fetch(`${leader.adminUrl}/admin/events?flag=items-api`)).json() as { events: any[] }
  t.match(leaderEvents.events.find((e) => e.action === 'rollback'), { actor: 'rule:new-error-burst', details: { rule: 'new-error-burst', metric: 'error_rate', window_seconds: 2 } }, 'the leader recorded the rollback with its evidence')
  await load.without(leader)
  const survivors = replicas.filter((r) => r !== leader)
  const killedAt = performance.now()
  await leader.kill()
  const takeover = await within(10_000, 'a new leader', async () => {
    const s = await Promise.all(survivors.map(clusterStatus))
    return s.filter((x) => x.this_replica_leads).length === 1 ? s.findIndex((x) => x.this_replica_leads) : undefined
  }, 20)
  t.comment(`leader killed → another replica evaluates: ${(performance.now() - killedAt).toFixed(0)} ms (lease 1500 ms)`)
  const resume = await fetch(`${survivors[0]!.adminUrl}/admin/flags/items-api/resume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"fixed"}' })
  t.equal(resume.status, 200)
  const put = await fetch(`${survivors[1]!.adminUrl}/admin/flags/items-api`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"percent":25,"reason":"again"}' })
  t.equal(put.status, 200)
  await within(2_000, 'running at 25 % everywhere', async () => {
    const s = await Promise.all(survivors.map((r) => routeState(r, 'items-api')))
    return s.every((x) => x.state === 'running' && x.percent === 25) ? true : undefined
  })
  await new Promise((resolve) => setTimeout(resolve, 2_500))
  const onset2 = performance.now()
  fault.on = true
  const ms2 = await everyRolledBack(survivors, onset2)
  t.comment(`after the takeover, fault → every replica rolled back: ${ms2.toFixed(0)} ms`)
  // The override is shared first, to route at once; the audit event follows it into the shared trail.
  const newLeader = survivors[takeover.value]!
  const newest = await within(2_000, 'the rollback in the shared trail', async () => {
    const { events } = await (await fetch(`${newLeader.adminUrl}/admin/events?flag=items-api&limit=1`)).json() as { events: any[] }
    return events[0]?.action === 'rollback' ? events[0] : undefined
  })
  t.match(newest.value, { actor: 'rule:new-error-burst', replica: (await clusterStatus(newLeader)).replica }, 'the new leader rolled back the second fault')
  fault.on = false

  // 3. Redis dies mid-run: routing goes on; when it returns the state is restored.
  const failedBefore = load.seen.getFailed
  const requestsBefore = load.seen.requests
  await redis.kill()
  await within(5_000, 'Redis seen as down', async () => (await Promise.all(survivors.map(clusterStatus))).every((s) => !s.redis.up) ? true : undefined)
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  t.ok(load.seen.requests - requestsBefore > 50, `routing goes on without Redis (${load.seen.requests - requestsBefore} requests)`)
  t.equal(load.seen.getFailed, failedBefore, `no GET failed while Redis was down (${load.seen.examples.join('; ')})`)
  for (const r of survivors) t.equal((await routeState(r, 'items-api')).state, 'rolled_back', `${r.name} keeps the last known state`)
  t.equal(sample(await scrape(survivors[0]!.adminUrl), 'switchyard_dependency_up', { dependency: 'redis' }), 0, 'and says so in its metrics')
  await redis.start()
  await within(5_000, 'Redis seen as up again, with one leader', async () => {
    const s = await Promise.all(survivors.map(clusterStatus))
    return s.every((x) => x.redis.up) && s.filter((x) => x.this_replica_leads).length === 1 ? true : undefined
  })
  const resumed = await fetch(`${survivors[1]!.adminUrl}/admin/flags/items-api/resume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"after the outage"}' })
  t.equal(resumed.status, 200, 'changes are shared again')
  await within(2_000, 'the resume on both', async () => (await Promise.all(survivors.map((r) => routeState(r, 'items-api')))).every((s) => s.state === 'running') ? true : undefined)
  await load.stop()
  t.equal(load.seen.getFailed, 0, `no client GET failed in the whole run (${load.seen.examples.join('; ')})`)
})
