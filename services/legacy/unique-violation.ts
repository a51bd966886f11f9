// Which unique constraint a failed write broke, if that is why it failed. node-postgres and PGlite both
// report SQLSTATE 23505 with the constraint's name; Drizzle wraps their error as its cause.
const UNIQUE_VIOLATION = '23505'

export function violatedUniqueConstraint (err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, constraint } = e as { code?: unknown, constraint?: unknown }
    if (code === UNIQUE_VIOLATION) return typeof constraint === 'string' ? constraint : ''
  }
  return undefined
}
