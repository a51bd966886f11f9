// The opaque cursor of GET /garments: base64url of the sort key of the last row of a page, so that the next
// page starts strictly after it (keyset pagination: no offset to skip, and no duplicates or gaps when rows
// are added meanwhile). A listing is ordered by creation time, a search (q) by rank, so a cursor says which
// order it belongs to, and a search cursor carries a digest of its q: a cursor sent with another query is
// refused rather than silently continuing somewhere else.
import { createHash } from 'node:crypto'
import { errors } from './errors.ts'

export interface ListPosition { createdAt: Date, id: string }
export interface SearchPosition { rank: number, id: string }

interface Payload { o: 'n' | 'r', i: string, t?: string, r?: number, h?: string }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const BASE64URL = /^[A-Za-z0-9_-]+$/

export function encodeListCursor (p: ListPosition): string {
  return encode({ o: 'n', t: p.createdAt.toISOString(), i: p.id })
}

/** The rank is a Postgres real; JSON keeps the shortest decimal that reads back to the same real. */
export function encodeSearchCursor (q: string, p: SearchPosition): string {
  return encode({ o: 'r', r: p.rank, h: digest(q), i: p.id })
}

export function decodeListCursor (cursor: string): ListPosition {
  const p = decode(cursor)
  if (p.o !== 'n') throw errors.BAD_CURSOR('belongs to a search: send it with the same q')
  return { createdAt: new Date(p.t as string), id: p.i }
}

export function decodeSearchCursor (cursor: string, q: string): SearchPosition {
  const p = decode(cursor)
  if (p.o !== 'r') throw errors.BAD_CURSOR('belongs to a listing without q: send it without q')
  if (p.h !== digest(q)) throw errors.BAD_CURSOR('belongs to a search with another q: send it with the same q')
  return { rank: p.r as number, id: p.i }
}

function encode (p: Payload): string {
  return Buffer.from(JSON.stringify(p)).toString('base64url')
}

function decode (cursor: string): Payload {
  const p = parse(cursor)
  if (p === null) throw errors.BAD_CURSOR('is not one this API returned')
  return p
}

function parse (cursor: string): Payload | null {
  if (!BASE64URL.test(cursor)) return null
  let p: unknown
  try {
    p = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    return null
  }
  if (typeof p !== 'object' || p === null) return null
  const { o, i, t, r, h } = p as Record<string, unknown>
  if (typeof i !== 'string' || !UUID.test(i)) return null
  if (o === 'n' && typeof t === 'string' && isIsoInstant(t)) return { o, i, t }
  if (o === 'r' && typeof r === 'number' && Number.isFinite(r) && typeof h === 'string') return { o, i, r, h }
  return null
}

function isIsoInstant (t: string): boolean {
  const ms = Date.parse(t)
  return !Number.isNaN(ms) && new Date(ms).toISOString() === t
}

function digest (q: string): string {
  return createHash('sha256').update(q).digest('base64url').slice(0, 12)
}
