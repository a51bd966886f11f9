// A real gateway on port 0 with its own flag file and state directory in a temporary folder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { buildGateway, type Gateway, type GatewayDeps } from '../../gateway/app.ts'
import { buildConfig, type Env, type GatewayConfig } from '../../gateway/config/load.ts'

interface Teardown { teardown (fn: () => unknown): void }

export interface TestGateway {
  readonly gw: Gateway
  readonly config: GatewayConfig
  readonly proxyUrl: string
  readonly adminUrl: string
  readonly dir: string
  readonly flagsFile: string
}

export function featuresJson (percents: Record<string, number>): string {
  return JSON.stringify({
    version: 2,
    features: Object.entries(percents).map(([name, pct]) => ({
      name,
      enabled: true,
      strategies: [{ name: 'flexibleRollout', parameters: { rollout: String(pct), stickiness: 'default', groupId: name }, constraints: [] }]
    }))
  }, null, 2)
}

export const DEFAULT_ROUTES = [
  { name: 'items', paths: ['/items', '/items/*'], flag: 'items-api' },
  { name: 'search', paths: ['/search_by_image'], methods: ['POST'], flag: 'visual-search' }
]

export function tempDir (t: Teardown, prefix = 'switchyard-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The configuration every test gateway starts from: loopback on port 0, both versions, the default routes. */
export function testConfig (dir: string, opts: { legacy?: string, new?: string, config?: Record<string, unknown>, env?: Env }): GatewayConfig {
  return buildConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    ...(opts.legacy !== undefined && opts.new !== undefined ? { backends: { legacy: { url: opts.legacy }, new: { url: opts.new } } } : {}),
    versions: [
      { prefix: '/v1', backend: 'legacy', strip: true },
      { prefix: '/v2', backend: 'new', strip: true }
    ],
    routes: DEFAULT_ROUTES,
    flags: { file: 'features.json' },
    state: { dir: 'state' },
    logging: { level: 'silent' },
    ...opts.config
  }, { baseDir: dir, env: opts.env ?? {} })
}

export async function startGateway (t: Teardown, opts: {
  legacy: string
  new: string
  percents?: Record<string, number>
  config?: Record<string, unknown>
  env?: Env
  deps?: GatewayDeps
  dir?: string
}): Promise<TestGateway> {
  const dir = opts.dir ?? tempDir(t)
  const flagsFile = join(dir, 'features.json')
  if (opts.dir === undefined || opts.percents !== undefined) {
    writeFileSync(flagsFile, featuresJson({ 'items-api': 0, 'visual-search': 0, ...opts.percents }))
  }
  const config = testConfig(dir, { legacy: opts.legacy, new: opts.new, config: opts.config, env: opts.env })
  const gw = await buildGateway(config, { registry: new Registry(), ...opts.deps })
  const { proxyUrl, adminUrl } = await gw.listen()
  t.teardown(() => gw.shutdown())
  return { gw, config, proxyUrl, adminUrl, dir, flagsFile }
}
