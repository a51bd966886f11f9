// CPU accounting from procfs (proc(5)): per process, the utime + stime of all its threads; per core, the
// busy and total ticks from /proc/stat. Both are in clock ticks of `getconf CLK_TCK`.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export function clockTicksPerSecond (): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isInteger(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
}

/** utime + stime (fields 14 and 15) of a process; the command name may hold spaces, so split after its ')'. */
export function processTicks (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/** busy counts irq and softirq too; work is user + nice + system, the time that processes are charged with. */
export interface CoreTicks { busy: number, work: number, total: number }

/** Ticks per core: idle and iowait count as idle, guest time is already inside user time. */
export function coreTicks (): Map<number, CoreTicks> {
  const out = new Map<number, CoreTicks>()
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (m === null) continue
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2]!.trim().split(/\s+/).map(Number)
    const idleAll = (idle ?? 0) + (iowait ?? 0)
    const total = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), idleAll)
    out.set(Number(m[1]), { busy: total - idleAll, work: (user ?? 0) + (nice ?? 0) + (system ?? 0), total })
  }
  return out
}

/** Percentage of the time a core was busy between two samples, or null when the core is unknown. */
export function busyPercent (before: Map<number, CoreTicks>, after: Map<number, CoreTicks>, core: number): number | null {
  const a = before.get(core)
  const b = after.get(core)
  if (a === undefined || b === undefined || b.total === a.total) return null
  return 100 * (b.busy - a.busy) / (b.total - a.total)
}

/**
 * The share of a core's time that processes other than ours were charged with (user and system time): work the
 * machine does besides the benchmark, which takes cycles from it. ownTicks is the time of our processes there.
 */
export function foreignPercent (before: Map<number, CoreTicks>, after: Map<number, CoreTicks>, core: number, ownTicks: number): number | null {
  const a = before.get(core)
  const b = after.get(core)
  if (a === undefined || b === undefined || b.total === a.total) return null
  return Math.max(0, 100 * (b.work - a.work - ownTicks) / (b.total - a.total))
}
