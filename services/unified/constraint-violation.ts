// Which constraint a failed write broke, if that is why it failed. node-postgres and PGlite both report the
// SQLSTATE with the constraint's name; drizzle wraps their error as its cause.
export const UNIQUE_VIOLATION = '23505'
export const FOREIGN_KEY_VIOLATION = '23503'

export function violatedConstraint (err: unknown, sqlstate: string): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, constraint } = e as { code?: unknown, constraint?: unknown }
    if (code === sqlstate) return typeof constraint === 'string' ? constraint : ''
  }
  return undefined
}
