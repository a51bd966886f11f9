// switchyard-migrate sync: --follow runs both directions until stopped (SIGTERM or SIGINT), with its metrics
// on --metrics-port; status and replay read and act on the databases directly.
import { createServer } from 'node:http'
import { Registry } from 'prom-client'
import { TemplateStoryGenerator } from '../story.ts'
import { follow } from '../../sync/follower.ts'
import { directionsBetween } from '../../sync/directions.ts'
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

export async function runSyncCommand (sub: string | undefined, dbs: Databases, opts: { json: boolean, batchSize: number, metricsPort?: number }, io: SyncCommandIo): Promise<number> {
  const [toUnified, toLegacy] = directionsBetween(dbs.legacy, dbs.unified)
  if (sub === '--follow' || sub === 'follow') {
    const registry = new Registry()
    const metrics = new SyncMetrics(registry)
    const server = opts.metricsPort === undefined ? null : await serveMetrics(registry, opts.metricsPort)
    const log = jsonLog(io.stderr)
    log.info({ database: dbs.describe, metrics: server === null ? null : `http://127.0.0.1:${opts.metricsPort}/metrics` }, 'sync following both directions')
    try {
      await follow({ directions: [toUnified, toLegacy], stories: new TemplateStoryGenerator(), metrics, log, signal: io.signal ?? new AbortController().signal, batchSize: opts.batchSize })
    } finally {
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
