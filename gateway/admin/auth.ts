// Bearer-token check for /admin. Both sides are hashed first so timingSafeEqual compares equal lengths and
// the comparison takes the same time whatever the token's length or content.
import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'

export function tokenChecker (token: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest()
  return (authorization) => {
    if (authorization === undefined || !authorization.startsWith('Bearer ')) return false
    const given = createHash('sha256').update(authorization.slice(7).trim()).digest()
    return timingSafeEqual(given, expected)
  }
}

export function isLoopback (host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1' || host === '0:0:0:0:0:0:0:1'
}
