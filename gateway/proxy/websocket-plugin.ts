// WebSocket upgrades, routed by the same decision as HTTP (version, override, flag on the sticky key) and
// proxied by @fastify/http-proxy for the life of the connection. A decision is taken once per connection,
// so a rollback leaves open connections alone and new connections follow it.
//
// The proxy's route carries the `websocket` constraint, derived only for genuine upgrade requests
// (IncomingMessage.upgrade), so ordinary HTTP never reaches it and keeps the streaming path.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import httpProxy from '@fastify/http-proxy'
import type { IncomingMessage } from 'node:http'
import { isSwitchyardError } from '../errors.ts'
import type { Router } from '../routing/router.ts'
import type { ProxyContext } from './exchange.ts'
import { forwardedHeaders, routeRequest } from './request-context.ts'

const kBaseUrl = Symbol('switchyard.ws.baseUrl')
const kBackend = Symbol('switchyard.ws.backend')
const kHeadersHooked = Symbol('switchyard.ws.headersHooked')

type TaggedRequest = IncomingMessage & { [kBaseUrl]?: string, [kBackend]?: string }

// Fields the upstream WebSocket client sets for its own handshake.
const HANDSHAKE_FIELDS = ['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol']

export const websocketConstraint = {
  name: 'websocket',
  storage () {
    const stores = new Map<string, unknown>()
    return {
      get: (value: string) => stores.get(value) ?? null,
      set: (value: string, store: unknown) => { stores.set(value, store) }
    }
  },
  deriveConstraint (req: IncomingMessage): string | undefined {
    const up = req.headers.upgrade
    return (req as IncomingMessage & { upgrade?: boolean }).upgrade === true && up !== undefined && up.toLowerCase() === 'websocket' ? 'yes' : undefined
  },
  mustMatchWhenDerived: false,
  validate (value: unknown): void {
    if (value !== 'yes') throw new Error('the websocket constraint takes the value "yes"')
  }
}

export interface WebSocketPluginOptions {
  ctx: ProxyContext
  router: Router
  handshakeTimeoutMs: number
}

export async function websocketPlugin (app: FastifyInstance, opts: WebSocketPluginOptions): Promise<void> {
  const { ctx, router } = opts

  async function preHandler (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    let routed
    try {
      routed = routeRequest(router, request)
    } catch (err) {
      if (!isSwitchyardError(err)) throw err
      return reply.code(err.statusCode).header('x-request-id', request.id).send(err.toJSON())
    }
    const { target, route, decision } = routed
    ctx.metrics.decision(route.name, decision.backend, decision.reason)
    const upstream = ctx.upstreams[decision.backend]
    const raw = request.raw as TaggedRequest
    raw[kBaseUrl] = upstream.origin
    raw[kBackend] = decision.backend
    // The proxy forwards request.url (which reads raw.url): the stripped path under the backend's base path.
    raw.url = upstream.basePath + target.upstreamPath
    hookHandshakeHeaders(reply)
  }

  await app.register(httpProxy, {
    upstream: '',
    websocket: true,
    httpMethods: ['GET'],
    constraints: { websocket: 'yes' },
    preHandler,
    replyOptions: {
      getUpstream: (request: FastifyRequest) => (request.raw as TaggedRequest)[kBaseUrl] ?? ''
    },
    wsClientOptions: {
      handshakeTimeout: opts.handshakeTimeoutMs,
      rewriteRequestHeaders: (_headers: Record<string, unknown>, request: FastifyRequest) => {
        const headers = forwardedHeaders(request)
        for (const f of HANDSHAKE_FIELDS) delete headers[f]
        return headers
      }
    }
  } as never)
}

// The 101 answer carries x-switchyard-backend like every other response. The ws server lives inside the
// proxy plugin; its 'headers' event is the documented place to add handshake response fields.
function hookHandshakeHeaders (reply: FastifyReply): void {
  const wss = (reply as unknown as { wsProxy?: { wss?: { on: (e: string, f: (h: string[], r: TaggedRequest) => void) => void } & Record<symbol, boolean> } }).wsProxy?.wss
  if (wss === undefined || wss[kHeadersHooked] === true) return
  wss[kHeadersHooked] = true
  wss.on('headers', (headers, req) => {
    const backend = req[kBackend]
    if (backend !== undefined) headers.push(`x-switchyard-backend: ${backend}`)
  })
}
