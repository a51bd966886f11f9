// npm run bench:rollback: three gateway processes on one Redis, under steady load from many users, with the
// shipped rollback rules (flags/switchyard.yaml). A fault (half of new's answers fail) is injected again and
// again at a 25 % rollout; for each, the time from the fault's onset until every replica serves legacy,
// and the requests clients saw fail. Flagger's default (one check a minute, rollback after 5 failed checks)
// leaves a fault on for about 5 minutes: its line gives the client errors this load would see over that.
//
//   npm run bench:rollback [-- --injections 20] [--quick] [--json file]
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parse } from 'yaml'
import { describeMachine } from './machine.ts'
import { median } from './report.ts'
import { startRedis } from '../helpers/servers.ts'
import { clusterStatus, routeState, startReplicas, type Replica } from '../helpers/replicas.ts'
import { ROOT } from '../helpers/process-serve.ts'

const { values } = parseArgs({
  options: {
    injections: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' }
  }
})
const INJECTIONS = Number(values.injections ?? (values.quick ? 3 : 20))
const FLAGGER_SECONDS = 60 * 5

const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }

async function serve (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function call (r: Replica, method: string, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${r.adminUrl}${path}`, { method, headers: { 'content-type': 'application/json', 'x-switchyard-actor': 'bench' }, body: JSON.stringify(body) })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path} through ${r.name} answered ${res.status}: ${text}`)
  return res.status
}

async function main (): Promise<void> {
  const shipped = parse(readFileSync(join(ROOT, 'flags', 'switchyard.yaml'), 'utf8')) as { rules: { interval_ms: number, list: Array<{ metric: string }> } }
  // The benchmark's routes are not shadowed: the mismatch rule has nothing to watch here.
  const rules = { ...shipped.rules, list: shipped.rules.list.filter((r) => r.metric !== 'mismatch_rate') }
  const fault = { on: false }
  let n = 0
  const legacy = await serve((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"legacy"}')) })
  const fresh = await serve((req, res) => {
    req.resume()
    req.on('end', () => {
      if (fault.on && n++ % 2 === 0) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"injected"}')
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"new"}')
    })
  })
  const redis = await startRedis(t)
  const replicas = await startReplicas(t, {
    n: 3,
    redisUrl: redis.url,
    legacy,
    new: fresh,
    percents: { 'items-api': 25 },
    override: { rules, logging: { level: 'error' } }
  })

  // Steady load: 4 loops per replica, a POST every fifth request, 2,000 users.
  const seen = { requests: 0, failed: 0 }
  const run = { stopped: false }
  const loop = async (r: Replica, k: number): Promise<void> => {
    for (let i = k; !run.stopped; i += 12) {
      const post = i % 5 === 0
      try {
        const res = await fetch(`${r.proxyUrl}/items/${i % 50}`, {
          method: post ? 'POST' : 'GET',
          headers: { 'x-user-id': `user-${i % 2000}`, ...(post ? { 'content-type': 'application/json' } : {}) },
          ...(post ? { body: '{}' } : {})
        })
        await res.arrayBuffer()
        if (res.status >= 500) seen.failed++
      } catch {
        seen.failed++
      }
      seen.requests++
    }
  }
  const loops = replicas.flatMap((r, i) => [0, 1, 2, 3].map((j) => loop(r, i * 4 + j)))

  const results: Array<{ ms: number, errors: number, errorsPerSecond: number }> = []
  const startedAll = performance.now()
  const requestsAtStart = seen.requests
  for (let i = 0; i < INJECTIONS; i++) {
    // Healthy at 25 % for long enough that the rules' windows hold no trace of the last fault.
    if ((await routeState(replicas[0]!, 'items-api')).state === 'rolled_back') {
      await call(replicas[i % 3]!, 'POST', '/admin/flags/items-api/resume', { reason: 'bench: next injection' })
    }
    await call(replicas[(i + 1) % 3]!, 'PUT', '/admin/flags/items-api', { percent: 25, reason: 'bench: next injection' })
    // Plus a random part of an evaluation interval, so that the onsets fall anywhere between two evaluations.
    await sleep(3_000 + Math.random() * rules.interval_ms)
    const failedBefore = seen.failed
    const onset = performance.now()
    fault.on = true
    const done = new Set<Replica>()
    let last = onset
    while (done.size < replicas.length) {
      if (performance.now() - onset > 60_000) throw new Error(`injection ${i + 1}: not rolled back within 60 s`)
      await Promise.all(replicas.filter((r) => !done.has(r)).map(async (r) => {
        if ((await routeState(r, 'items-api')).state === 'rolled_back') { done.add(r); last = performance.now() }
      }))
      if (done.size < replicas.length) await sleep(10)
    }
    const ms = last - onset
    const errors = seen.failed - failedBefore
    fault.on = false
    results.push({ ms, errors, errorsPerSecond: errors / (ms / 1000) })
    process.stdout.write(`injection ${String(i + 1).padStart(2)}: every replica on legacy after ${ms.toFixed(0).padStart(5)} ms; ${errors} client-visible errors\n`)
  }
  const rps = (seen.requests - requestsAtStart) / ((performance.now() - startedAll) / 1000)
  run.stopped = true
  await Promise.all(loops)
  const leader = (await Promise.all(replicas.map(clusterStatus))).find((s) => s.this_replica_leads)?.replica ?? null

  const times = results.map((r) => r.ms).sort((a, b) => a - b)
  const p50 = median(times)
  const max = times[times.length - 1]!
  const errorsPer = median(results.map((r) => r.errors))
  const errorsPerSecond = median(results.map((r) => r.errorsPerSecond))
  const flaggerErrors = errorsPerSecond * FLAGGER_SECONDS
  const machine = describeMachine({ wrk: null, nginx: null, clockTicks: 100 })
  const lines = [
    '',
    `machine: ${machine.nproc} cores, ${machine.cpuModel}, Node ${machine.node}; load ${rps.toFixed(0)} req/s through 3 replicas (a POST in 5), 2,000 users, 25 % on new`,
    `rules: flags/switchyard.yaml (evaluated every ${rules.interval_ms} ms, the mismatch rule left out: nothing is shadowed); fault: half of new's answers are 500`,
    `fault → every replica on legacy, over ${results.length} injections: p50 ${p50.toFixed(0)} ms, max ${max.toFixed(0)} ms (target: p50 under 2,000 ms)`,
    `client-visible errors per injection: median ${errorsPer} (GETs fail over to legacy; the failures are POSTs to new)`,
    `Flagger's default (60 s interval x threshold 5 = ${FLAGGER_SECONDS} s of fault): about ${flaggerErrors.toFixed(0)} client errors at this load, ${(flaggerErrors / Math.max(errorsPer, 1)).toFixed(0)}x as many`,
    `leader at the end: ${leader ?? 'none'}`
  ]
  process.stdout.write(lines.join('\n') + '\n')
  if (values.json !== undefined) {
    writeFileSync(values.json, JSON.stringify({ machine, rps, injections: results, p50, max, errorsPerInjection: errorsPer, flagger: { seconds: FLAGGER_SECONDS, errors: flaggerErrors } }, null, 2))
  }
}

main().then(async () => {
  for (const fn of teardowns.reverse()) await fn()
  process.exit(0)
}, async (err: unknown) => {
  process.stderr.write(`bench:rollback failed: ${(err as Error).stack ?? String(err)}\n`)
  for (const fn of teardowns.reverse()) await Promise.resolve(fn()).catch(() => {})
  process.exit(1)
})
