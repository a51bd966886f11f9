#!/usr/bin/env node
// The `switchyard-service legacy|unified` command: one service of the data layer in its own process, as a
// container runs it. The only file of the services that reads the environment, listens and handles
// signals. On SIGTERM or SIGINT /readyz turns 503, the listener closes, in-flight requests finish (or are cut
// after DRAIN_TIMEOUT_MS), the database pool closes, and the process exits 0. A bug that escapes every
// handler is dealt with as process-faults.ts says.
import { Registry } from 'prom-client'
import type { FastifyInstance } from 'fastify'
import { connectPostgres, type DatabaseHandle } from '../db/database.ts'
import { buildLegacyService } from '../legacy/app.ts'
import { buildUnifiedService } from '../unified/app.ts'
import { handleProcessFaults } from './process-faults.ts'
import { attachOperations } from './service-operations.ts'
import { serviceSettings, ServiceUsageError, USAGE, type ServiceSettings } from './service-settings.ts'

async function main (argv: string[]): Promise<number> {
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(USAGE)
    return 0
  }
  let settings: ServiceSettings
  try {
    settings = serviceSettings(argv, process.env)
  } catch (err) {
    if (!(err instanceof ServiceUsageError)) throw err
    process.stderr.write(`switchyard-service: ${err.message}\n\n${USAGE}`)
    return 2
  }

  let db: DatabaseHandle
  try {
    db = await connectPostgres(settings.databaseUrl, {
      applicationName: `switchyard-${settings.service}`,
      max: settings.poolSize,
      onIdleError: (err) => process.stderr.write(`switchyard-service: an idle database connection failed (${err.message}); the next query opens a new one\n`)
    })
  } catch (err) {
    process.stderr.write(`switchyard-service: cannot reach the ${settings.service} database (${settings.databaseVariable}): ${(err as Error).message}\n`)
    return 1
  }

  let app: FastifyInstance
  try {
    const logger = { level: settings.logLevel }
    app = settings.service === 'legacy'
      ? await buildLegacyService({ logger }, { db })
      : await buildUnifiedService({ logger }, { db })
  } catch (err) {
    await db.close()
    process.stderr.write(`switchyard-service: the ${settings.service} service cannot start: ${(err as Error).message}\n`)
    return 1
  }
  const operations = attachOperations(app, { service: settings.service, db, registry: new Registry() })

  const stopped = new Promise<number>((resolve) => {
    let stopping = false
    const stop = (signal: string, code: number): boolean => {
      if (stopping) return false
      stopping = true
      app.log.info({ signal }, 'shutting down: draining in-flight requests')
      operations.drain()
      const cut = setTimeout(() => {
        app.log.warn({ drainTimeoutMs: settings.drainTimeoutMs }, 'drain timeout: closing the connections left')
        app.server.closeAllConnections()
      }, settings.drainTimeoutMs)
      app.close()
        .then(() => db.close())
        .then(() => {
          clearTimeout(cut)
          app.log.info('stopped')
          resolve(code)
        }, (err: unknown) => {
          clearTimeout(cut)
          app.log.error({ err }, 'shutdown failed')
          resolve(1)
        })
      return true
    }
    process.once('SIGTERM', (signal) => stop(signal, 0))
    process.once('SIGINT', (signal) => stop(signal, 0))
    handleProcessFaults({ name: `the ${settings.service} service`, log: app.log, stop, shutdownMs: settings.drainTimeoutMs + 5_000 })
  })

  try {
    await app.listen({ host: settings.host, port: settings.port })
  } catch (err) {
    process.stderr.write(`switchyard-service: cannot listen on ${settings.host}:${settings.port}: ${(err as Error).message}\n`)
    await app.close()
    await db.close()
    return 1
  }
  return stopped
}

process.exitCode = await main(process.argv.slice(2))
