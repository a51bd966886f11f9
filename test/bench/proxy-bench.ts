// npm run bench [-- --quick] [--duration s] [--rounds n] [--connections n] [--json file] [--cases a,b,c,d,e,f,g,h]
//
// Times one small JSON GET through the backend alone, a bare @fastify/http-proxy, Switchyard, a minimal
// undici pass-through and nginx, and Switchyard shadowing 0 %, 10 % and 100 % of its GETs, in one run with the
// cases interleaved round by round, so that a drift of the machine touches every case alike. wrk drives the
// load from one core; each process under test has the other.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { CASES, PATH, STICKY_HEADERS, nodeChild, probe, type CaseContext } from './cases.ts'
import { killAllChildren, type Child } from './children.ts'
import { busyPercent, clockTicksPerSecond, coreTicks } from './cpu.ts'
import { BUSY_MACHINE_PERCENT, diagnose } from './diagnostics.ts'
import { describeMachine } from './machine.ts'
import { measureRun } from './measure.ts'
import { nginxVersion } from './nginx.ts'
import { USAGE, UsageError, parseOptions, type Options } from './options.ts'
import { renderReport, toJson, type CaseResult, type Layout } from './report.ts'
import { readSwitchyardCounts } from './switchyard-metrics.ts'
import { errorCount, runWrk, wrkVersion, type WrkOptions } from './wrk.ts'

const LOAD_CORE = 0
const PROXY_CORE = 1
// Lets the previous run's sockets close and the next process under test go idle before its run starts.
const PAUSE_MS = 500

interface Live { result: CaseResult, child: Child, url: string, users?: number }

const log = (line: string) => process.stderr.write(`${line}\n`)

async function main (): Promise<number> {
  let opts: Options
  try {
    opts = parseOptions(process.argv.slice(2), process.env)
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    if (err.message !== '') console.error(err.message)
    console.error(USAGE)
    return err.message === '' ? 0 : 2
  }

  const wrk = wrkVersion()
  if (wrk === null) {
    console.error('wrk is not installed: run `apt-get install wrk` (Debian/Ubuntu, as root) and try again.')
    return 1
  }
  const clockTicks = clockTicksPerSecond()
  const machine = describeMachine({ wrk, nginx: nginxVersion(), clockTicks })
  const notes: string[] = []
  const pinned = machine.nproc > PROXY_CORE && spawnSync('taskset', ['-V']).error === undefined
  if (!pinned) notes.push('taskset or a second core is missing: nothing is pinned, figures mix load and proxy cost')
  const loadCore = pinned ? LOAD_CORE : null
  const proxyCore = pinned ? PROXY_CORE : null
  const busyBefore = await machineBusy(notes)

  const root = fileURLToPath(new URL('../../', import.meta.url))
  const tmp = mkdtempSync(join(tmpdir(), 'switchyard-bench-'))
  const children: Child[] = []
  try {
    log(`starting the upstream backend${pinned ? ` on core ${loadCore}` : ''}`)
    const upstream = await nodeChild({ root, core: loadCore }, 'upstream backend', 'backend.ts', ['2'])
    children.push(upstream)
    const [legacyUrl, newUrl] = upstream.info.urls as [string, string]
    const bodyBytes = (await probe(legacyUrl)).bytes
    const { results, live, failed } = await startCases({ root, tmp, core: proxyCore, legacyUrl, newUrl }, opts, children, notes)

    const wrkOptions = (l: Live, seconds: number): WrkOptions => ({
      url: new URL(PATH, l.url).href, seconds, connections: opts.connections, headers: STICKY_HEADERS, core: loadCore, users: l.users
    })
    for (const l of live) {
      log(`warm-up ${l.result.id} (${opts.warmupSeconds} s)`)
      await runWrk(wrkOptions(l, opts.warmupSeconds))
    }
    for (let round = 0; round < opts.rounds; round++) {
      for (let i = 0; i < live.length; i++) {
        const l = live[(i + round) % live.length]!
        await sleep(PAUSE_MS)
        const setup = { wrk: wrkOptions(l, opts.seconds), pid: l.child.pid, loadPids: [upstream.pid], loadCore, proxyCore, clockTicks }
        const sample = await measureRun(round + 1, setup).catch((err: Error) => {
          const gone = [upstream, l.child].find((c) => !c.alive())
          if (gone === undefined) throw err
          throw new Error(`${gone.name} exited during the runs:\n${gone.output()}`, { cause: err })
        })
        l.result.samples.push(sample)
        log(`round ${round + 1}/${opts.rounds} ${l.result.id}: ${sample.rps.toFixed(0)} req/s, ` +
          `p50 ${(sample.p50Us / 1000).toFixed(2)} ms, p99 ${(sample.p99Us / 1000).toFixed(2)} ms` +
          `${errorCount(sample.errors) > 0 ? `, errors ${JSON.stringify(sample.errors)}` : ''}`)
      }
    }

    for (const gateway of live.filter((l) => ['c', 'f', 'g', 'h'].includes(l.result.id))) {
      const id = gateway.result.id
      if (typeof gateway.child.info.adminUrl !== 'string') continue
      try {
        const counts = await readSwitchyardCounts(gateway.child.info.adminUrl)
        const shadowed = Object.values(counts.shadows).reduce((a, b) => a + b, 0)
        const shadows = `; shadows: ${Object.entries(counts.shadows).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'} ` +
          `(${(100 * shadowed / Math.max(1, counts.requests)).toFixed(1)} % of requests); resident memory after the runs ${residentMb(gateway.child.pid)}`
        notes.push(`${id}: switchyard_requests_total counted ${counts.requests} requests (warm-up and runs); decisions: ` +
          (Object.entries(counts.decisions).map(([k, v]) => `${k} ${v}`).join(', ') || 'none') + (id === 'c' ? '' : shadows))
      } catch (err) {
        notes.push(`${id}: could not read the gateway's metrics: ${(err as Error).message}`)
      }
    }
    notes.push(...diagnose(results))

    const layout: Layout = { loadCore, proxyCore, bodyBytes, headers: STICKY_HEADERS, busyBefore }
    process.stdout.write(`${renderReport(machine, opts, layout, results, notes)}\n`)
    if (opts.json !== null) {
      writeFileSync(resolve(opts.json), `${JSON.stringify(toJson(machine, opts, layout, results, notes), null, 2)}\n`)
      log(`results written to ${resolve(opts.json)}`)
    }
    return failed ? 1 : 0
  } finally {
    for (const child of children.reverse()) await child.stop()
    rmSync(tmp, { recursive: true, force: true })
  }
}

