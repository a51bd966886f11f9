// RFC 9110 §7.6.1: a proxy removes the Connection header, every field it names, and the fields that are
// hop-by-hop by definition, in both directions. `expect` is answered by the gateway's own server (Node
// sends 100 Continue), and `host` and the x-forwarded-* fields are rewritten, so they are dropped here and
// set again by the caller.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization'
])
const REWRITTEN_UPSTREAM = new Set(['host', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'content-length'])

function connectionTokens (value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null
  const v = Array.isArray(value) ? value.join(',') : value
  // The common values name no other field: skip the split on the hot path.
  if (v === 'keep-alive' || v === 'close' || v === 'Keep-Alive' || v === 'Close') return null
  const tokens = new Set(v.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''))
  tokens.delete('close')
  tokens.delete('keep-alive')
  return tokens.size === 0 ? null : tokens
}

/** The end-to-end request fields, ready for undici; the caller adds host and the x-forwarded-* fields. */
export function upstreamRequestHeaders (headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = connectionTokens(headers.connection)
  const out: Record<string, string | string[]> = {}
  for (const key in headers) {
    if (HOP_BY_HOP.has(key) || REWRITTEN_UPSTREAM.has(key) || (named !== null && named.has(key))) continue
    const v = headers[key]
    if (v !== undefined) out[key] = v
  }
  // Keep the client's framing: undici sets content-length itself from a known length, so only a declared
  // length is passed on (a chunked request stays chunked).
  if (headers['content-length'] !== undefined && headers['transfer-encoding'] === undefined) {
    out['content-length'] = headers['content-length']
  }
  return out
}

/** Strips the hop-by-hop fields of an upstream response in place, for the client. */
export function stripResponseHopByHop (headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionTokens(headers.connection as string | string[] | undefined)
  for (const key of HOP_BY_HOP) delete headers[key]
  if (named !== null) for (const key of named) delete headers[key]
  return headers
}
