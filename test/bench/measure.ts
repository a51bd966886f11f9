// One measured run: wrk against a case, with the CPU time of the process under test, of the processes on the
// load core, and of each whole core read before and after.
import { busyPercent, coreTicks, foreignPercent, processTicks } from './cpu.ts'
import type { Sample } from './report.ts'
import { runWrk, type WrkOptions } from './wrk.ts'

export interface RunSetup {
  wrk: WrkOptions
  /** The process under test, alone on the proxy core. */
  pid: number
  /** Our processes on the load core besides wrk (the upstream backend). */
  loadPids: number[]
  loadCore: number | null
  proxyCore: number | null
  clockTicks: number
}

export async function measureRun (round: number, setup: RunSetup): Promise<Sample> {
  const loadTicks = () => setup.loadPids.reduce((sum, pid) => sum + processTicks(pid), 0)
  const ownBefore = processTicks(setup.pid)
  const loadBefore = loadTicks()
  const coresBefore = coreTicks()
  const w = await runWrk(setup.wrk)
  const own = processTicks(setup.pid) - ownBefore
  const load = loadTicks() - loadBefore + w.cpuSeconds * setup.clockTicks
  const coresAfter = coreTicks()
  const core = (c: number | null, f: (n: number) => number | null) => c === null ? null : f(c)
  return {
    round,
    requests: w.requests,
    rps: w.rps,
    p50Us: w.latencyUs.p50,
    p99Us: w.latencyUs.p99,
    cpuUsPerRequest: w.requests === 0 ? null : (own / setup.clockTicks) * 1e6 / w.requests,
    errors: w.errors,
    loadCoreBusy: core(setup.loadCore, (c) => busyPercent(coresBefore, coresAfter, c)),
    proxyCoreBusy: core(setup.proxyCore, (c) => busyPercent(coresBefore, coresAfter, c)),
    loadCoreForeign: core(setup.loadCore, (c) => foreignPercent(coresBefore, coresAfter, c, load)),
    proxyCoreForeign: core(setup.proxyCore, (c) => foreignPercent(coresBefore, coresAfter, c, own))
  }
}
