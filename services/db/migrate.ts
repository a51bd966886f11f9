// Applying and reverting a set of migrations. Up is drizzle's own migrator, so a database migrated here and
// one migrated by drizzle-kit agree. Down runs the hand-written files in migrations/down/, newest first, and
// removes each reverted migration's row from drizzle's table. Drizzle applies every migration newer than
// the newest row it finds there (by created_at, the journal's `when`), so after a down, up re-applies
// exactly what was reverted.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { is } from 'drizzle-orm'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator'
import type { NodePgDatabase } from 'drizzle-orm/node-postgres'
import { PgTransaction } from 'drizzle-orm/pg-core'
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator'
import type { PgliteDatabase } from 'drizzle-orm/pglite'
import { errors } from './errors.ts'
import { migrationSet, type MigrationSet, type MigrationSetName } from './migration-sets.ts'
import type { DatabaseHandle } from './database.ts'

const BREAKPOINT = '--> statement-breakpoint'

export interface MigrationEntry {
  /** The file name without .sql, such as 0001_legacy_tables. */
  readonly tag: string
  /** The journal's `when`, which drizzle stores as created_at. */
  readonly when: number
  /** sha256 of the file, as drizzle stores it. */
  readonly hash: string
}

export interface MigrationStatus extends MigrationEntry {
  readonly applied: boolean
}

export interface DownOptions {
  /** How many of the applied migrations to revert, newest first; more than are applied reverts them all. */
  steps?: number
  /** The migration to leave as the newest applied one (its tag, or its number such as 0000). */
  to?: string
}

/** The set's migrations in order, as drizzle reads them. */
export function migrationEntries (set: MigrationSet): MigrationEntry[] {
  const journal = JSON.parse(readFileSync(join(set.folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: Array<{ tag: string, when: number }>
  }
  const files = readMigrationFiles({ migrationsFolder: set.folder })
  return journal.entries.map((entry, i) => ({ tag: entry.tag, when: entry.when, hash: files[i]?.hash ?? '' }))
}

/** Applies the set's pending migrations in one transaction; returns the tags applied. */
export async function migrateUp (handle: DatabaseHandle, which: MigrationSetName): Promise<string[]> {
  // Drizzle's migrator sends its own BEGIN and COMMIT, which would end a transaction already open.
  if (is(handle.db, PgTransaction)) throw errors.IN_TRANSACTION('migrateUp')
  const set = migrationSet(which)
  const before = new Set((await appliedEntries(handle, set)).map((e) => e.tag))
  const config = { migrationsFolder: set.folder, migrationsSchema: set.migrationsSchema, migrationsTable: set.migrationsTable }
  try {
    if (handle.kind === 'postgres') await migrateNodePg(handle.db as NodePgDatabase, config)
    else await migratePglite(handle.db as PgliteDatabase, config)
  } catch (err) {
    throw errors.MIGRATE_UP(which, err)
  }
  return (await appliedEntries(handle, set)).map((e) => e.tag).filter((tag) => !before.has(tag)).reverse()
}

/**
 * Reverts applied migrations, newest first, in one transaction: one step by default, or `steps`, or down
 * to `to`. Reverting them all also drops drizzle's table for the set. Returns the tags reverted.
 */
export async function migrateDown (handle: DatabaseHandle, which: MigrationSetName, opts: DownOptions = {}): Promise<string[]> {
  const set = migrationSet(which)
  return handle.transaction(async (tx) => {
    const applied = await appliedEntries(tx, set)
    const reverting = applied.slice(0, revertCount(which, applied, opts))
    const downs = reverting.map((entry) => ({ entry, statements: downStatements(set, entry.tag) }))
    for (const { entry, statements } of downs) {
      try {
        for (const statement of statements) await tx.query(statement)
      } catch (err) {
        throw errors.MIGRATE_DOWN(which, entry.tag, err)
      }
      await tx.query(`DELETE FROM ${journalTable(set)} WHERE created_at = $1`, [entry.when])
    }
    if (reverting.length > 0 && reverting.length === applied.length) await dropJournal(tx, set)
    return reverting.map((entry) => entry.tag)
  })
}

/** Every migration of the set, and whether drizzle's table records it as applied. */
export async function migrationStatus (handle: DatabaseHandle, which: MigrationSetName): Promise<MigrationStatus[]> {
  const set = migrationSet(which)
  const applied = new Set((await appliedEntries(handle, set)).map((e) => e.tag))
  return migrationEntries(set).map((entry) => ({ ...entry, applied: applied.has(entry.tag) }))
}

/** The applied migrations, newest first. */
async function appliedEntries (handle: DatabaseHandle, set: MigrationSet): Promise<MigrationEntry[]> {
  const [exists] = await handle.query<{ table: string | null }>('SELECT to_regclass($1)::text AS table', [journalTable(set)])
  if (exists?.table == null) return []
  const rows = await handle.query<{ hash: string, created_at: string | number }>(
    `SELECT hash, created_at FROM ${journalTable(set)} ORDER BY created_at DESC, id DESC`)
  const entries = migrationEntries(set)
  return rows.map((row) => {
    const entry = entries.find((e) => e.when === Number(row.created_at))
    if (entry === undefined) throw errors.UNKNOWN_APPLIED(set.name, row.hash)
    return entry
  })
}

function revertCount (which: MigrationSetName, applied: MigrationEntry[], opts: DownOptions): number {
  if (opts.steps !== undefined && opts.to !== undefined) throw errors.BAD_DOWN_TARGET(which, 'give steps or to, not both')
  if (opts.to !== undefined) {
    const at = applied.findIndex((e) => e.tag === opts.to || e.tag.split('_')[0] === opts.to)
    if (at === -1) {
      const known = applied.map((e) => e.tag).join(', ') || 'none'
      throw errors.BAD_DOWN_TARGET(which, `${opts.to} is not an applied migration (applied: ${known})`)
    }
    return at
  }
  const steps = opts.steps ?? 1
  if (!(steps === Number.POSITIVE_INFINITY || (Number.isInteger(steps) && steps > 0))) {
    throw errors.BAD_DOWN_TARGET(which, `steps must be a positive integer, got ${steps}`)
  }
  return Math.min(steps, applied.length)
}

// Read before anything runs, so that a missing file reverts nothing.
function downStatements (set: MigrationSet, tag: string): string[] {
  const file = join(set.downFolder, `${tag}.sql`)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw errors.DOWN_MISSING(file, err)
  }
  return text.split(BREAKPOINT).filter((statement) => statement.replace(/--.*$/gm, '').trim() !== '')
}

async function dropJournal (tx: DatabaseHandle, set: MigrationSet): Promise<void> {
  await tx.query(`DROP TABLE IF EXISTS ${journalTable(set)}`)
  // The schema is shared by every set's table: it goes with the last of them, and never takes anything else.
  await tx.query(`DO $$ BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_depend d JOIN pg_namespace n ON d.refclassid = 'pg_namespace'::regclass AND d.refobjid = n.oid
    WHERE n.nspname = ${literal(set.migrationsSchema)}
  ) THEN
    DROP SCHEMA IF EXISTS ${ident(set.migrationsSchema)};
  END IF;
END $$`)
}

function journalTable (set: MigrationSet): string {
  return `${ident(set.migrationsSchema)}.${ident(set.migrationsTable)}`
}

function ident (name: string): string {
  return `"${name.replace(/"/g, '""')}"`
}

function literal (text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}
