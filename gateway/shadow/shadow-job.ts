// One shadowed request. It copies the primary's answer as the client's exchange streams it (the tap), sends
// the same request to the other backend and, when the route learns noise, once more to the primary's, then
// hands the buffered answers over for comparison. It never touches the client's response: the exchange
// calls the tap and goes on, whatever the tap does. Every byte it holds is reserved from the shared
// budget and released when it ends, whichever way that is.
import type { BackendId } from '../config/schema.ts'
import type { ShadowDropReason } from '../metrics/metrics.ts'
import type { UpstreamErrorKind } from '../proxy/upstream-error.ts'
import type { ByteBudget } from './byte-budget.ts'
import type { FetchOutcome, ShadowRequest } from './shadow-fetch.ts'
import type { Answer } from './types.ts'

/** What the client's exchange tells a shadow about the primary's answer. */
export interface ResponseTap {
  /** The request body as the primary's upstream reads it (only for a shadowed request with a body). */
  requestData (chunk: Buffer): void
  requestEnd (): void
  responseStart (status: number, headers: Readonly<Record<string, unknown>>): void
  responseData (chunk: Buffer): void
  responseEnd (): void
  /** The primary's answer will not be whole: it failed, the client left, or it failed over. */
  abandon (reason: 'primary_failed' | 'client_aborted' | 'failover'): void
}

export type JobOutcome =
  | { kind: 'compare', primary: Answer, shadow: Answer, second: Answer | null }
  | { kind: 'dropped', reason: ShadowDropReason }
  | { kind: 'error', error: UpstreamErrorKind }

export interface JobOptions {
  primary: BackendId
  shadow: BackendId
  request: Omit<ShadowRequest, 'body'>
  /** The request has a body, which arrives through requestData before the shadow can be sent. */
  hasBody: boolean
  /** Also send the request to the primary's backend a second time, to learn noise. */
  learnNoise: boolean
  maxBytes: number
  budget: ByteBudget
  /** The outcome must not reject: every way a fetch can end is an outcome. */
  send: (backend: BackendId, request: ShadowRequest) => { outcome: Promise<FetchOutcome>, cancel: () => void }
  /** A bug: send rejected, or the outcome could not be handled. */
  failed: (err: unknown) => void
  /** Called exactly once; `release` gives the answers' bytes back to the budget once they are compared. */
  done: (outcome: JobOutcome, release: () => void) => void
  /**
   * Called exactly once, after done, when nothing of the job is left: its fetches have ended (a job that
   * ends early cancels them) and its bytes are back in the budget. Until then it holds its concurrency slot.
   */
  settled: () => void
}

export class ShadowJob implements ResponseTap {
  readonly #o: JobOptions
  #ended = false
  #requestChunks: Buffer[] | null = []
  #requestBytes = 0
  #status = 0
  #headers: Record<string, string | string[] | undefined> = {}
  #chunks: Buffer[] = []
  #bytes = 0
  #primary: Answer | null = null
  #fetched: [FetchOutcome, FetchOutcome | null] | null = null
  /** Bytes this job holds in the budget: its copies, then also what the fetches read once they end. */
  #held = 0
  #fetching = false
  #cancels: Array<() => void> = []
  #handedOver = false
  #settled = false

  constructor (opts: JobOptions) {
    this.#o = opts
    if (!opts.hasBody) this.#send(null)
  }

  requestData (chunk: Buffer): void {
    if (this.#ended || this.#requestChunks === null) return
    if (!this.#hold(chunk.length, this.#requestBytes)) return
    this.#requestChunks.push(Buffer.from(chunk))
    this.#requestBytes += chunk.length
  }

  requestEnd (): void {
    if (this.#ended || this.#requestChunks === null) return
    const body = Buffer.concat(this.#requestChunks, this.#requestBytes)
    this.#requestChunks = null
    this.#send(body)
  }

  responseStart (status: number, headers: Readonly<Record<string, unknown>>): void {
    this.#status = status
    this.#headers = { ...headers } as Record<string, string | string[] | undefined>
  }

  responseData (chunk: Buffer): void {
    if (this.#ended || !this.#hold(chunk.length, this.#bytes)) return
    // A copy: the chunk belongs to the client's response, which may still be writing it.
    this.#chunks.push(Buffer.from(chunk))
    this.#bytes += chunk.length
  }

  responseEnd (): void {
    if (this.#ended) return
    this.#primary = { status: this.#status, headers: this.#headers, body: Buffer.concat(this.#chunks, this.#bytes) }
    this.#chunks = []
    this.#settle()
  }

  abandon (reason: 'primary_failed' | 'client_aborted' | 'failover'): void {
    this.#end({ kind: 'dropped', reason })
  }

  #hold (bytes: number, sofar: number): boolean {
    if (sofar + bytes > this.#o.maxBytes) return this.#end({ kind: 'dropped', reason: 'too_large' })
    if (!this.#o.budget.tryReserve(bytes)) return this.#end({ kind: 'dropped', reason: 'buffer_budget' })
    this.#held += bytes
    return true
  }

  #send (body: Buffer | null): void {
    const request: ShadowRequest = { ...this.#o.request, body }
    const shadow = this.#o.send(this.#o.shadow, request)
    const second = this.#o.learnNoise ? this.#o.send(this.#o.primary, request) : null
    this.#fetching = true
    this.#cancels = [shadow.cancel, ...(second === null ? [] : [second.cancel])]
    // The fetches end on their own (a timeout bounds them), or when the job cancels them.
    Promise.all([shadow.outcome, second?.outcome ?? null]).then((fetched) => {
      this.#fetching = false
      this.#fetched = fetched
      this.#held += fetched[0].bytes + (fetched[1]?.bytes ?? 0)
      if (this.#ended) {
        this.#release()
        this.#maybeSettled()
      } else {
        this.#settle()
      }
    }, (err: unknown) => {
      this.#fetching = false
      this.#o.failed(err)
      this.#end({ kind: 'error', error: 'other' })
    })
  }

  #settle (): void {
    if (this.#ended || this.#primary === null || this.#fetched === null) return
    const [shadow, second] = this.#fetched
    if (!shadow.ok) {
      this.#end('drop' in shadow ? { kind: 'dropped', reason: shadow.drop } : { kind: 'error', error: shadow.error })
      return
    }
    // A failed second answer teaches nothing about noise; the comparison itself still stands.
    this.#end({ kind: 'compare', primary: this.#primary, shadow: shadow.answer, second: second?.ok === true ? second.answer : null })
  }

  /** Always false, so that #hold can return it. */
  #end (outcome: JobOutcome): false {
    if (this.#ended) return false
    this.#ended = true
    this.#chunks = []
    this.#requestChunks = null
    this.#primary = null
    if (outcome.kind === 'compare') {
      // The answers stay counted until the comparison is done with them.
      this.#o.done(outcome, () => {
        this.#handedOver = true
        this.#release()
        this.#maybeSettled()
      })
    } else {
      // Nobody will read what the fetches bring: stop them rather than let them run to their timeout.
      for (const cancel of this.#cancels) cancel()
      this.#handedOver = true
      this.#release()
      this.#o.done(outcome, () => {})
      this.#maybeSettled()
    }
    return false
  }

  // Gives back everything held so far; what running fetches read comes back when they end.
  #release (): void {
    this.#o.budget.release(this.#held)
    this.#held = 0
  }

  #maybeSettled (): void {
    if (this.#settled || !this.#ended || this.#fetching || !this.#handedOver) return
    this.#settled = true
    this.#o.settled()
  }
}
