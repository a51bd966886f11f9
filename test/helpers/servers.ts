// Real servers from the machine's packages (redis-server, prometheus), started by a test on a free loopback
// port and a temporary directory of its own, and stopped by the test's teardown. Where the binary is missing
// the test is skipped on a developer's machine, but fails in CI (CI=true): .ci/run installs them.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

interface Teardown { teardown (fn: () => unknown): void }

export function inCi (): boolean {
  const ci = process.env.CI
  return ci !== undefined && ci !== '' && ci !== 'false'
}

/** The path of an executable on PATH, or null. */
export function which (name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {}
  }
  return null
}

/**
 * Why a test cannot run here (a string for `t.skip`), or null when it can. In CI a missing binary throws:
 * there the servers are part of the machine.
 */
export function missing (...binaries: string[]): string | null {
  const absent = binaries.filter((b) => which(b) === null)
  if (absent.length === 0) return null
  const why = `${absent.join(' and ')} not installed (Debian: apt-get install ${absent.map(debianPackage).join(' ')})`
  if (inCi()) throw new Error(`${why}: in CI the tests need the real server; .ci/run installs it`)
  return why
}

function debianPackage (binary: string): string {
  return ({ 'redis-server': 'redis-server', prometheus: 'prometheus', promtool: 'prometheus', kubectl: 'kubernetes-client' } as Record<string, string>)[binary] ?? binary
}

/** A port that was free a moment ago: bound on 127.0.0.1 with port 0, read, and released. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** A child process that can be killed and started again with the same arguments (same port, same data). */
export class Server {
  readonly name: string
  readonly port: number
  readonly #command: string
  readonly #args: string[]
  readonly #ready: () => Promise<boolean>
  #child: ChildProcess | null = null
  #output = ''

  constructor (name: string, port: number, command: string, args: string[], ready: () => Promise<boolean>) {
    this.name = name
    this.port = port
    this.#command = command
    this.#args = args
    this.#ready = ready
  }

  get running (): boolean { return this.#child !== null }

  async start (timeoutMs = 15_000): Promise<void> {
    if (this.#child !== null) return
    const child = spawn(this.#command, this.#args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    this.#output = ''
    const keep = (chunk: Buffer): void => { this.#output = (this.#output + chunk.toString()).slice(-8_000) }
    child.stdout!.on('data', keep)
    child.stderr!.on('data', keep)
    let exited = false
    child.once('exit', () => { exited = true; if (this.#child === child) this.#child = null })
    const started = Date.now()
    while (Date.now() - started < timeoutMs) {
      if (exited) throw new Error(`${this.name} exited while starting:\n${this.#output}`)
      if (await this.#ready().catch(() => false)) return
      await sleep(50)
    }
    await this.kill()
    throw new Error(`${this.name} did not become ready within ${timeoutMs} ms:\n${this.#output}`)
  }

  /** SIGKILL: the server dies as it would in a crash. */
  async kill (): Promise<void> {
    const child = this.#child
    if (child === null) return
    const gone = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await gone
    this.#child = null
  }

  /** What the server last printed (the end of it), for a failing test's message. */
  get output (): string { return this.#output }
}

async function tempDir (t: Teardown, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function redisPing (port: number): Promise<boolean> {
  const { Socket } = await import('node:net')
  return await new Promise((resolve) => {
    const s = new Socket()
    const done = (ok: boolean): void => { s.destroy(); resolve(ok) }
    s.setTimeout(500, () => done(false))
    s.once('error', () => done(false))
    s.connect(port, '127.0.0.1', () => s.write('PING\r\n'))
    s.once('data', (d) => done(d.toString().startsWith('+PONG')))
  })
}

/** A Redis server on a free port, without persistence. `url` is its REDIS_URL. */
export async function startRedis (t: Teardown): Promise<Server & { url: string }> {
  const dir = await tempDir(t, 'switchyard-redis-')
  const port = await freePort()
  const server = new Server('redis-server', port, 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'
  ], async () => await redisPing(port))
  t.teardown(() => server.kill())
  await server.start()
  return Object.assign(server, { url: `redis://127.0.0.1:${port}/0` })
}

export interface ScrapeTarget { job: string, url: string }

/**
 * A Prometheus server on a free port and a temporary directory, scraping each target's /metrics every
 * `scrapeIntervalMs` (a URL such as http://127.0.0.1:9464; its path is the metrics path). `url` is its
 * PROMETHEUS_URL.
 */
export async function startPrometheus (t: Teardown, targets: ScrapeTarget[], opts: { scrapeIntervalMs?: number, ruleFiles?: string[] } = {}): Promise<Server & { url: string }> {
  const dir = await tempDir(t, 'switchyard-prometheus-')
  const port = await freePort()
  const interval = `${opts.scrapeIntervalMs ?? 1_000}ms`
  const jobs = new Map<string, URL[]>()
  for (const target of targets) jobs.set(target.job, [...(jobs.get(target.job) ?? []), new URL(target.url)])
  const lines = [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    ...(opts.ruleFiles !== undefined && opts.ruleFiles.length > 0 ? ['rule_files:', ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:'
  ]
  for (const [job, urls] of jobs) {
    // One scrape config per metrics path: Prometheus takes the path per job, not per target.
    const byPath = new Map<string, string[]>()
    for (const u of urls) byPath.set(u.pathname === '/' ? '/metrics' : u.pathname, [...(byPath.get(u.pathname === '/' ? '/metrics' : u.pathname) ?? []), u.host])
    let n = 0
    for (const [path, hosts] of byPath) {
      lines.push(`  - job_name: ${JSON.stringify(n === 0 ? job : `${job}-${n}`)}`, `    metrics_path: ${JSON.stringify(path)}`, '    static_configs:', `      - targets: ${JSON.stringify(hosts)}`)
      if (n > 0) lines.push('        labels:', `          job: ${JSON.stringify(job)}`)
      n++
    }
  }
  const config = join(dir, 'prometheus.yml')
  await writeFile(config, lines.join('\n') + '\n')
  const url = `http://127.0.0.1:${port}`
  const server = new Server('prometheus', port, 'prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
    '--log.level=warn'
  ], async () => (await fetch(`${url}/-/ready`)).ok)
  t.teardown(() => server.kill())
  await server.start(30_000)
  return Object.assign(server, { url })
}
