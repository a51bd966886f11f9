// switchyard-migrate: the data layer's job. Schema migrations (up, down), the synthetic catalogue (seed),
// and legacy → unified backfill, verify and rollback. Every command prints a one-line summary; verify
// exits 1 and lists the ids that differ.
import { parseArgs } from 'node:util'
import { migrateDown, migrateUp } from '../../db/migrate.ts'
import { loadLegacyCatalogue } from '../../catalogue/load.ts'
import { backfill } from '../backfill.ts'
import { rollbackBackfill } from '../rollback.ts'
import { TemplateStoryGenerator } from '../story.ts'
import { verify, type VerifyResult } from '../verify.ts'
import { openDatabases, type Databases } from './databases.ts'
import { MigrateUsageError } from './errors.ts'
import { progressBar, type Out } from './progress.ts'
import { runSyncCommand } from './sync-command.ts'

export interface MigrateIo {
  env: Record<string, string | undefined>
  stdout: Out
  stderr: Out
  /** Stops `sync --follow`. */
  signal?: AbortSignal
}

const USAGE = `Usage: switchyard-migrate <command> [options]

Commands:
  up                      apply the schema migrations (legacy and unified)
  down [--steps n]        revert the newest n migrations of each set (default 1)
  seed [--count n] [--seed s]   load the synthetic catalogue into the legacy tables (replaces them)
  backfill [--batch-size n]     copy legacy items into unified garments (resumes after a kill)
  verify                  compare counts, mapped fields and embeddings; exit 1 on any difference
  rollback                remove what the backfill wrote
  sync --follow [--metrics-port p] [--verify-interval s]   keep both sides in step: legacy → unified and
                          unified → legacy; verify every s seconds (600; 0: never)
  sync status             position, lag, rows applied, parked changes and the last error of each direction
  sync replay             queue parked changes again, once their cause is fixed

Options:
  --only legacy|unified   up and down: one set of migrations
  --pglite <dir>          use the embedded PGlite database in <dir> instead of Postgres
  --json                  print the result as JSON

Environment: LEGACY_DATABASE_URL (legacy database), DATABASE_URL (unified database).
`

export async function runMigrate (argv: string[], io: MigrateIo): Promise<number> {
  let dbs: Databases | undefined
  try {
    const [command, ...rest] = argv
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      (command === undefined ? io.stderr : io.stdout).write(USAGE)
      return command === undefined ? 2 : 0
    }
    const { values, positionals } = parseOptions(rest)
    const sets = values.only === undefined ? ['legacy', 'unified'] as const : [checkSet(values.only)]
    const print = (summary: string, json: unknown): void => {
      io.stdout.write(values.json === true ? JSON.stringify(json, null, 2) + '\n' : summary + '\n')
    }
    if (!['up', 'down', 'seed', 'backfill', 'verify', 'rollback', 'sync'].includes(command)) {
      throw new MigrateUsageError(`Unknown command ${JSON.stringify(command)}. Run switchyard-migrate --help for the list.`)
    }
    // Every option is checked before anything connects.
    const steps = positiveInt(values.steps ?? '1', '--steps')
    const count = positiveInt(values.count ?? '25677', '--count')
    const seed = positiveInt(values.seed ?? '20240501', '--seed')
    const batchSize = positiveInt(values['batch-size'] ?? '500', '--batch-size')
    const metricsPort = values['metrics-port'] === undefined ? undefined : positiveInt(values['metrics-port'], '--metrics-port')
    const verifyIntervalSeconds = values['verify-interval'] === undefined ? undefined : seconds(values['verify-interval'], '--verify-interval')
    const sub = values.follow === true ? '--follow' : positionals[0]
    if (command === 'sync' && sub !== '--follow' && sub !== 'status' && sub !== 'replay') {
      throw new MigrateUsageError('sync takes --follow, status or replay: for example, switchyard-migrate sync --follow.')
    }
    dbs = await openDatabases(io.env, values.pglite)
    const { legacy, unified } = dbs

    switch (command) {
      case 'up': {
        for (const set of sets) await migrateUp(set === 'legacy' ? legacy : unified, set)
        print(`Migrations applied: ${sets.join(', ')} (${dbs.describe}).`, { applied: sets })
        return 0
      }
      case 'down': {
        for (const set of [...sets].reverse()) await migrateDown(set === 'legacy' ? legacy : unified, set, { steps })
        print(`Reverted the newest ${steps} migration(s) of: ${[...sets].reverse().join(', ')}.`, { reverted: sets, steps })
        return 0
      }
      case 'seed': {
        const bar = progressBar(io.stderr, 'seed')
        const r = await loadLegacyCatalogue(legacy, { seed, count, onProgress: (d, t) => bar.update(d, t) })
        bar.end()
        print(`Loaded ${r.items.toLocaleString('en')} items and ${r.users.toLocaleString('en')} users into the legacy tables in ${(r.ms / 1000).toFixed(1)} s.`, r)
        return 0
      }
      case 'backfill': {
        const bar = progressBar(io.stderr, 'backfill')
        const r = await backfill(legacy, unified, { stories: new TemplateStoryGenerator(), batchSize, onProgress: (d, t) => bar.update(d, t) })
        bar.end()
        const rate = Math.round(r.rows / Math.max(r.ms.copy / 1000, 0.001))
        print(`Backfilled ${r.rows.toLocaleString('en')} of ${r.total.toLocaleString('en')} legacy items${r.resumedFrom > 0 ? ` (resumed after legacy id ${r.resumedFrom})` : ''} in ${(r.ms.copy / 1000).toFixed(1)} s (${rate.toLocaleString('en')} rows/s)` +
          `${r.indexRebuilt ? `; HNSW index built in ${(r.ms.index / 1000).toFixed(1)} s` : ''}.`, r)
        return 0
      }
      case 'sync':
        return await runSyncCommand(sub, dbs, { json: values.json === true, batchSize, metricsPort, verifyIntervalSeconds }, io)
      case 'verify': {
        const r = await verify(legacy, unified)
        print(describeVerify(r), r)
        return r.ok ? 0 : 1
      }
      default: {
        const r = await rollbackBackfill(unified)
        print(`Removed ${r.deleted.toLocaleString('en')} backfilled garments; garments created on the new side were kept.`, r)
        return 0
      }
    }
  } catch (err) {
    if (err instanceof MigrateUsageError) {
      io.stderr.write(`${err.message}\n`)
      return err.exitCode
    }
    const code = (err as { code?: unknown }).code
    io.stderr.write(`switchyard-migrate: ${(err as Error).message}${typeof code === 'string' ? ` (${code})` : ''}\n`)
    return 1
  } finally {
    await dbs?.close()
  }
}

