// The Unleash Admin API, for the one write the gateway makes: a flag's rollout percentage, which is the
// `rollout` parameter of its flexibleRollout strategy in one environment. The strategy is read and written
// back whole, so its stickiness, groupId, constraints, segments and variants stay as they were. Every call
// has a deadline: a hung Unleash server makes the write fail, never the caller wait.
import { Agent, request, type Dispatcher } from 'undici'
import { errors, type SwitchyardError } from '../errors.ts'

export const DEFAULT_TIMEOUT_MS = 3_000

export interface UnleashAdminOptions {
  /** UNLEASH_URL, the client API's base (http://unleash:4242/api); the Admin API is its /admin. */
  url: string
  token: string
  environment: string
  timeoutMs?: number
  /** Where the calls go; an Agent of its own (closed by close()) when left out. */
  dispatcher?: Dispatcher
}

export interface RolloutWritten {
  project: string
  strategyId: string
  percent: number
  /** Whether the flag is on in the environment after the write: a percentage above 0 turns it on. */
  enabled: boolean
}

interface AdminStrategy {
  id: string
  name: string
  title?: string | null
  disabled?: boolean | null
  sortOrder?: number
  constraints?: unknown[]
  variants?: unknown[]
  segments?: number[]
  parameters?: Record<string, string>
}

interface AdminFeature {
  name: string
  project: string
  environments?: Array<{ name: string, enabled: boolean, strategies?: AdminStrategy[] }>
}

interface Answer { status: number, body: unknown }

export class UnleashAdmin {
  readonly url: string
  readonly environment: string
  readonly #base: string
  readonly #token: string
  readonly #timeoutMs: number
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean
  /** The project each flag was last found in: a flag rarely moves, and finding it may take a call per project. */
  readonly #projects = new Map<string, string>()

  constructor (opts: UnleashAdminOptions) {
    this.url = opts.url
    this.environment = opts.environment
    this.#base = `${opts.url.replace(/\/+$/, '')}/admin`
    this.#token = opts.token
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.#ownsDispatcher = opts.dispatcher === undefined
    this.#dispatcher = opts.dispatcher ?? new Agent({ connections: 4, connect: { timeout: this.#timeoutMs } })
  }

