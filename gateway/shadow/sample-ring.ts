// The latest mismatches of a route, kept for an operator to read in the admin API: redacted, cut to size,
// and under a hard memory budget, since a sample holds two answer bodies and mismatches can come at request
// rate. A sample identifies its request by the request id only: no user id, no sticky key, no client address.
import { isUtf8 } from 'node:buffer'
import type { BackendId } from '../config/schema.ts'
import type { Redactor } from './redact.ts'
import type { Answer, Difference } from './types.ts'

export const DEFAULT_SAMPLE_CAPACITY = 20
export const DEFAULT_SAMPLE_BODY_BYTES = 16 * 1024
export const DEFAULT_SAMPLE_TOTAL_BYTES = 1024 * 1024
/** Differences and noise fields kept per sample; the rest are only counted. */
export const SAMPLE_LIST_LIMIT = 20
/** A difference's value (a whole subtree, possibly) is cut at this many bytes of JSON. */
export const DIFFERENCE_VALUE_BYTES = 512

export interface SampleRequest { method: string, path: string, requestId: string }
export type SampleAnswerInput = Answer & { backend: BackendId }
export interface SampleInput { request: SampleRequest, primary: SampleAnswerInput, shadow: SampleAnswerInput }

export interface SampleAnswer {
  backend: BackendId
  status: number
  headers: Record<string, string | string[]>
  /** The parsed JSON when the body was JSON and fits; otherwise text (JSON text too, when cut). */
  body: unknown
  bodyFormat: 'json' | 'text' | 'binary'
  /** Bytes of the redacted body not kept (0 when whole). */
  bodyCutBytes: number
}

export interface Sample {
  time: string
  request: SampleRequest
  primary: SampleAnswer
  shadow: SampleAnswer
  differences: Difference[]
  differencesOmitted: number
  noise: string[]
  noiseOmitted: number
}

export interface SampleRingOptions {
  capacity?: number
  bodyBytes?: number
  totalBytes?: number
  redactor: Redactor
  now?: () => number
}

export class SampleRing {
  readonly capacity: number
  readonly bodyBytes: number
  readonly totalBytes: number
  readonly #redactor: Redactor
  readonly #now: () => number
  readonly #entries: Array<{ sample: Sample, bytes: number }> = []
  #bytes = 0
  #oversize = 0

  constructor (opts: SampleRingOptions) {
    this.capacity = opts.capacity ?? DEFAULT_SAMPLE_CAPACITY
    this.totalBytes = opts.totalBytes ?? DEFAULT_SAMPLE_TOTAL_BYTES
    // Two bodies may take at most half the budget, so that one sample always leaves room for another.
    this.bodyBytes = Math.min(opts.bodyBytes ?? DEFAULT_SAMPLE_BODY_BYTES, Math.floor(this.totalBytes / 4))
    for (const [name, value, min] of [['capacity', this.capacity, 0], ['totalBytes', this.totalBytes, 1024], ['bodyBytes', this.bodyBytes, 64]] as const) {
      if (!Number.isInteger(value) || value < min) throw new RangeError(`samples.${name} must be an integer of ${min} or more, not ${value}`)
    }
    this.#redactor = opts.redactor
    this.#now = opts.now ?? Date.now
  }

