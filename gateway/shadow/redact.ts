// Hides personal data and credentials in what the shadow comparison keeps for operators to read (samples
// in the admin API). Rules come from the route's `shadow.redact`: a bare key name hides that key at any
// depth, a JSON Pointer pattern (RFC 6901, '*' for any one segment) hides one place.
import { errors } from '../errors.ts'

export const REDACTED = '[redacted]'
/** Deeper values are replaced, so that no later JSON.stringify of a redacted value can overflow the stack. */
export const MAX_DEPTH = 256
const TOO_DEEP = '[redacted: nested too deeply]'

/** Always hidden, whatever the rules: they carry credentials on every route. */
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'set-cookie', 'proxy-authorization', 'x-api-key'])
/** Names that look like they hold a credential, in text, query strings and header names. */
const CREDENTIAL_NAME = /token|secret|passw(?:or)?d|^pwd$|api[-_]?key|session|signature|^sig$|^code$|^auth$|credential/i

// Every pattern starts where a run of its characters starts (the lookbehinds), so each one runs in time
// linear in the text: the text may be a whole answer body, and a backend can echo what a client sent.
const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g
// At least 8 characters, so that prose ("the bearer of") keeps its words.
const BEARER = /\b(Bearer)\s+[A-Za-z0-9\-._~+/]{8,}=*/gi
const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g
const NAME_VALUE = /(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]{1,64})=([^&\s"'<>;,]*)/g
const QUOTED_MEMBER = /"([A-Za-z0-9_.-]{1,64})"(\s*:\s*)("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*)/g

export type Headers = Readonly<Record<string, string | string[] | undefined>>

export interface Redactor {
  /**
   * A deep copy of a parsed JSON value with the values the rules match replaced by REDACTED. `at` is the
   * pointer the value sits at in its body (for a value taken out of a body, such as a difference's).
   */
  json (value: unknown, at?: string): unknown
  /**
   * For bodies that are not JSON. Hides: email addresses (local@domain.tld, the last label letters only, so
   * that `name@1.2.3` versions stay); `Bearer <token>` (8 characters or more); JWTs (eyJ….….…); the value
   * of `name=value` pairs (query strings, form bodies) and of `"name": value` members (JSON lines, JSON in
   * HTML) whose name is a rule's key or looks like a credential (token, secret, password, api key, session,
   * signature, sig, code, auth, credential).
   */
  text (body: string): string
  /**
   * A copy without undefined values. Hidden: the credential headers, and headers named by a key rule or
   * with a credential-like name (x-csrf-token); other values go through text().
   */
  headers (h: Headers): Record<string, string | string[]>
  /**
   * A request target through text(), with the query values of the rules' keys and credential-like names
   * hidden, and any query value that holds an email address or a token once percent-decoded.
   */
  path (target: string): string
}

/** The problems of a list of rules, one message each; empty when all are valid. */
export function checkRedactionRules (rules: readonly string[]): string[] {
  const problems: string[] = []
  rules.forEach((rule, i) => {
    if (rule === '') problems.push(`redact[${i}]: empty; write a key name such as email, or a pointer such as /user/email`)
    else if (rule.startsWith('/') && /~(?![01])/.test(rule)) {
      problems.push(`redact[${i}]: ${JSON.stringify(rule)} has a ~ not followed by 0 or 1; write ~0 for ~ and ~1 for / (RFC 6901)`)
    }
  })
  return problems
}

export function compileRedaction (rules: readonly string[]): Redactor {
  const problems = checkRedactionRules(rules)
  if (problems.length > 0) throw errors.CONFIG_INVALID(problems.join('; '))
  const keys = new Set<string>()
  const pointers: string[][] = []
  for (const rule of rules) {
    if (rule.startsWith('/')) pointers.push(parsePointer(rule))
    else keys.add(rule.toLowerCase())
  }
  return new Redaction(keys, pointers)
}

/** RFC 6901 §4: split on '/', then ~1 before ~0, so that '~01' stays the two characters '~1'. */
function parsePointer (pointer: string): string[] {
  return pointer.slice(1).split('/').map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
}

// A pointer rule being followed down a value: [rule index, segments matched so far].
type Progress = ReadonlyArray<readonly [number, number]>
const MATCHED = 'matched'

class Redaction implements Redactor {
  readonly #keys: ReadonlySet<string>
  readonly #pointers: readonly string[][]
  readonly #start: Progress

  constructor (keys: ReadonlySet<string>, pointers: readonly string[][]) {
    this.#keys = keys
    this.#pointers = pointers
    this.#start = pointers.map((_, i) => [i, 0] as const)
  }

  json (value: unknown, at = ''): unknown {
    if (at !== '' && !at.startsWith('/')) return REDACTED // not a place in a body: hide rather than guess
    let progress = this.#start
    for (const segment of at === '' ? [] : parsePointer(at)) {
      const next = this.#step(progress, segment, true)
      if (next === MATCHED) return REDACTED
      progress = next
    }
    return this.#walk(value, progress, 0)
  }

  text (body: string): string {
    return body
      .replace(EMAIL, REDACTED)
      .replace(BEARER, `$1 ${REDACTED}`)
      .replace(JWT, REDACTED)
      .replace(NAME_VALUE, (all, name: string) => this.#secretName(name) ? `${name}=${REDACTED}` : all)
      .replace(QUOTED_MEMBER, (all, name: string, colon: string) =>
        this.#secretName(name) ? `"${name}"${colon}"${REDACTED}"` : all)
  }

  headers (h: Headers): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {}
    for (const [name, value] of Object.entries(h)) {
      if (value === undefined) continue
      const hide = SECRET_HEADERS.has(name.toLowerCase()) || this.#secretName(name)
      const redact = (v: string): string => hide ? REDACTED : this.text(v)
      out[name] = Array.isArray(value) ? value.map(redact) : redact(value)
    }
    return out
  }

  path (target: string): string {
    const q = target.indexOf('?')
    const pathname = this.text(q < 0 ? target : target.slice(0, q))
    if (q < 0) return pathname
    const query = target.slice(q + 1).split('&').map((pair) => {
      const eq = pair.indexOf('=')
      const name = eq < 0 ? '' : pair.slice(0, eq)
      const value = decode(eq < 0 ? pair : pair.slice(eq + 1))
      if (this.#secretName(decode(name)) || this.text(value) !== value) return eq < 0 ? REDACTED : `${name}=${REDACTED}`
      return pair
    })
    return `${pathname}?${query.join('&')}`
  }

  #secretName (name: string): boolean {
    return this.#keys.has(name.toLowerCase()) || CREDENTIAL_NAME.test(name)
  }

  #walk (value: unknown, progress: Progress, depth: number): unknown {
    if (value === null || typeof value !== 'object') return value
    if (depth >= MAX_DEPTH) return TOO_DEEP
    if (Array.isArray(value)) return value.map((v, i) => this.#child(String(i), v, progress, depth, false))
    // fromEntries defines properties, so a "__proto__" key stays a key and does not become the prototype.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.#child(k, v, progress, depth, true)]))
  }

  #child (segment: string, value: unknown, progress: Progress, depth: number, isKey: boolean): unknown {
    const next = this.#step(progress, segment, isKey)
    return next === MATCHED ? REDACTED : this.#walk(value, next, depth + 1)
  }

  #step (progress: Progress, segment: string, isKey: boolean): Progress | typeof MATCHED {
    if (isKey && this.#keys.has(segment.toLowerCase())) return MATCHED
    if (progress.length === 0) return progress
    const next: Array<readonly [number, number]> = []
    for (const [rule, matched] of progress) {
      const want = this.#pointers[rule]![matched]
      if (want !== '*' && want !== segment) continue
      if (matched + 1 === this.#pointers[rule]!.length) return MATCHED
      next.push([rule, matched + 1])
    }
    return next
  }
}

/** Query components as a client meant them; a malformed escape is kept as sent rather than failing. */
function decode (component: string): string {
  try {
    return decodeURIComponent(component.replaceAll('+', ' '))
  } catch {
    return component
  }
}