  /**
   * Sets the flag's flexibleRollout to `percent` in the environment, and turns the flag on there when the
   * percentage is above 0 and it was off (0 % leaves it as it is). `project` is where to look first;
   * `ifUnreachable` ends the message of an SY_ERR_UNLEASH_UNAVAILABLE error (what the caller does next).
   */
  async setRollout (flag: string, percent: number, opts: { project?: string, ifUnreachable?: string } = {}): Promise<RolloutWritten> {
    const then = opts.ifUnreachable ?? 'the gateway kept the percentage it had; try again once the server is back'
    const feature = await this.#feature(flag, opts.project, then)
    const env = (feature.environments ?? []).find((e) => e.name === this.environment)
    if (env === undefined) {
      throw errors.UNLEASH_ENVIRONMENT_NOT_FOUND(flag, feature.project, this.environment, (feature.environments ?? []).map((e) => e.name))
    }
    const rollouts = (env.strategies ?? [])
      .filter((s) => s.name === 'flexibleRollout' && s.disabled !== true)
      .sort((a, b) => (a.sortOrder ?? 0) - (b.sortOrder ?? 0))
    if (rollouts.length !== 1) throw errors.UNLEASH_NO_ROLLOUT(flag, feature.project, this.environment, rollouts.length)
    const strategy = rollouts[0]!
    const path = `/projects/${enc(feature.project)}/features/${enc(flag)}/environments/${enc(this.environment)}`
    const put = await this.#call('PUT', `${path}/strategies/${enc(strategy.id)}`, then, {
      name: strategy.name,
      title: strategy.title ?? null,
      disabled: strategy.disabled ?? false,
      sortOrder: strategy.sortOrder,
      constraints: strategy.constraints ?? [],
      variants: strategy.variants ?? [],
      segments: strategy.segments ?? [],
      parameters: { ...strategy.parameters, rollout: String(percent) }
    })
    if (put.status !== 200) throw this.#refused(`update the strategy of ${flag}`, put)
    let enabled = env.enabled
    if (percent > 0 && !enabled) {
      const on = await this.#call('POST', `${path}/on`, then)
      if (on.status !== 200) throw this.#refused(`turn ${flag} on in ${this.environment} (its percentage is now ${percent})`, on)
      enabled = true
    }
    return { project: feature.project, strategyId: strategy.id, percent, enabled }
  }

  async close (): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close()
  }

  /** The flag as the Admin API shows it, from the first project that has it. */
  async #feature (flag: string, hint: string | undefined, then: string): Promise<AdminFeature> {
    const tried = new Set<string>()
    const lookIn = async (project: string | undefined): Promise<AdminFeature | null> => {
      if (project === undefined || tried.has(project)) return null
      tried.add(project)
      const a = await this.#call('GET', `/projects/${enc(project)}/features/${enc(flag)}`, then)
      if (a.status === 404) return null
      if (a.status !== 200) throw this.#refused(`read ${flag}`, a)
      this.#projects.set(flag, project)
      return { ...(a.body as AdminFeature), project }
    }
    const known = (await lookIn(this.#projects.get(flag))) ?? (await lookIn(hint))
    if (known !== null) return known
    const list = await this.#call('GET', '/projects', then)
    if (list.status !== 200) throw this.#refused('list its projects', list)
    const projects = ((list.body as { projects?: Array<{ id: string }> }).projects ?? []).map((p) => p.id)
    for (const project of projects) {
      const found = await lookIn(project)
      if (found !== null) return found
    }
    this.#projects.delete(flag)
    throw errors.UNLEASH_FLAG_NOT_FOUND(flag, this.url, projects)
  }

  /**
   * One call. What no caller can do anything about becomes an error here: no answer in time, a refused
   * token, a server error. Every other answer is returned for the caller to read.
   */
  async #call (method: Dispatcher.HttpMethod, path: string, then: string, body?: unknown): Promise<Answer> {
    const signal = AbortSignal.timeout(this.#timeoutMs)
    let status: number
    let text: string
    try {
      const res = await request(`${this.#base}${path}`, {
        method,
        dispatcher: this.#dispatcher,
        signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        headers: {
          authorization: this.#token,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {})
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {})
      })
      status = res.statusCode
      text = await res.body.text()
    } catch (err) {
      const why = signal.aborted ? `no answer within ${this.#timeoutMs} ms` : describe(err)
      throw Object.assign(errors.UNLEASH_UNAVAILABLE(this.url, why, then), { cause: err })
    }
    const parsed = parseJson(text)
    if (status === 401 || status === 403) {
      const fix = status === 401
        ? 'set UNLEASH_ADMIN_TOKEN to an admin API token of that server (or a personal access token)'
        : 'UNLEASH_ADMIN_TOKEN must be an admin token (not a client or frontend one) allowed to update strategies in the flag\'s project'
      throw errors.UNLEASH_TOKEN_REJECTED(this.url, status, message(parsed), fix)
    }
    if (status >= 500 || status === 429) {
      throw errors.UNLEASH_UNAVAILABLE(this.url, `${status}: ${message(parsed)}`, then)
    }
    return { status, body: parsed }
  }

  #refused (what: string, a: Answer): SwitchyardError {
    return errors.UNLEASH_REFUSED(this.url, what, a.status, message(a.body))
  }
}

/** Whether a write failed because the server could not be reached or answered with a server error. */
export function isUnreachable (err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === errors.UNLEASH_UNAVAILABLE.code
}

/** Whether an error says the Unleash server itself is unusable to the gateway, rather than the flag being wrong. */
export function isDependencyFailure (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return code === errors.UNLEASH_UNAVAILABLE.code || code === errors.UNLEASH_TOKEN_REJECTED.code
}

function enc (segment: string): string {
  return encodeURIComponent(segment)
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Unleash's own sentence for an error answer ({ message } or { details: [{ message }] }), cut short. */
function message (body: unknown): string {
  const b = body as { message?: unknown, details?: Array<{ message?: unknown }> } | null
  const said = typeof body === 'string'
    ? body
    : typeof b?.message === 'string' ? b.message : typeof b?.details?.[0]?.message === 'string' ? b.details[0].message : JSON.stringify(body)
  return (said.trim() || 'no message').slice(0, 300)
}

function describe (err: unknown): string {
  const e = err as { code?: unknown, message?: unknown, cause?: { code?: unknown, message?: unknown } }
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : null
  const text = typeof e?.message === 'string' ? e.message : String(err)
  return code !== null && !text.includes(code) ? `${code}: ${text}` : text
}
