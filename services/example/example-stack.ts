// The whole example in one process, for `npm start`: the database (PGlite in the state directory, or
// Postgres when LEGACY_DATABASE_URL and DATABASE_URL are set), the migrations, a synthetic catalogue on the
// first start, the backfill, the two-way sync, and the legacy and unified services on the ports the
// gateway's config names.
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { connectPostgres, openPglite, type DatabaseHandle } from '../db/database.ts'
import { migrateUp } from '../db/migrate.ts'
import { loadLegacyCatalogue } from '../catalogue/load.ts'
import { buildLegacyService } from '../legacy/app.ts'
import { buildUnifiedService } from '../unified/app.ts'
import { backfill } from '../migrate/backfill.ts'
import { TemplateStoryGenerator } from '../migrate/story.ts'
import { attachSessionEcho } from './session-echo.ts'
import type { Registry } from 'prom-client'
import { directionsBetween } from '../sync/directions.ts'
import { follow } from '../sync/follower.ts'
import { SyncMetrics } from '../sync/sync-metrics.ts'

export const DEFAULT_EXAMPLE_ITEMS = 5_000

export interface ExampleStack {
  readonly legacyUrl: string
  readonly newUrl: string
  readonly database: string
  close (): Promise<void>
}

export interface ExampleOptions {
  stateDir: string
  legacy: { host: string, port: number }
  new: { host: string, port: number }
  items?: number
  env: Record<string, string | undefined>
  log: (line: string) => void
  /** Where the sync's metrics go: the gateway's registry, so /metrics on the admin port shows them too. */
  registry: Registry
}

export async function startExampleStack (opts: ExampleOptions): Promise<ExampleStack> {
  const closers: Array<() => Promise<void>> = []
  const close = async (): Promise<void> => { for (const c of closers.reverse()) await c() }
  try {
    const { legacy, unified, database } = await openExampleDatabases(opts, closers)
    await migrateUp(legacy, 'legacy')
    await migrateUp(unified, 'unified')

    const [{ n } = { n: 0 }] = await legacy.query<{ n: number }>('SELECT count(*)::int AS n FROM legacy.items')
    if (n === 0) {
      const count = opts.items ?? DEFAULT_EXAMPLE_ITEMS
      opts.log(`Generating a catalogue of ${count.toLocaleString('en')} items (first start only)...`)
      await loadLegacyCatalogue(legacy, { seed: 20240501, count })
    }
    const [done] = await unified.query("SELECT 1 FROM unified.migration_checkpoints WHERE job = 'backfill' AND finished_at IS NOT NULL")
    if (done === undefined) {
      opts.log('Backfilling the unified schema from legacy...')
      const r = await backfill(legacy, unified, { stories: new TemplateStoryGenerator() })
      opts.log(`Backfilled ${r.rows.toLocaleString('en')} items in ${(r.ms.total / 1000).toFixed(1)} s.`)
    }

    // The two-way sync, in this process: a write through either service becomes visible through both.
    const stop = new AbortController()
    const syncLog = { info () {}, warn: (o: object, msg: string) => opts.log(`sync: ${msg} ${JSON.stringify(o)}`), error: (o: object, msg: string) => opts.log(`sync: ${msg} ${JSON.stringify(o)}`) }
    const following = follow({ directions: directionsBetween(legacy, unified), stories: new TemplateStoryGenerator(), metrics: new SyncMetrics(opts.registry), log: syncLog, signal: stop.signal })
    closers.push(async () => {
      stop.abort()
      await following
    })

    const legacyApp = await buildLegacyService({ logger: false }, { db: legacy })
    const unifiedApp = await buildUnifiedService({ logger: false }, { db: unified })
    const legacyUrl = await listen(legacyApp, 'legacy', opts.legacy, closers)
    const newUrl = await listen(unifiedApp, 'new', opts.new, closers)
    return { legacyUrl, newUrl, database, close }
  } catch (err) {
    await close()
    throw err
  }
}

async function openExampleDatabases (opts: ExampleOptions, closers: Array<() => Promise<void>>): Promise<{ legacy: DatabaseHandle, unified: DatabaseHandle, database: string }> {
  const legacyUrl = opts.env.LEGACY_DATABASE_URL
  const unifiedUrl = opts.env.DATABASE_URL
  if (legacyUrl !== undefined && legacyUrl !== '' && unifiedUrl !== undefined && unifiedUrl !== '') {
    const legacy = await connectPostgres(legacyUrl, { applicationName: 'switchyard-example' })
    closers.push(() => legacy.close())
    const unified = unifiedUrl === legacyUrl ? legacy : await connectPostgres(unifiedUrl, { applicationName: 'switchyard-example' })
    if (unified !== legacy) closers.push(() => unified.close())
    return { legacy, unified, database: 'Postgres (LEGACY_DATABASE_URL, DATABASE_URL)' }
  }
  const dataDir = join(opts.stateDir, 'pglite')
  const { pglite, handle } = await openPglite({ dataDir })
  closers.push(() => pglite.close())
  return { legacy: handle, unified: handle, database: `PGlite in ${dataDir}` }
}

async function listen (app: FastifyInstance, name: string, at: { host: string, port: number }, closers: Array<() => Promise<void>>): Promise<string> {
  const endSessions = attachSessionEcho(app.server, name)
  closers.push(async () => {
    endSessions()
    await app.close()
  })
  await app.listen({ host: at.host, port: at.port })
  return `http://${at.host}:${at.port}`
}
