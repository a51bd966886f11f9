// Starts the processes under test, each pinned to a core with taskset (which execs, so the pid we get is the
// server's own), waits until they are ready, and stops them.
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { READY_MARKER } from './servers/announce.ts'

const READY_TIMEOUT_MS = 20_000
const STOP_TIMEOUT_MS = 5_000
const OUTPUT_TAIL = 4_000

export interface Child {
  name: string
  pid: number
  /** What the child announced when it was ready (url, urls, adminUrl...). */
  info: Record<string, unknown>
  stop: () => Promise<void>
  /** The last few kilobytes the child wrote (stderr, and stdout after the ready line). */
  output: () => string
  alive: () => boolean
}

export interface StartOptions {
  core: number | null
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** 'announce' waits for the READY_MARKER line on stdout; a port waits until 127.0.0.1:port accepts connections. */
  ready: 'announce' | { port: number }
}

const running = new Set<ChildProcess>()

/** Last resort when the benchmark itself dies: no child outlives it. */
export function killAllChildren (): void {
  for (const proc of running) proc.kill('SIGKILL')
}

export async function startChild (name: string, command: string, args: string[], opts: StartOptions): Promise<Child> {
  const [cmd, argv] = opts.core === null ? [command, args] : ['taskset', ['-c', String(opts.core), command, ...args]]
  const proc = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  running.add(proc)
  let output = ''
  const keep = (chunk: string) => { output = (output + chunk).slice(-OUTPUT_TAIL) }
  proc.stderr!.setEncoding('utf8').on('data', keep)
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => {
    running.delete(proc)
    resolve(code)
  }))
  const spawnFailed = new Promise<never>((resolve, reject) => proc.once('error', (err) => {
    running.delete(proc)
    reject(new Error(`${name} could not be started: ${err.message}`, { cause: err }))
  }))
  const failed = (why: string) => new Error(`${name} ${why}${output === '' ? '' : `:\n${output}`}`)

  let info: Record<string, unknown>
  try {
    const ready = opts.ready === 'announce' ? readyLine(proc) : portOpen(opts.ready.port, Date.now() + READY_TIMEOUT_MS).then(() => ({}))
    info = await Promise.race([
      ready,
      spawnFailed,
      exited.then((code) => { throw failed(`exited with code ${code} before it was ready`) }),
      sleep(READY_TIMEOUT_MS, undefined, { ref: false }).then(() => { throw failed(`was not ready within ${READY_TIMEOUT_MS} ms`) })
    ])
  } catch (err) {
    proc.kill('SIGKILL')
    throw err
  }
  proc.stdout!.setEncoding('utf8').on('data', keep)

  const pid = typeof info.pid === 'number' ? info.pid : proc.pid!
  return {
    name,
    pid,
    info,
    output: () => output,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    async stop () {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    }
  }
}

function readyLine (proc: ChildProcess): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! })
    const onLine = (line: string) => {
      if (!line.startsWith(READY_MARKER)) return
      lines.off('line', onLine)
      lines.close()
      try {
        resolve(JSON.parse(line.slice(READY_MARKER.length)) as Record<string, unknown>)
      } catch (err) {
        reject(new Error(`expected JSON after ${READY_MARKER.trim()}, got ${JSON.stringify(line.slice(0, 200))}`, { cause: err }))
      }
    }
    lines.on('line', onLine)
  })
}

async function portOpen (port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await sleep(50)
  }
  throw new Error(`nothing accepts connections on port ${port}`)
}
