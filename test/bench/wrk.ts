// Runs wrk once and reads its summary, which wrk-report.lua prints as one JSON line.
import { execFile, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const REPORT_SCRIPT = fileURLToPath(new URL('./wrk-report.lua', import.meta.url))
const USERS_SCRIPT = fileURLToPath(new URL('./wrk-users.lua', import.meta.url))
const MARKER = 'WRK_JSON '

export interface WrkErrors { connect: number, read: number, write: number, status: number, timeout: number }

export interface WrkResult {
  requests: number
  seconds: number
  rps: number
  bytes: number
  /** CPU time wrk itself used, in seconds. */
  cpuSeconds: number
  errors: WrkErrors
  latencyUs: { mean: number, stdev: number, p50: number, p90: number, p99: number, max: number }
}

export interface WrkOptions {
  url: string
  seconds: number
  connections: number
  headers: Record<string, string>
  /** The core wrk is pinned to with taskset, or null to leave it unpinned. */
  core: number | null
  /** Vary x-user-id over this many users instead of sending `headers` (wrk-users.lua). */
  users?: number
}

/** wrk's version line, or null when wrk is not installed. */
export function wrkVersion (): string | null {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
  if (r.error !== undefined) return null
  return `${r.stdout}${r.stderr}`.split('\n')[0]?.replace(/ Copyright.*$/, '').trim() ?? 'wrk'
}

export function runWrk (opts: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency', '-s', opts.users === undefined ? REPORT_SCRIPT : USERS_SCRIPT]
  if (opts.users === undefined) for (const [name, value] of Object.entries(opts.headers)) args.push('-H', `${name}: ${value}`)
  args.push(opts.url)
  if (opts.users !== undefined) args.push('--', String(opts.users))
  const [cmd, argv] = opts.core === null ? ['wrk', args] : ['taskset', ['-c', String(opts.core), 'wrk', ...args]]
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: (opts.seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`wrk failed: ${err.message}\n${stderr}`, { cause: err }))
        return
      }
      const line = stdout.split('\n').find((l) => l.startsWith(MARKER))
      if (line === undefined) {
        reject(new Error(`wrk printed no summary:\n${stdout}\n${stderr}`))
        return
      }
      const raw = JSON.parse(line.slice(MARKER.length)) as {
        requests: number, duration_us: number, bytes: number, cpu_s: number, errors: WrkErrors, latency_us: WrkResult['latencyUs']
      }
      const seconds = raw.duration_us / 1e6
      resolve({
        requests: raw.requests,
        seconds,
        rps: raw.requests / seconds,
        bytes: raw.bytes,
        cpuSeconds: raw.cpu_s,
        errors: raw.errors,
        latencyUs: raw.latency_us
      })
    })
  })
}

export function errorCount (e: WrkErrors): number {
  return e.connect + e.read + e.write + e.status + e.timeout
}
