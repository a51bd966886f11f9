// One client request on its way through an upstream, and, for a safe request that new fails, on to
// legacy. It is undici's dispatch handler, so the response streams chunk by chunk with backpressure
// (pause when the client's socket is full, resume on 'drain') and nothing is buffered. Per the measured
// cost of stream.pipeline() on Node 20, no streams are created here, except for a shadowed request with a
// body, whose copy for the shadow is taken on the way to the primary.
import type { IncomingMessage, ServerResponse, OutgoingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { FastifyBaseLogger } from 'fastify'
import type { BackendId } from '../config/schema.ts'
import type { GatewayMetrics } from '../metrics/metrics.ts'
import type { TrafficWindow } from '../metrics/traffic-window.ts'
import type { Route } from '../routing/route-table.ts'
import { errors, type SwitchyardError } from '../errors.ts'
import { stripResponseHopByHop } from './hop-by-hop.ts'
import { clientErrorFor, upstreamErrorKind, type UpstreamErrorKind } from './upstream-error.ts'
import type { Upstream } from './upstream.ts'
import type { ResponseTap } from '../shadow/shadow-job.ts'
import type { Shadowing } from '../shadow/shadowing.ts'

/** What every exchange of one gateway shares. */
export interface ProxyContext {
  readonly upstreams: Readonly<Record<BackendId, Upstream>>
  readonly metrics: GatewayMetrics
  readonly traffic: TrafficWindow
  readonly log: FastifyBaseLogger
  /** Null when no route shadows. */
  readonly shadowing: Shadowing | null
  /** Set at shutdown: responses then carry Connection: close so clients move to another replica. */
  closing: boolean
  inflight: number
  /** Resolves waiters when inflight reaches zero. */
  onIdle: (() => void) | null
}

const FAILOVER = Object.freeze(Object.assign(new Error('failing over to legacy'), { code: 'SY_FAILOVER' }))
const CLIENT_GONE = Object.freeze(Object.assign(new Error('the client closed the connection'), { code: 'SY_CLIENT_GONE' }))
const CLIENT_CLOSED_REQUEST = 499 // nginx's code for a client that left before the answer

export class Exchange implements Dispatcher.DispatchHandler {
  readonly #ctx: ProxyContext
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  readonly #route: Route
  readonly #path: string
  readonly #headers: Record<string, string | string[]>
  readonly #requestId: string
  readonly #hasBody: boolean
  #tap: ResponseTap | null
  #backend: BackendId
  #failover: boolean
  #controller: Dispatcher.DispatchController | null = null
  #started = 0
  #status = 0
  #done = false
  #clientGone = false
  #drainHooked = false

  constructor (ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, opts: {
    route: Route
    backend: BackendId
    path: string
    headers: Record<string, string | string[]>
    hasBody: boolean
    requestId: string
    failover: boolean
    /** A shadow comparing this answer: told of the answer as it streams, never able to change it. */
    tap?: ResponseTap | null
  }) {
    this.#ctx = ctx
    this.#req = req
    this.#res = res
    this.#route = opts.route
    this.#backend = opts.backend
    this.#path = opts.path
    this.#headers = opts.headers
    this.#requestId = opts.requestId
    this.#hasBody = opts.hasBody
    this.#failover = opts.failover
    this.#tap = opts.tap ?? null
    ctx.inflight++
    res.once('close', () => {
      if (!this.#done) {
        this.#clientGone = true
        this.#controller?.abort(CLIENT_GONE)
      }
      if (--ctx.inflight === 0 && ctx.onIdle !== null) ctx.onIdle()
    })
  }

  start (): void {
    const upstream = this.#ctx.upstreams[this.#backend]
    this.#headers.host = upstream.host
    this.#started = performance.now()
    this.#status = 0
    const req = this.#req
    try {
      upstream.dispatcher.dispatch({
        path: upstream.basePath + this.#path,
        method: req.method as Dispatcher.HttpMethod,
        headers: this.#headers,
        body: this.#hasBody ? (this.#tap !== null ? Readable.from(teeBody(req, this.#tap), { objectMode: false }) : req) : null,
        headersTimeout: upstream.responseTimeout,
        bodyTimeout: upstream.idleTimeout
      }, this)
    } catch (err) {
      // undici refuses some targets synchronously (characters it will not put on the wire).
      this.#finishWithError(Object.assign(errors.BAD_REQUEST_TARGET((err as Error).message), { cause: err }), null)
    }
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#clientGone) controller.abort(CLIENT_GONE)
  }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number, headers: OutgoingHttpHeaders): void {
    this.#status = statusCode
    if (this.#failover && statusCode >= 500) {
      controller.abort(FAILOVER)
      return
    }
    stripResponseHopByHop(headers)
    this.#tap?.responseStart(statusCode, headers)
    headers['x-switchyard-backend'] = this.#backend
    if (headers['x-request-id'] === undefined) headers['x-request-id'] = this.#requestId
    if (this.#mustClose()) headers.connection = 'close'
    this.#res.writeHead(statusCode, headers)
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#tap?.responseData(chunk)
    if (!this.#res.write(chunk)) {
      controller.pause()
      if (!this.#drainHooked) {
        this.#drainHooked = true
        this.#res.on('drain', () => this.#controller?.resume())
      }
    }
  }

  onResponseEnd (): void {
    this.#done = true
    this.#res.end()
    this.#record(this.#status, null)
    this.#tap?.responseEnd()
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#tap?.abandon(err === FAILOVER ? 'failover' : this.#clientGone || err === CLIENT_GONE ? 'client_aborted' : 'primary_failed')
    this.#tap = null
    if (err === FAILOVER) {
      // new answered 5xx to a safe request: it counts as new's error, and legacy answers the client.
      this.#record(this.#status, null)
      this.#failOver()
      return
    }
    if (this.#clientGone || err === CLIENT_GONE) {
      this.#done = true
      this.#record(CLIENT_CLOSED_REQUEST, null)
      return
    }
    const kind = upstreamErrorKind(err)
    const clientError = clientErrorFor(kind, this.#backend, err)
    this.#ctx.log.warn({ err, route: this.#route.name, backend: this.#backend, kind, reqId: this.#requestId }, 'upstream request failed')
    if (this.#failover && !this.#res.headersSent) {
      this.#record(clientError.statusCode, kind)
      this.#failOver()
      return
    }
    this.#finishWithError(clientError, kind)
  }

  #failOver (): void {
    this.#failover = false
    this.#backend = 'legacy'
    this.#ctx.metrics.decision(this.#route.name, 'legacy', 'failover')
    this.start()
  }

  #finishWithError (error: SwitchyardError, kind: UpstreamErrorKind | null): void {
    this.#done = true
    this.#tap?.abandon('primary_failed')
    this.#tap = null
    const res = this.#res
    if (res.headersSent) {
      // The status line is gone: the only honest signal left is a cut connection.
      this.#record(this.#status, kind)
      res.destroy(error)
      return
    }
    this.#record(error.statusCode, kind)
    sendError(res, error, { 'x-switchyard-backend': this.#backend, 'x-request-id': this.#requestId, connection: this.#mustClose() ? 'close' : undefined })
  }

  // Close the client connection after this answer when the gateway is shutting down, or when the client's
  // body was not read to its end (the upstream answered early, or failed, mid-upload): the unread rest of
  // it would otherwise leave the client blocked on a keep-alive connection that nobody reads.
  #mustClose (): boolean {
    return this.#ctx.closing || !this.#req.complete
  }

  #record (code: number, kind: UpstreamErrorKind | null): void {
    const seconds = (performance.now() - this.#started) / 1000
    const route = this.#route.name
    this.#ctx.metrics.response(route, this.#backend, this.#req.method ?? 'GET', code, seconds)
    if (kind !== null) this.#ctx.metrics.upstreamError(route, this.#backend, kind)
    this.#ctx.traffic.record(route, this.#backend, code >= 500 && code !== CLIENT_CLOSED_REQUEST, seconds)
  }
}

export function sendError (res: ServerResponse, error: SwitchyardError, extra: OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify(error.toJSON())
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store'
  }
  for (const k in extra) if (extra[k] !== undefined) headers[k] = extra[k]
  res.writeHead(error.statusCode, headers)
  res.end(body)
}

// The request body as undici reads it, with each chunk also shown to the shadow: the primary keeps its
// backpressure, and the shadow sends its copy once the body has ended.
async function * teeBody (req: IncomingMessage, tap: ResponseTap): AsyncGenerator<Buffer> {
  for await (const chunk of req as AsyncIterable<Buffer>) {
    tap.requestData(chunk)
    yield chunk
  }
  tap.requestEnd()
}
