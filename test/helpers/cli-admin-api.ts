// A real HTTP server on port 0 that speaks the admin API's contract, with the state of a rollout in
// progress, and records every request so tests can assert exactly what the command line sent.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  headers: IncomingHttpHeaders
  raw: string
  body: unknown
}

interface FlagRecord { percent: number, state: string, reason: string | null, since: string | null, actor: string | null }
interface RouteRecord {
  name: string
  flag: string | null
  traffic: { legacy: number, new: number, legacy_errors: number, new_errors: number }
}

export interface AdminApiOptions {
  token?: string
  /** Answer every request with this instead of the contract (a proxy's error page, say). */
  cannedAnswer?: { status: number, headers: Record<string, string>, body: string }
}

const NOW = '2025-03-14T10:02:11.418Z'

function seedFlags (): Map<string, FlagRecord> {
  return new Map([
    ['items-api', { percent: 25, state: 'running', reason: null, since: null, actor: null }],
    ['search-api', {
      percent: 0,
      state: 'rolled_back',
      reason: 'rule new-error-rate: 7.2% of requests to new failed over 60 s (threshold 5%), 3 windows in a row',
      since: '2025-03-14T09:26:53.120Z',
      actor: 'rule:new-error-rate'
    }],
    ['garments-api', {
      percent: 50,
      state: 'paused',
      reason: 'hold until the catalogue backfill is verified',
      since: '2025-03-14T08:40:00.000Z',
      actor: 'ana@ops-laptop'
    }]
  ])
}

function seedRoutes (): RouteRecord[] {
  return [
    { name: 'items', flag: 'items-api', traffic: { legacy: 120, new: 40, legacy_errors: 0, new_errors: 1 } },
    { name: 'item-detail', flag: 'items-api', traffic: { legacy: 301, new: 99, legacy_errors: 2, new_errors: 0 } },
    { name: 'search-by-image', flag: 'search-api', traffic: { legacy: 88, new: 0, legacy_errors: 0, new_errors: 0 } },
    { name: 'garments', flag: 'garments-api', traffic: { legacy: 10, new: 20, legacy_errors: 0, new_errors: 0 } },
    { name: 'health', flag: null, traffic: { legacy: 0, new: 0, legacy_errors: 0, new_errors: 0 } }
  ]
}

function seedEvents (): Array<Record<string, unknown>> {
  const e = (id: number, at: string, actor: string, action: string, flag: string, from: unknown, to: unknown, reason: string) =>
    ({ id, at, actor, source: actor.startsWith('rule:') ? 'gateway' : '10.0.4.17', action, flag, from, to, reason })
  return [
    e(11, '2025-03-14T09:26:53.120Z', 'rule:new-error-rate', 'rollback', 'search-api',
      { state: 'running', percent: 5 }, { state: 'rolled_back', percent: 0 },
      'rule new-error-rate: 7.2% of requests to new failed over 60 s (threshold 5%), 3 windows in a row'),
    e(10, '2025-03-14T09:02:40.000Z', 'bo@build-42', 'set_percent', 'search-api', 0, 5, 'first step for visual search'),
    e(9, '2025-03-14T08:40:00.000Z', 'ana@ops-laptop', 'set_percent', 'garments-api', 25, 50, 'mismatch rate under 0.1% for a day'),
    e(8, '2025-03-13T16:12:09.500Z', 'ana@ops-laptop', 'set_percent', 'items-api', 5, 25, 'error rate flat at 5% for a day')
  ]
}