function describeVerify (r: VerifyResult): string {
  if (r.ok) return `Verified: ${r.checked.toLocaleString('en')} items match (counts, mapped fields and embeddings bit for bit).`
  const lines = [`Verification failed: ${r.legacyRows.toLocaleString('en')} legacy items, ${r.unifiedRows.toLocaleString('en')} backfilled garments.`]
  const list = (ids: number[], n: number) => `${ids.slice(0, 50).join(', ')}${n > 50 ? `, ... (${n} in all)` : ''}`
  if (r.counts.missing > 0) lines.push(`  missing in unified (${r.counts.missing}): ${list(r.missing, r.counts.missing)}`)
  if (r.counts.extra > 0) lines.push(`  in unified but not in legacy (${r.counts.extra}): ${list(r.extra, r.counts.extra)}`)
  if (r.counts.different > 0) lines.push(`  different (${r.counts.different}): ${list(r.different, r.counts.different)}`)
  lines.push('Run switchyard-migrate backfill to copy them again.')
  return lines.join('\n')
}

function parseOptions (args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      options: {
        only: { type: 'string' },
        steps: { type: 'string' },
        count: { type: 'string' },
        seed: { type: 'string' },
        'batch-size': { type: 'string' },
        pglite: { type: 'string' },
        json: { type: 'boolean' },
        follow: { type: 'boolean' },
        'metrics-port': { type: 'string' },
        'verify-interval': { type: 'string' }
      },
      allowPositionals: true
    })
  } catch (err) {
    throw new MigrateUsageError(`${(err as Error).message}. Run switchyard-migrate --help for the options.`)
  }
}

function checkSet (v: string): 'legacy' | 'unified' {
  if (v !== 'legacy' && v !== 'unified') throw new MigrateUsageError(`--only takes legacy or unified, got ${JSON.stringify(v)}.`)
  return v
}

function seconds (v: string, name: string): number {
  if (!/^\d+$/.test(v)) throw new MigrateUsageError(`${name} takes a whole number of seconds, 0 to turn verifying off, got ${JSON.stringify(v)}.`)
  return Number(v)
}

function positiveInt (v: string, name: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new MigrateUsageError(`${name} takes a whole number of at least 1, got ${JSON.stringify(v)}.`)
  return Number(v)
}
