// The data layer's errors. Every one has a stable SY_ERR_DB_* code to branch on and a message that says
// what to do; a driver's error is kept as the cause.

export class DatabaseError extends Error {
  readonly code: string

  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DatabaseError'
    this.code = code
  }
}

export const errors = {
  CONNECT: (target: string, why: string, hint: string, cause: unknown) => new DatabaseError('SY_ERR_DB_CONNECT',
    `cannot connect to ${target}: ${why}; ${hint}`, { cause }),
  COPY_SQL: (sql: string) => new DatabaseError('SY_ERR_DB_COPY_SQL',
    `copyFrom expects one "COPY ... FROM STDIN" statement without HEADER, got: ${sql.slice(0, 200)}`),
  MIGRATE_UP: (which: string, cause: unknown) => new DatabaseError('SY_ERR_DB_MIGRATE_UP',
    `the ${which} migrations failed and were rolled back: ${messageOf(cause)}`, { cause }),
  MIGRATE_DOWN: (which: string, tag: string, cause: unknown) => new DatabaseError('SY_ERR_DB_MIGRATE_DOWN',
    `reverting the ${which} migration ${tag} failed, nothing was reverted: ${messageOf(cause)}`, { cause }),
  DOWN_MISSING: (file: string, cause: unknown) => new DatabaseError('SY_ERR_DB_DOWN_MISSING',
    `cannot read the down migration ${file}; every migration needs one that reverts it`, { cause }),
  IN_TRANSACTION: (what: string) => new DatabaseError('SY_ERR_DB_IN_TRANSACTION',
    `${what} runs its own transaction; call it with the handle itself, not a transaction's handle`),
  UNKNOWN_APPLIED: (which: string, hash: string) => new DatabaseError('SY_ERR_DB_UNKNOWN_APPLIED',
    `the ${which} migrations table holds a migration that is not in this build (hash ${hash.slice(0, 12)}); ` +
    'revert it with the build that applied it'),
  BAD_DOWN_TARGET: (which: string, problem: string) => new DatabaseError('SY_ERR_DB_BAD_DOWN_TARGET',
    `cannot revert the ${which} migrations: ${problem}`)
}

function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
