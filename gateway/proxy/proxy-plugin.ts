// The client-facing HTTP path. Fastify matches everything to one route; the handler hijacks the reply and
// streams through an Exchange, so no body is parsed or buffered and Fastify's serializer is bypassed.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { METHODS } from 'node:http'
import { errors, isSwitchyardError } from '../errors.ts'
import type { Router } from '../routing/router.ts'
import { Exchange, sendError, type ProxyContext } from './exchange.ts'
import { forwardedHeaders, hasBody, isSafe, routeRequest } from './request-context.ts'

export interface ProxyPluginOptions {
  ctx: ProxyContext
  router: Router
}

export async function proxyPlugin (app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  const { ctx, router } = opts
  // Leave every body unread: the Exchange hands the raw request stream to undici.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null))

  function handler (request: FastifyRequest, reply: FastifyReply): void {
    reply.hijack()
    const req = request.raw
    const res = reply.raw
    let routed
    try {
      routed = routeRequest(router, request)
    } catch (err) {
      if (!isSwitchyardError(err)) throw err
      sendError(res, err, { 'x-request-id': request.id })
      return
    }
    const { target, route, decision } = routed
    ctx.metrics.decision(route.name, decision.backend, decision.reason)
    const headers = forwardedHeaders(request)
    const body = hasBody(req.headers)
    const tap = ctx.shadowing?.begin(route, decision, request, target.upstreamPath, headers, body) ?? null
    new Exchange(ctx, req, res, {
      route,
      backend: decision.backend,
      path: target.upstreamPath,
      headers,
      hasBody: body,
      requestId: request.id,
      // A request that asked for API v2 by name must not get a v1 answer, so version pins never fail over.
      // A body cannot be sent twice, so only bodiless safe requests do.
      failover: decision.backend === 'new' && decision.reason !== 'version' && route.failover && isSafe(req.method) && !body,
      tap
    }).start()
  }

  app.route({ method: app.supportedMethods, url: '/', handler })
  app.route({ method: app.supportedMethods, url: '/*', handler })
  // Only a target in origin form (RFC 9112 §3.2.1) reaches this: an absolute-form or asterisk target.
  app.setNotFoundHandler((request, reply) => {
    reply.hijack()
    sendError(reply.raw, errors.BAD_REQUEST_TARGET(`use a path starting with /, not ${JSON.stringify(request.raw.url?.slice(0, 100))}`), { 'x-request-id': request.id })
  })
}

/**
 * Fastify routes its common methods only; a gateway must pass on every method the backends may serve
 * (WebDAV, PURGE, ...). CONNECT never reaches a request handler in Node.
 */
export function acceptEveryMethod (app: FastifyInstance): void {
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true })
  }
}
