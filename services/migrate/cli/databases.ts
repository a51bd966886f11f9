// Which databases the job works on: LEGACY_DATABASE_URL and DATABASE_URL (two Postgres databases, or one
// holding both schemas), or --pglite <dir> for the embedded example's in-process database.
import { connectPostgres, openPglite, type DatabaseHandle } from '../../db/database.ts'
import { MigrateUsageError } from './errors.ts'

export interface Databases {
  legacy: DatabaseHandle
  unified: DatabaseHandle
  describe: string
  close (): Promise<void>
}

export async function openDatabases (env: Record<string, string | undefined>, pgliteDir: string | undefined): Promise<Databases> {
  if (pgliteDir !== undefined) {
    const { pglite, handle } = await openPglite({ dataDir: pgliteDir })
    return { legacy: handle, unified: handle, describe: `PGlite at ${pgliteDir}`, close: () => pglite.close() }
  }
  const legacyUrl = env.LEGACY_DATABASE_URL
  const unifiedUrl = env.DATABASE_URL
  if (legacyUrl === undefined || legacyUrl === '' || unifiedUrl === undefined || unifiedUrl === '') {
    throw new MigrateUsageError('Set LEGACY_DATABASE_URL (the legacy database) and DATABASE_URL (the unified one), or pass --pglite <dir> for the embedded database.')
  }
  const legacy = await connectPostgres(legacyUrl, { applicationName: 'switchyard-migrate' })
  const unified = legacyUrl === unifiedUrl ? legacy : await connectPostgres(unifiedUrl, { applicationName: 'switchyard-migrate' })
  return {
    legacy,
    unified,
    describe: 'Postgres',
    close: async () => {
      await legacy.close()
      if (unified !== legacy) await unified.close()
    }
  }
}
