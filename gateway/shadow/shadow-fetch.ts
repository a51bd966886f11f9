// Sends one request to a backend for a comparison and buffers its answer, within a time limit, a size
// limit and the shared byte budget. Never rejects: every way it can end is an outcome the caller counts.
// It is undici's dispatch handler itself, as the client's exchange is: no stream, no AbortSignal per shadow
// (both cost more than the request on this path), one timer that bounds the whole exchange, body included.
import type { Dispatcher } from 'undici'
import type { Upstream } from '../proxy/upstream.ts'
import { upstreamErrorKind, type UpstreamErrorKind } from '../proxy/upstream-error.ts'
import type { ByteBudget } from './byte-budget.ts'
import type { Answer } from './types.ts'

export interface ShadowRequest {
  method: string
  /** The path as forwarded, without the backend's base path. */
  path: string
  headers: Record<string, string | string[]>
  body: Buffer | null
}

export type FetchDrop = 'too_large' | 'buffer_budget' | 'shutdown'

export type FetchOutcome =
  | { ok: true, answer: Answer, bytes: number, seconds: number }
  | { ok: false, drop: FetchDrop, bytes: number }
  | { ok: false, error: UpstreamErrorKind, bytes: number }

export interface FetchLimits {
  timeoutMs: number
  maxBytes: number
  budget: ByteBudget
}

export const SHADOW_HEADER = 'x-switchyard-shadow'

/** The fetches in flight, so that a shutdown can end them all at once. */
export class FetchRegistry {
  readonly #live = new Set<ShadowFetch>()
  #closed = false

  get closed (): boolean {
    return this.#closed
  }

  /** `cancel` ends the fetch at once (its outcome is then a drop), for a shadow that no longer needs it. */
  fetch (dispatcher: Dispatcher, upstream: Upstream, req: ShadowRequest, limits: FetchLimits): { outcome: Promise<FetchOutcome>, cancel: () => void } {
    if (this.#closed) return { outcome: Promise.resolve({ ok: false, drop: 'shutdown', bytes: 0 }), cancel: () => {} }
    let f: ShadowFetch | undefined
    const outcome = new Promise<FetchOutcome>((resolve) => {
      f = new ShadowFetch(limits, (o) => {
        this.#live.delete(f!)
        resolve(o)
      })
      this.#live.add(f)
      f.start(dispatcher, upstream, req)
    })
    return { outcome, cancel: () => f?.abort('shutdown') }
  }

  close (): void {
    this.#closed = true
    for (const f of this.#live) f.abort('shutdown')
  }
}

class ShadowFetch implements Dispatcher.DispatchHandler {
  readonly #limits: FetchLimits
  readonly #done: (outcome: FetchOutcome) => void
  readonly #started = performance.now()
  #controller: Dispatcher.DispatchController | null = null
  #timer: NodeJS.Timeout | null = null
  #status = 0
  #headers: Record<string, string | string[] | undefined> = {}
  #chunks: Buffer[] = []
  #bytes = 0
  #outcome: FetchOutcome | null = null

  constructor (limits: FetchLimits, done: (outcome: FetchOutcome) => void) {
    this.#limits = limits
    this.#done = done
  }

  start (dispatcher: Dispatcher, upstream: Upstream, req: ShadowRequest): void {
    const headers: Record<string, string | string[]> = { ...req.headers, host: upstream.host, [SHADOW_HEADER]: '1' }
    delete headers['transfer-encoding']
    if (req.body !== null) headers['content-length'] = String(req.body.length)
    this.#timer = setTimeout(() => this.#end({ ok: false, error: 'timeout', bytes: this.#bytes }), this.#limits.timeoutMs)
    this.#timer.unref()
    try {
      dispatcher.dispatch({
        path: upstream.basePath + req.path,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: req.body,
        headersTimeout: this.#limits.timeoutMs,
        bodyTimeout: this.#limits.timeoutMs
      }, this)
    } catch (err) {
      this.#end({ ok: false, error: upstreamErrorKind(err), bytes: 0 })
    }
  }

  abort (drop: FetchDrop): void {
    this.#end({ ok: false, drop, bytes: this.#bytes })
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#outcome !== null) controller.abort(new Error('shadow ended'))
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.#status = statusCode
    this.#headers = headers
    const declared = Number(headers['content-length'])
    if (Number.isFinite(declared) && declared > this.#limits.maxBytes) this.#end({ ok: false, drop: 'too_large', bytes: 0 })
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#outcome !== null) return
    if (this.#bytes + chunk.length > this.#limits.maxBytes) {
      this.#end({ ok: false, drop: 'too_large', bytes: this.#bytes })
      return
    }
    if (!this.#limits.budget.tryReserve(chunk.length)) {
      this.#end({ ok: false, drop: 'buffer_budget', bytes: this.#bytes })
      return
    }
    this.#bytes += chunk.length
    this.#chunks.push(chunk)
  }

  onResponseEnd (): void {
    const answer: Answer = { status: this.#status, headers: this.#headers, body: Buffer.concat(this.#chunks, this.#bytes) }
    this.#end({ ok: true, answer, bytes: this.#bytes, seconds: (performance.now() - this.#started) / 1000 })
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#end({ ok: false, error: upstreamErrorKind(err), bytes: this.#bytes })
  }

  // The first ending wins; a later one (undici's own error after an abort) changes nothing. Whatever is
  // still open is aborted, so that no socket waits on an answer nobody reads.
  #end (outcome: FetchOutcome): void {
    if (this.#outcome !== null) return
    this.#outcome = outcome
    if (this.#timer !== null) clearTimeout(this.#timer)
    if (!outcome.ok) {
      this.#chunks = []
      this.#controller?.abort(new Error('shadow ended'))
    }
    this.#done(outcome)
  }
}
