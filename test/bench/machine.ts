// What the figures were measured on.
import { readFileSync } from 'node:fs'
import { availableParallelism, release } from 'node:os'

export interface Machine {
  nproc: number
  cpuModel: string
  kernel: string
  node: string
  wrk: string | null
  nginx: string | null
  clockTicks: number
}

export function describeMachine (tools: { wrk: string | null, nginx: string | null, clockTicks: number }): Machine {
  let cpuModel = 'unknown'
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m !== null) cpuModel = m[1]!.trim()
  } catch {
    // not Linux: the model stays unknown, the figures are still valid
  }
  return { nproc: availableParallelism(), cpuModel, kernel: release(), node: process.version, ...tools }
}