/** How busy each core is for one second before anything starts: other work on the machine skews every figure. */
async function machineBusy (notes: string[]): Promise<Record<string, number | null>> {
  const before = coreTicks()
  await sleep(1_000)
  const after = coreTicks()
  const busy = Object.fromEntries([...after.keys()].map((core) => [String(core), busyPercent(before, after, core)]))
  if (Object.values(busy).some((v) => v !== null && v > BUSY_MACHINE_PERCENT)) {
    const shown = Object.entries(busy).map(([core, v]) => `core ${core} ${v === null ? 'n/a' : v.toFixed(0)} %`).join(', ')
    notes.push(`the machine was not idle before the runs (${shown} busy): other work competes with the benchmark`)
  }
  return busy
}

/** Starts every selected case and checks that it answers; a case that fails is reported, the others still run. */
async function startCases (ctx: CaseContext, opts: Options, children: Child[], notes: string[]) {
  const results: CaseResult[] = []
  const live: Live[] = []
  let failed = false
  for (const def of CASES.filter((c) => opts.cases.includes(c.id))) {
    const result: CaseResult = { id: def.id, label: def.label, skipped: null, samples: [] }
    results.push(result)
    log(`starting ${def.id} ${def.label}`)
    try {
      const started = await def.start(ctx)
      if (typeof started === 'string') {
        result.skipped = started
        notes.push(`${def.id} ${started}`)
        continue
      }
      children.push(started)
      const url = started.info.url as string
      const answer = await probe(url)
      if (def.id === 'c') {
        notes.push(`c: the fixed sticky key sends every request to the same backend (${answer.backend ?? 'no x-switchyard-backend header'}); ` +
          'wrk cannot vary headers without a per-request Lua function, which would slow every case. ' +
          'The flag is still evaluated on every request.')
      }
      live.push({ result, child: started, url, ...(def.users !== undefined ? { users: def.users } : {}) })
    } catch (err) {
      failed = true
      result.skipped = `failed: ${(err as Error).message.split('\n')[0]}`
      notes.push(`${def.id} failed to start or to answer: ${(err as Error).message}`)
    }
  }
  return { results, live, failed }
}

function residentMb (pid: number): string {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? 'n/a' : `${(Number(kb) / 1024).toFixed(0)} MB`
  } catch {
    return 'n/a'
  }
}

process.on('exit', killAllChildren)
process.on('SIGINT', () => {
  killAllChildren()
  process.exit(130)
})
main().then((code) => { process.exitCode = code }, (err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
