// What the HTTP path and the WebSocket path both need from one request: its target (version pin and
// path), its route, the decision, and the headers to send upstream.
import type { FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders } from 'node:http'
import { decide, type Decision } from '../routing/decide.ts'
import type { Route } from '../routing/route-table.ts'
import type { ResolvedTarget } from '../routing/versions.ts'
import type { Router } from '../routing/router.ts'
import { upstreamRequestHeaders } from './hop-by-hop.ts'

export interface Routed {
  readonly target: ResolvedTarget
  readonly route: Route
  readonly decision: Decision
}

/** Throws SY_ERR_UNKNOWN_VERSION for an Accept-Version no version declares. */
export function routeRequest (router: Router, request: FastifyRequest): Routed {
  const raw = request.raw
  const target = router.versions.resolve(raw.url ?? '/', raw.headers[router.versions.header])
  const route = router.table.match(raw.method ?? 'GET', target.path)
  const decision = decide(route, target.pin, router.states, router.flags, () => router.sticky.of(raw.headers, request.ip))
  return { target, route, decision }
}

export function forwardedHeaders (request: FastifyRequest): Record<string, string | string[]> {
  const raw = request.raw
  const headers = upstreamRequestHeaders(raw.headers)
  const xff = raw.headers['x-forwarded-for']
  const remote = raw.socket.remoteAddress ?? ''
  headers['x-forwarded-for'] = xff === undefined || xff === '' ? remote : `${xff}, ${remote}`
  headers['x-forwarded-proto'] = request.protocol
  headers['x-forwarded-host'] = request.host
  headers['x-request-id'] = request.id
  return headers
}

export function isSafe (method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD'
}

/** RFC 9112 §6.3: a request has a body when it declares a non-zero length or a transfer coding. */
export function hasBody (headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length']
  return length !== undefined ? length !== '0' : headers['transfer-encoding'] !== undefined
}
