// Several `switchyard serve` processes sharing one Redis: the replicas of a deployment, each with its own
// ports, state directory and copy of the flag file, started from one config.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { featuresJson, tempDir } from './gateway.ts'
import { spawnServe, waitReady, writeServeConfig, type ServeProcess } from './process-serve.ts'
import { freePort } from './servers.ts'

interface Teardown { teardown (fn: () => unknown): void }

export interface Replica {
  readonly name: string
  readonly proxyUrl: string
  readonly adminUrl: string
  serve: ServeProcess
  /** SIGKILL, as a crash or an OOM kill would. */
  kill (): Promise<void>
}

export interface ReplicaOptions {
  n: number
  redisUrl: string
  legacy: string
  new: string
  percents: Record<string, number>
  /** Replaces keys of the generated config (rules, cluster, ...). */
  override?: Record<string, unknown>
}

export async function startReplicas (t: Teardown, opts: ReplicaOptions): Promise<Replica[]> {
  const replicas = await Promise.all(Array.from({ length: opts.n }, async (_, i) => {
    const dir = tempDir(t, `switchyard-replica-${i}-`)
    const proxyPort = await freePort()
    const adminPort = await freePort()
    const config = writeServeConfig(dir, { proxyPort, adminPort, legacy: opts.legacy, new: opts.new, drainTimeoutMs: 2_000, override: opts.override })
    writeFileSync(join(dir, 'features.json'), featuresJson({ 'items-api': 0, 'visual-search': 0, ...opts.percents }))
    const serve = spawnServe(t, ['--config', config], { REDIS_URL: opts.redisUrl })
    const adminUrl = `http://127.0.0.1:${adminPort}`
    const replica: Replica = {
      name: `replica-${i}`,
      proxyUrl: `http://127.0.0.1:${proxyPort}`,
      adminUrl,
      serve,
      async kill () {
        serve.child.kill('SIGKILL')
        await serve.exited
      }
    }
    await waitReady(serve, adminUrl, 30_000)
    return replica
  }))
  return replicas
}

export async function clusterStatus (r: Replica): Promise<any> {
  const res = await fetch(`${r.adminUrl}/admin/cluster`, { signal: AbortSignal.timeout(2_000) })
  return await res.json()
}

export async function routeState (r: Replica, flag: string): Promise<{ percent: number, state: string, reason: string | null }> {
  const res = await fetch(`${r.adminUrl}/admin/routes`, { signal: AbortSignal.timeout(2_000) })
  const json = await res.json() as { routes: Array<{ flag: string, percent: number, state: string, reason: string | null }> }
  return json.routes.find((x) => x.flag === flag)!
}