function send (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

const PHRASES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict' }

function fail (res: ServerResponse, status: number, code: string, message: string): void {
  send(res, status, { statusCode: status, code, error: PHRASES[status] ?? 'Error', message })
}

export class AdminApi {
  readonly requests: RecordedRequest[] = []
  readonly flags = seedFlags()
  readonly routes = seedRoutes()
  readonly events = seedEvents()
  url = ''
  readonly #opts: AdminApiOptions
  readonly #server = createServer((req, res) => { this.#handle(req, res).catch((err) => { res.destroy(err) }) })

  constructor (opts: AdminApiOptions) {
    this.#opts = opts
  }

  async listen (): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  close (): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }

  /** The body of GET /admin/routes for the current state. */
  routesAnswer (): Record<string, unknown> {
    return {
      flag_source: { kind: 'embedded', location: 'flags/' },
      window_seconds: 60,
      rule_alerts: [
        { rule: 'new-p99', flag: 'items-api', status: 'fail', failing: 2, consecutive_required: 5, summary: 'p99 of new 1.42 s over 30 s, threshold 1.00 s', error: null },
        { rule: 'prom-errors', flag: 'garments-api', status: 'inconclusive', failing: 0, consecutive_required: 3, summary: 'no value', error: 'Prometheus refused the query (bad_data): parse error at char 5: unexpected end of input; fix the rule\'s query' }
      ],
      routes: this.routes.map((r) => {
        const flag = r.flag === null ? undefined : this.flags.get(r.flag)
        const total = r.traffic.legacy + r.traffic.new
        return {
          name: r.name,
          flag: r.flag,
          percent: flag?.percent ?? 0,
          state: flag?.state ?? 'running',
          state_reason: flag?.reason ?? null,
          state_since: flag?.since ?? null,
          state_actor: flag?.actor ?? null,
          traffic: { ...r.traffic, new_share: total === 0 ? 0 : r.traffic.new / total }
        }
      })
    }
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = ''
    for await (const chunk of req) raw += String(chunk)
    const url = new URL(req.url ?? '/', 'http://admin')
    let body: unknown
    try {
      body = raw === '' ? undefined : JSON.parse(raw)
    } catch {
      body = undefined
    }
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      raw,
      body
    })

    const canned = this.#opts.cannedAnswer
    if (canned !== undefined) {
      res.writeHead(canned.status, canned.headers)
      res.end(canned.body)
      return
    }
    if (this.#opts.token !== undefined && req.headers.authorization !== `Bearer ${this.#opts.token}`) {
      fail(res, 401, 'SY_ERR_UNAUTHORIZED', 'missing or wrong bearer token: send Authorization: Bearer <SWITCHYARD_ADMIN_TOKEN>')
      return
    }
    if (raw !== '' && body === undefined) {
      fail(res, 400, 'SY_ERR_BAD_JSON', 'the request body is not valid JSON; send a JSON object')
      return
    }

    const flagPath = /^\/admin\/flags\/([^/]+)(?:\/(rollback|resume))?$/.exec(url.pathname)
    if (req.method === 'GET' && url.pathname === '/admin/routes') {
      send(res, 200, this.routesAnswer())
    } else if (req.method === 'GET' && url.pathname === '/admin/events') {
      const flag = url.searchParams.get('flag')
      const limit = Number(url.searchParams.get('limit') ?? 100)
      send(res, 200, { events: this.events.filter((e) => flag === null || e.flag === flag).slice(0, limit) })
    } else if (flagPath !== null && ((req.method === 'PUT' && flagPath[2] === undefined) || (req.method === 'POST' && flagPath[2] !== undefined))) {
      this.#changeFlag(req, res, decodeURIComponent(flagPath[1]!), flagPath[2], body as Record<string, unknown> | undefined)
    } else {
      fail(res, 404, 'SY_ERR_NOT_FOUND', `${req.method} ${url.pathname} is not an admin API endpoint; GET /admin/openapi.json lists them`)
    }
  }

  #changeFlag (req: IncomingMessage, res: ServerResponse, name: string, action: string | undefined, body: Record<string, unknown> | undefined): void {
    const flag = this.flags.get(name)
    if (flag === undefined) {
      fail(res, 404, 'SY_ERR_UNKNOWN_FLAG', `there is no flag named ${JSON.stringify(name)}; known flags: ${[...this.flags.keys()].join(', ')}`)
      return
    }
    const reason = body?.reason
    if (typeof reason !== 'string' || reason.trim() === '') {
      fail(res, 400, 'SY_ERR_BAD_BODY', 'reason: expected a non-empty string saying why')
      return
    }
    const actor = String(req.headers['x-switchyard-actor'] ?? 'unknown')
    const event = (kind: string, from: unknown, to: unknown): Record<string, unknown> => {
      const id = Math.max(...this.events.map((e) => e.id as number)) + 1
      const e = { id, at: NOW, actor, source: req.socket.remoteAddress ?? '', action: kind, flag: name, from, to, reason }
      this.events.unshift(e)
      return e
    }

    if (action === undefined) {
      const percent = body?.percent
      if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 0 || percent > 100) {
        fail(res, 400, 'SY_ERR_BAD_BODY', `percent: expected an integer from 0 to 100, got ${JSON.stringify(percent)}`)
        return
      }
      if (flag.state === 'rolled_back') {
        fail(res, 409, 'SY_ERR_FLAG_ROLLED_BACK', `${name} is rolled back, so its percentage cannot change; resume it first (switchyard resume ${name})`)
        return
      }
      const previous = flag.percent
      if (previous === percent) {
        send(res, 200, { flag: name, percent, previous, changed: false, event: null })
        return
      }
      flag.percent = percent
      send(res, 200, { flag: name, percent, previous, changed: true, event: event('set_percent', previous, percent) })
    } else if (action === 'rollback') {
      const from = { state: flag.state, percent: flag.percent }
      Object.assign(flag, { percent: 0, state: 'rolled_back', reason, since: NOW, actor })
      send(res, 200, { flag: name, state: 'rolled_back', percent: 0, previous: from.percent, event: event('rollback', from, { state: 'rolled_back', percent: 0 }) })
    } else {
      if (flag.state !== 'rolled_back') {
        fail(res, 409, 'SY_ERR_FLAG_NOT_ROLLED_BACK', `${name} is ${flag.state}, not rolled_back; there is nothing to resume`)
        return
      }
      Object.assign(flag, { state: 'running', reason: null, since: null, actor: null })
      send(res, 200, { flag: name, state: 'running', percent: flag.percent, event: event('resume', { state: 'rolled_back', percent: flag.percent }, { state: 'running', percent: flag.percent }) })
    }
  }
}

export async function startAdminApi (t: Teardown, opts: AdminApiOptions = {}): Promise<AdminApi> {
  const api = new AdminApi(opts)
  await api.listen()
  t.teardown(() => api.close())
  return api
}

/** An address where nothing listens: a port that was just bound and released. */
export async function closedAdminUrl (): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}`
}
