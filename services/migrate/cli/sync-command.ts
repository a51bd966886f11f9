// switchyard-migrate sync: --follow runs both directions until stopped (SIGTERM or SIGINT), with its metrics
// on --metrics-port, and verifies both sides every --verify-interval seconds (services/sync/periodic-verify.ts);
// status and replay read and act on the databases directly.
import { createServer } from 'node:http'
import { Registry } from 'prom-client'
import { TemplateStoryGenerator } from '../story.ts'
import { follow } from '../../sync/follower.ts'
import { directionsBetween } from '../../sync/directions.ts'
import { DEFAULT_VERIFY_INTERVAL_S, verifyPeriodically } from '../../sync/periodic-verify.ts'
import { replayDeadLetters } from '../../sync/replay.ts'
import { directionStatus, type DirectionStatus } from '../../sync/status.ts'
import { SyncMetrics } from '../../sync/sync-metrics.ts'
import type { Databases } from './databases.ts'
import { MigrateUsageError } from './errors.ts'
import type { Out } from './progress.ts'

export interface SyncCommandIo {
  stdout: Out
  stderr: Out
  signal?: AbortSignal
}

export interface SyncCommandOptions {
  json: boolean
  batchSize: number
  metricsPort?: number
  /** --verify-interval: seconds between the end of one verify run and the start of the next; 0 turns it off. */
  verifyIntervalSeconds?: number
  /** The most rows a verify run reads per second from each side. */
  verifyRowsPerSecond?: number
}

export async function runSyncCommand (sub: string | undefined, dbs: Databases, opts: SyncCommandOptions, io: SyncCommandIo): Promise<number> {
  const [toUnified, toLegacy] = directionsBetween(dbs.legacy, dbs.unified)
  if (sub === '--follow' || sub === 'follow') {
    const verifyInterval = opts.verifyIntervalSeconds ?? DEFAULT_VERIFY_INTERVAL_S
    if (!Number.isFinite(verifyInterval) || verifyInterval < 0) {
      throw new MigrateUsageError(`--verify-interval takes a number of seconds, 0 to turn verifying off, got ${JSON.stringify(opts.verifyIntervalSeconds)}.`)
    }
    const registry = new Registry()
    const metrics = new SyncMetrics(registry)
    const server = opts.metricsPort === undefined ? null : await serveMetrics(registry, opts.metricsPort)
    const log = jsonLog(io.stderr)
    log.info({
      database: dbs.describe,
      metrics: server === null ? null : `http://127.0.0.1:${opts.metricsPort}/metrics`,
      verifyEverySeconds: verifyInterval === 0 ? null : verifyInterval
    }, 'sync following both directions')
    // Verifying stops with following, also when following fails for good.
    const stop = new AbortController()
    const signal = io.signal === undefined ? stop.signal : AbortSignal.any([io.signal, stop.signal])
    const verifying = verifyInterval === 0
      ? null
      : verifyPeriodically({ legacy: dbs.legacy, unified: dbs.unified, metrics, log, signal, intervalMs: verifyInterval * 1000, rowsPerSecond: opts.verifyRowsPerSecond })
    try {
      await follow({ directions: [toUnified, toLegacy], stories: new TemplateStoryGenerator(), metrics, log, signal, batchSize: opts.batchSize })
    } finally {
      stop.abort()
      await verifying
      // Also when following fails for good, so that the process ends and its supervisor restarts it.
      server?.close()
      server?.closeAllConnections()
    }
    log.info({}, 'sync stopped')
    return 0
  }
  if (sub === 'status') {
    const rows = [
      await directionStatus(dbs.legacy, 'legacy', dbs.unified, 'unified', 'legacy_to_unified'),
      await directionStatus(dbs.unified, 'unified', dbs.legacy, 'legacy', 'unified_to_legacy')
    ]
    io.stdout.write(opts.json ? JSON.stringify({ directions: rows }, null, 2) + '\n' : rows.map(describe).join('\n') + '\n')
    return rows.some((r) => r.parked > 0) ? 1 : 0
  }
  if (sub === 'replay') {
    const a = await replayDeadLetters(dbs.legacy, 'legacy', dbs.unified, 'unified', 'legacy_to_unified')
    const b = await replayDeadLetters(dbs.unified, 'unified', dbs.legacy, 'legacy', 'unified_to_legacy')
    io.stdout.write(`Queued ${a + b} parked change(s) again (legacy → unified: ${a}, unified → legacy: ${b}); a running sync applies them with the rows' current state.\n`)
    return 0
  }
  throw new MigrateUsageError('sync takes --follow, status or replay: for example, switchyard-migrate sync --follow.')
}

function describe (s: DirectionStatus): string {
  const arrow = s.direction === 'legacy_to_unified' ? 'legacy → unified' : 'unified → legacy'
  const lines = [
    `${arrow}: ${s.applied.toLocaleString('en')} rows applied (${s.rowsPerSecond.toLocaleString('en')} rows/s now), lag ${s.lagSeconds.toFixed(1)} s, ` +
      `${s.pending.toLocaleString('en')} change(s) waiting, ${s.conflicts.toLocaleString('en')} conflict(s) kept the target's newer version` +
      `${s.updatedAt !== null ? `, last batch ${s.updatedAt}` : ', never run'}`
  ]
  if (s.parked > 0) {
    lines.push(`  PARKED: ${s.parked} change(s) could not be applied; fix the cause, then run switchyard-migrate sync replay`)
    for (const p of s.latestParked) lines.push(`    row ${p.rowId} at ${p.parkedAt}: ${p.reason}`)
  }
  if (s.lastError !== null) lines.push(`  last error at ${s.lastErrorAt}: ${s.lastError}`)
  return lines.join('\n')
}

function serveMetrics (registry: Registry, port: number): Promise<ReturnType<typeof createServer>> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(text)
      }, (err: Error) => {
        res.writeHead(500).end(err.message)
      })
      return
    }
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: req.url === '/healthz' ? 'ok' : 'not found' }))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '0.0.0.0', () => resolve(server))
  })
}

function jsonLog (out: Out) {
  const write = (level: string) => (o: object, msg: string): void => {
    const fields = Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v instanceof Error ? { message: v.message, code: (v as { code?: string }).code } : v]))
    out.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + '\n')
  }
  return { info: write('info'), warn: write('warn'), error: write('error') }
}
