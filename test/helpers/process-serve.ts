// `switchyard serve` as a real child process: the CLI entry run by Node with tsx, a YAML config written
// to a temporary folder, and the child killed by the test's teardown if it is still running.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { stringify } from 'yaml'
import { DEFAULT_ROUTES, featuresJson } from './gateway.ts'

interface Teardown { teardown (fn: () => unknown): void }

export const ROOT = resolve(import.meta.dirname, '..', '..')
export const ENTRY = join(ROOT, 'gateway', 'bin', 'switchyard.ts')

export interface ServeConfigOptions {
  proxyPort: number
  adminPort: number
  legacy: string
  new: string
  drainTimeoutMs: number
  /** Replaces keys of the generated config (for invalid configs). */
  override?: Record<string, unknown>
}

/** Writes the flags file and the YAML config into `dir`; returns the config's path. */
export function writeServeConfig (dir: string, opts: ServeConfigOptions): string {
  writeFileSync(join(dir, 'features.json'), featuresJson({ 'items-api': 0, 'visual-search': 0 }))
  const config = {
    listen: { host: '127.0.0.1', port: opts.proxyPort },
    admin: { host: '127.0.0.1', port: opts.adminPort },
    backends: { legacy: { url: opts.legacy }, new: { url: opts.new } },
    versions: [
      { prefix: '/v1', backend: 'legacy', strip: true },
      { prefix: '/v2', backend: 'new', strip: true }
    ],
    routes: DEFAULT_ROUTES,
    flags: { file: './features.json' },
    state: { dir: './state' },
    shutdown: { drain_timeout_ms: opts.drainTimeoutMs },
    logging: { level: 'warn' },
    ...opts.override
  }
  const file = join(dir, 'switchyard.yaml')
  writeFileSync(file, stringify(config))
  return file
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** performance.now() when the process exited. */
  at: number
}

export interface ServeProcess {
  readonly child: ChildProcess
  readonly exited: Promise<Exit>
  stdout (): string
  stderr (): string
}

/** The environment of the parent without the variables that would change the gateway's config. */
function cleanEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(SWITCHYARD_|UNLEASH_|REDIS_URL|PROMETHEUS_URL|NODE_OPTIONS|TAP)/.test(k)) env[k] = v
  }
  return env
}

export function spawnServe (t: Teardown, args: string[], env: Record<string, string> = {}): ServeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'serve', ...args], {
    cwd: ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }))
  })
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, exited, stdout: () => out, stderr: () => err }
}

/** Polls GET <adminUrl>/readyz until it answers 200; fails with the child's output if it exits or takes too long. */
export async function waitReady (serve: ServeProcess, adminUrl: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let exited: Exit | null = null
  serve.exited.then((e) => { exited = e }, () => {})
  while (performance.now() < deadline) {
    if (exited !== null) {
      throw new Error(`serve exited (${JSON.stringify(exited)}) before it was ready:\n${serve.stderr()}${serve.stdout()}`)
    }
    try {
      const res = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(1_000) })
      await res.arrayBuffer()
      if (res.status === 200) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`serve was not ready within ${timeoutMs} ms:\n${serve.stderr()}${serve.stdout()}`)
}
