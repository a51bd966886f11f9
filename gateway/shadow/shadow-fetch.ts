// Sends one request to a backend for a comparison and buffers its answer, within a time limit, a size
// limit and the shared byte budget. Never throws: every way it can end is an outcome the caller counts.
// The body is always read to its end or destroyed, so no socket is left waiting on an unread answer.
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

export type FetchOutcome =
  | { ok: true, answer: Answer, bytes: number, seconds: number }
  | { ok: false, drop: 'too_large' | 'buffer_budget' | 'shutdown', bytes: number }
  | { ok: false, error: UpstreamErrorKind, bytes: number }

export interface FetchLimits {
  timeoutMs: number
  maxBytes: number
  budget: ByteBudget
  /** Aborted when the gateway shuts down. */
  signal: AbortSignal
}

export const SHADOW_HEADER = 'x-switchyard-shadow'

export async function fetchAnswer (dispatcher: Dispatcher, upstream: Upstream, req: ShadowRequest, limits: FetchLimits): Promise<FetchOutcome> {
  const headers: Record<string, string | string[]> = { ...req.headers, host: upstream.host, [SHADOW_HEADER]: '1' }
  delete headers['transfer-encoding']
  if (req.body !== null) headers['content-length'] = String(req.body.length)
  const started = performance.now()
  let bytes = 0
  const signal = AbortSignal.any([limits.signal, AbortSignal.timeout(limits.timeoutMs)])
  try {
    const res = await dispatcher.request({
      path: upstream.basePath + req.path,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: req.body,
      signal,
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs
    })
    const declared = Number(res.headers['content-length'])
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      res.body.destroy()
      return { ok: false, drop: 'too_large', bytes }
    }
    const chunks: Buffer[] = []
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (bytes + chunk.length > limits.maxBytes || !limits.budget.tryReserve(chunk.length)) {
        const drop = bytes + chunk.length > limits.maxBytes ? 'too_large' : 'buffer_budget'
        res.body.destroy()
        return { ok: false, drop, bytes }
      }
      bytes += chunk.length
      chunks.push(chunk)
    }
    const answer: Answer = { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks, bytes) }
    return { ok: true, answer, bytes, seconds: (performance.now() - started) / 1000 }
  } catch (err) {
    if (limits.signal.aborted) return { ok: false, drop: 'shutdown', bytes }
    // AbortSignal.timeout aborts with a TimeoutError DOMException, which carries no undici code.
    const kind = (err as { name?: string }).name === 'TimeoutError' || signal.aborted ? 'timeout' : upstreamErrorKind(err)
    return { ok: false, error: kind, bytes }
  }
}
