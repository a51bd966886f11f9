// `switchyard serve`: the process side of the gateway. It reads the environment, loads the config, listens,
// and turns SIGTERM and SIGINT into a graceful shutdown. With --example it first starts the whole example
// (database, catalogue, backfill, the legacy and unified services) on the ports the config names.
import { constants } from 'node:fs'
import { copyFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Registry } from 'prom-client'
import { buildGateway, type Gateway } from '../app.ts'
import { loadConfigFile, type GatewayConfig } from '../config/load.ts'
import { isSwitchyardError } from '../errors.ts'
import { handleProcessFaults } from '../../services/bin/process-faults.ts'
import { DEFAULT_EXAMPLE_ITEMS, startExampleStack, type ExampleStack } from '../../services/example/example-stack.ts'

export const DEFAULT_CONFIG = 'flags/switchyard.yaml'

interface Out { write (s: string): unknown }

export async function runServe (argv: string[], env: Record<string, string | undefined>, out: Out, err: Out): Promise<number> {
  let args
  try {
    args = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, example: { type: 'boolean' }, items: { type: 'string' } }, strict: true })
  } catch (e) {
    err.write(`switchyard serve: ${(e as Error).message}\nUsage: switchyard serve [--config flags/switchyard.yaml] [--example [--items n]]\n`)
    return 2
  }
  const file = args.values.config ?? env.SWITCHYARD_CONFIG ?? DEFAULT_CONFIG
  let config: GatewayConfig
  try {
    config = loadConfigFile(file, env)
  } catch (e) {
    if (!isSwitchyardError(e)) throw e
    err.write(`switchyard: ${e.message}\n`)
    return 1
  }

  if (args.values.example === true) config = await withExampleFlags(config)

  let example: ExampleStack | null = null
  const registry = new Registry()
  let gateway: Gateway
  try {
    if (args.values.example === true) {
      const items = args.values.items === undefined ? DEFAULT_EXAMPLE_ITEMS : Number(args.values.items)
      if (!Number.isInteger(items) || items < 1) {
        err.write(`switchyard serve: --items takes a whole number of at least 1, got ${JSON.stringify(args.values.items)}\n`)
        return 2
      }
      const at = (url: string) => { const u = new URL(url); return { host: u.hostname, port: Number(u.port) } }
      example = await startExampleStack({
        registry,
        stateDir: config.stateDir,
        legacy: at(config.backends.legacy.url),
        new: at(config.backends.new.url),
        items,
        env,
        log: (line) => out.write(line + '\n')
      })
    }
    gateway = await buildGateway(config, { registry })
  } catch (e) {
    await example?.close()
    if (!isSwitchyardError(e) && (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e
    err.write(`switchyard: ${(e as Error).message}\n`)
    return 1
  }

  const stopped = new Promise<number>((resolve) => {
    const log = gateway.proxy.log
    let stopping = false
    const stop = (signal: string, code: number): boolean => {
      if (stopping) return false
      stopping = true
      log.info({ signal }, 'shutting down: draining in-flight requests')
      gateway.shutdown().then(async ({ drained }) => {
        await example?.close()
        log.info({ drained }, 'stopped')
        resolve(code)
      }, (e: unknown) => {
        log.error({ err: e }, 'shutdown failed')
        resolve(1)
      })
      return true
    }
    process.once('SIGTERM', (signal) => stop(signal, 0))
    process.once('SIGINT', (signal) => stop(signal, 0))
    handleProcessFaults({
      name: 'the gateway',
      log,
      report: (e, kind) => gateway.reporter.error(e, { component: 'process', kind }),
      stop,
      shutdownMs: config.shutdown.unready_delay_ms + config.shutdown.drain_timeout_ms + 5_000
    })
  })

  try {
    const { proxyUrl, adminUrl } = await gateway.listen()
    out.write(banner(config, proxyUrl, adminUrl, example))
  } catch (e) {
    err.write(`switchyard: cannot listen: ${(e as Error).message}\n`)
    await gateway.shutdown()
    await example?.close()
    return 1
  }
  return stopped
}

// The example changes a copy of the flag file kept in the state directory, so that trying rollouts from a
// fresh clone never edits the committed flags/. Outside the example, the configured file is the source of
// truth and is written in place.
async function withExampleFlags (config: GatewayConfig): Promise<GatewayConfig> {
  const copy = join(config.stateDir, 'example-features.json')
  await mkdir(config.stateDir, { recursive: true })
  try {
    await copyFile(config.flagsFile, copy, constants.COPYFILE_EXCL)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  }
  return Object.freeze({ ...config, flagsFile: copy })
}

function banner (config: GatewayConfig, proxyUrl: string, adminUrl: string, example: ExampleStack | null): string {
  const client = proxyUrl.replace('0.0.0.0', '127.0.0.1')
  const lines = [
    'Switchyard is running.',
    `  clients:   ${client}`,
    `  admin:     ${adminUrl}/admin/routes   (metrics: ${adminUrl}/metrics)`,
    `  flags:     ${config.secrets.unleash?.url ?? config.flagsFile}`,
    `  backends:  legacy ${config.backends.legacy.url}, new ${config.backends.new.url}${example !== null ? ' (the example\'s legacy and unified services)' : ''}`,
    ...(example !== null ? [`  database:  ${example.database}`] : []),
    '',
    'Try:',
    `  curl -si ${client}/items/7 -H 'x-user-id: ana' | grep -i x-switchyard-backend`,
    `  curl -si ${client}/v2/items/7 | grep -i x-switchyard-backend      # pinned to new`,
    `  curl -si ${client}/items/7 -H 'Accept-Version: 1' | grep -i x-switchyard-backend   # pinned to legacy`,
    `  curl -s ${client}/v2/garments?limit=2          # the v3.5 API`,
    `  curl -s -X POST ${client}/search_by_image -H 'content-type: application/json' -d '{"item_id": 7, "k": 3}'`,
    '  switchyard status          # or: npx switchyard status',
    "  switchyard rollout items-api 50 --reason 'step 3'",
    '  switchyard events',
    ''
  ]
  return lines.join('\n') + '\n'
}
