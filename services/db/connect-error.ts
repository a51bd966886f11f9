// The error a service prints when it cannot reach its database at startup: where it tried (never the
// password), what went wrong, and what to check.
import { DatabaseError, errors } from './errors.ts'

/** The URL without its password or query string, which can carry secrets too. */
export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    const user = u.username !== '' ? `${decodeURIComponent(u.username)}@` : ''
    return `${u.protocol}//${user}${u.host}${u.pathname}`
  } catch {
    return 'the database URL (it does not parse as a URL)'
  }
}

export function describeConnectError (url: string, err: unknown): DatabaseError {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : ''
  const message = err instanceof Error && err.message !== '' ? err.message : code
  const why = /^E[A-Z]+$/.test(code) ? code : message
  return errors.CONNECT(redactUrl(url), why, hintFor(code), err)
}

// Network error codes from Node, SQLSTATE codes from the server.
function hintFor (code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENOENT':
      return 'is Postgres running? set DATABASE_URL'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve; check DATABASE_URL'
    case '28P01':
    case '28000':
      return 'check the user and password in DATABASE_URL'
    case '3D000':
      return 'create the database, or point DATABASE_URL at one that exists'
    default:
      return 'check DATABASE_URL'
  }
}
