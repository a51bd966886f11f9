// Where each set of migrations lives and where drizzle records it. The schema and table names repeat those
// in drizzle/<set>/drizzle.config.ts, which imports drizzle-kit and so cannot be loaded in production; a
// test checks that the two agree.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'

export type MigrationSetName = 'legacy' | 'unified'

export interface MigrationSet {
  readonly name: MigrationSetName
  /** drizzle/<set>/migrations, holding the generated SQL and meta/_journal.json. */
  readonly folder: string
  /** drizzle/<set>/migrations/down, one hand-written file per migration, with the same name. */
  readonly downFolder: string
  readonly migrationsSchema: string
  readonly migrationsTable: string
}

const TABLES: Record<MigrationSetName, string> = {
  legacy: '__legacy_migrations',
  unified: '__unified_migrations'
}

export const MIGRATION_SET_NAMES = Object.keys(TABLES) as MigrationSetName[]

/**
 * The repository root: the nearest folder above `from` with a package.json. The same from the sources and
 * from dist/, which has no package.json of its own and into which the SQL is not copied.
 */
export function repositoryRoot (from: string = import.meta.dirname): string {
  let dir = from
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json in ${from} or any folder above it`)
    dir = parent
  }
  return dir
}

export function migrationSet (name: MigrationSetName, root: string = repositoryRoot()): MigrationSet {
  const folder = join(root, 'drizzle', name, 'migrations')
  return Object.freeze({
    name,
    folder,
    downFolder: join(folder, 'down'),
    migrationsSchema: 'drizzle',
    migrationsTable: TABLES[name]
  })
}
