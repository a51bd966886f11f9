// The admin API over HTTP. Every failure becomes a CliError whose message says what went wrong and what
// to do, so no command has to look at a status code or a socket error.
import type {
  AdminErrorBody,
  EventsAnswer,
  ResumeAnswer,
  RollbackAnswer,
  RoutesAnswer,
  SetPercentAnswer,
  ShadowListAnswer,
  ShadowRouteAnswer
} from './admin-types.ts'
import { failure, type CliError } from './cli-error.ts'
import type { AdminSettings } from './settings.ts'
import { printable } from './text.ts'

export const DEFAULT_TIMEOUT_MS = 10_000

export interface AdminClientOptions extends AdminSettings {
  fetch: typeof fetch
  timeoutMs?: number
}

type Check = (body: Record<string, unknown>) => boolean

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable'
}

const hasRoutes: Check = (body) => Array.isArray(body.routes)
const hasEvents: Check = (body) => Array.isArray(body.events)
const hasShadowRoute: Check = (body) => typeof body.route === 'string' && Array.isArray(body.samples)
const hasFlag: Check = (body) => typeof body.flag === 'string' && typeof body.percent === 'number'

export class AdminClient {
  readonly url: string
  readonly #token: string | undefined
  readonly #actor: string
  readonly #fetch: typeof fetch
  readonly #timeoutMs: number

  constructor (opts: AdminClientOptions) {
    this.url = opts.url
    this.#token = opts.token
    this.#actor = opts.actor
    this.#fetch = opts.fetch
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  }

  routes (): Promise<RoutesAnswer> {
    return this.#call('GET', '/admin/routes', undefined, hasRoutes)
  }

  setPercent (flag: string, percent: number, reason: string): Promise<SetPercentAnswer> {
    return this.#call('PUT', `/admin/flags/${encodeURIComponent(flag)}`, { percent, reason }, hasFlag)
  }

  rollback (flag: string, reason: string): Promise<RollbackAnswer> {
    return this.#call('POST', `/admin/flags/${encodeURIComponent(flag)}/rollback`, { reason }, hasFlag)
  }

  pause (flag: string, reason: string): Promise<ResumeAnswer> {
    return this.#call('POST', `/admin/flags/${encodeURIComponent(flag)}/pause`, { reason }, hasFlag)
  }

  promote (flag: string, reason: string): Promise<ResumeAnswer> {
    return this.#call('POST', `/admin/flags/${encodeURIComponent(flag)}/promote`, { reason }, hasFlag)
  }

  resume (flag: string, reason: string): Promise<ResumeAnswer> {
    return this.#call('POST', `/admin/flags/${encodeURIComponent(flag)}/resume`, { reason }, hasFlag)
  }

  events (opts: { limit?: number | undefined, flag?: string | undefined } = {}): Promise<EventsAnswer> {
    const query = new URLSearchParams()
    if (opts.limit !== undefined) query.set('limit', String(opts.limit))
    if (opts.flag !== undefined) query.set('flag', opts.flag)
    const search = query.toString()
    return this.#call('GET', search === '' ? '/admin/events' : `/admin/events?${search}`, undefined, hasEvents)
  }

  shadowRoutes (): Promise<ShadowListAnswer> {
    return this.#call('GET', '/admin/shadow', undefined, hasRoutes)
  }

  shadowRoute (route: string): Promise<ShadowRouteAnswer> {
    return this.#call('GET', `/admin/shadow/${encodeURIComponent(route)}`, undefined, hasShadowRoute)
  }

  async #call<T> (method: string, path: string, body: object | undefined, check: Check): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      headers['x-switchyard-actor'] = this.#actor
    }

    let status: number
    let location: string | null
    let text: string
    try {
      const res = await this.#fetch(this.url + path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        // A redirect would carry the token to another address: report it instead of following it.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs)
      })
      status = res.status
      location = res.headers.get('location')
      text = await res.text()
    } catch (err) {
      throw this.#unreachable(err)
    }

    const json = parseObject(text)
    if (status >= 300 && status < 400) {
      throw failure(`The admin API at ${this.url} answered ${method} ${path} with a redirect (HTTP ${status})` +
        `${location === null ? '' : ` to ${printable(location)}`}. Set SWITCHYARD_ADMIN_URL to the address it should use.`)
    }
    if (status < 200 || status >= 300) throw this.#refused(method, path, status, json)
    if (json === undefined || !check(json)) {
      throw failure(`The admin API at ${this.url} answered ${method} ${path} with something that is not ` +
        'a Switchyard admin answer. Is SWITCHYARD_ADMIN_URL the address of the admin port?')
    }
    return json as T
  }

  #unreachable (err: unknown): CliError {
    const reason = isTimeout(err)
      ? `no answer within ${this.#timeoutMs / 1000} s`
      : networkReason(err)
    return failure(`Could not reach the admin API at ${this.url} (${reason}). Is the gateway running? ` +
      'Set SWITCHYARD_ADMIN_URL to its admin address.', err)
  }

  #refused (method: string, path: string, status: number, json: AdminErrorBody | undefined): CliError {
    const message = typeof json?.message === 'string' && json.message !== ''
      ? printable(json.message).replace(/\.+$/, '')
      : undefined
    if (status === 401) {
      const what = this.#token === undefined ? 'The admin API requires a token' : 'The admin API refused the token'
      return failure(`${what} (401)${message === undefined ? '' : `: ${message}`}. Set SWITCHYARD_ADMIN_TOKEN.`)
    }
    if (message === undefined) {
      return failure(`The admin API at ${this.url} answered ${method} ${path} with HTTP ${status} and no error ` +
        'message. Is SWITCHYARD_ADMIN_URL the address of the admin port?')
    }
    const code = typeof json?.code === 'string' ? `${printable(json.code)}, ` : ''
    return failure(`${message} (${code}HTTP ${status})`)
  }
}

function parseObject (text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : undefined
  } catch {
    return undefined
  }
}

function isTimeout (err: unknown): boolean {
  // AbortSignal.timeout rejects with a DOMException named TimeoutError, during the request or the body.
  return err instanceof Error && (err.name === 'TimeoutError' || (err.cause instanceof Error && err.cause.name === 'TimeoutError'))
}

/** fetch wraps socket errors as `TypeError: fetch failed` with the system error, or an AggregateError of them, as its cause. */
function networkReason (err: unknown): string {
  const code = findCode(err, 0)
  if (code !== undefined) return NETWORK_REASONS[code] ?? code
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err
  return cause instanceof Error ? printable(cause.message) : printable(cause)
}

function findCode (err: unknown, depth: number): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined
  const { code, cause, errors } = err as { code?: unknown, cause?: unknown, errors?: unknown }
  if (typeof code === 'string') return code
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = findCode(inner, depth + 1)
      if (found !== undefined) return found
    }
  }
  return findCode(cause, depth + 1)
}