  /**
   * Keeps a sample of one mismatch, evicting the oldest ones until the ring is within its capacity and byte
   * budget. Returns false when nothing was kept: a capacity of 0, or a sample larger than the whole budget.
   */
  add (input: SampleInput, differences: readonly Difference[], noise: readonly string[]): boolean {
    if (this.capacity === 0) return false
    const noiseFields = [...new Set(noise)]
    const sample: Sample = {
      time: new Date(this.#now()).toISOString(),
      request: { method: input.request.method, path: this.#redactor.path(input.request.path), requestId: input.request.requestId },
      primary: this.#answer(input.primary),
      shadow: this.#answer(input.shadow),
      differences: differences.slice(0, SAMPLE_LIST_LIMIT).map((d) => this.#difference(d)),
      differencesOmitted: Math.max(0, differences.length - SAMPLE_LIST_LIMIT),
      noise: noiseFields.slice(0, SAMPLE_LIST_LIMIT),
      noiseOmitted: Math.max(0, noiseFields.length - SAMPLE_LIST_LIMIT)
    }
    const bytes = Buffer.byteLength(JSON.stringify(sample))
    if (bytes > this.totalBytes) {
      this.#oversize++
      return false
    }
    this.#entries.push({ sample, bytes })
    this.#bytes += bytes
    while (this.#entries.length > this.capacity || this.#bytes > this.totalBytes) this.#bytes -= this.#entries.shift()!.bytes
    return true
  }

  /** Newest first. */
  list (): Sample[] {
    return this.#entries.map((e) => e.sample).reverse()
  }

  get length (): number {
    return this.#entries.length
  }

  /** The sum of the samples' sizes as measured when they were added: never above totalBytes. */
  get bytes (): number {
    return this.#bytes
  }

  /** Samples not kept because alone they were larger than totalBytes. */
  get oversize (): number {
    return this.#oversize
  }

  #answer (a: SampleAnswerInput): SampleAnswer {
    const base = { backend: a.backend, status: a.status, headers: this.#redactor.headers(a.headers) }
    if (!isUtf8(a.body)) return { ...base, body: `[${a.body.length} bytes of binary data]`, bodyFormat: 'binary', bodyCutBytes: a.body.length }
    const text = a.body.toString('utf8')
    // Parsed whatever the content-type says: hiding by key is stronger than the text patterns.
    const json = parseJson(text)
    if (json !== NOT_JSON) {
      const redacted = this.#redactor.json(json.value)
      const serialised = JSON.stringify(redacted)
      if (Buffer.byteLength(serialised) <= this.bodyBytes) return { ...base, body: redacted, bodyFormat: 'json', bodyCutBytes: 0 }
      const cut = truncate(serialised, this.bodyBytes)
      return { ...base, body: cut.text, bodyFormat: 'text', bodyCutBytes: cut.cut }
    }
    // Redacted before it is cut, so that an email or a token across the cut cannot survive in part.
    const cut = truncate(this.#redactor.text(text), this.bodyBytes)
    return { ...base, body: cut.text, bodyFormat: 'text', bodyCutBytes: cut.cut }
  }

  #difference (d: Difference): Difference {
    const out: Difference = { path: d.path, field: d.field, kind: d.kind }
    if ('primary' in d) out.primary = this.#value(d, d.primary)
    if ('shadow' in d) out.shadow = this.#value(d, d.shadow)
    return out
  }

  #value (d: Difference, value: unknown): unknown {
    let redacted = value
    if (d.path.startsWith('header:')) {
      const name = d.path.slice('header:'.length)
      if (typeof value === 'string' || Array.isArray(value)) redacted = this.#redactor.headers({ [name]: value as string | string[] })[name]
    } else if (d.path !== 'status' && d.kind !== 'body') {
      redacted = this.#redactor.json(value, d.path)
    }
    const serialised = JSON.stringify(redacted) as string | undefined
    if (serialised === undefined || Buffer.byteLength(serialised) <= DIFFERENCE_VALUE_BYTES) return redacted
    return truncate(serialised, DIFFERENCE_VALUE_BYTES).text
  }
}

const NOT_JSON = Symbol('not JSON')

function parseJson (text: string): { value: unknown } | typeof NOT_JSON {
  try {
    return { value: JSON.parse(text) }
  } catch {
    return NOT_JSON // a SyntaxError is the answer to "is this JSON?", not a failure
  }
}

/** Cuts text to at most `max` UTF-8 bytes, marker included, at a character boundary. */
export function truncate (text: string, max: number): { text: string, cut: number } {
  const buf = Buffer.from(text, 'utf8')
  if (buf.length <= max) return { text, cut: 0 }
  const marker = (cut: number): string => `…[${cut} bytes cut]`
  // The marker's length is reserved for the largest possible count, so the real one always fits.
  let end = Math.max(0, max - Buffer.byteLength(marker(buf.length)))
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end-- // a continuation byte: the character started earlier
  const cut = buf.length - end
  return { text: buf.subarray(0, end).toString('utf8') + marker(cut), cut }
}
