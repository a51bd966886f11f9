// A rollout flipped while users write through both backends. At 50 % on the items route, users write through
// the gateway (POST /items, PUT /items/:id on their own items); the route is flipped to 0 % and later to
// 100 % with writes in flight. Once the sync has caught up, every acknowledged write (201 or 200) reads back
// through the backend that now serves the route with the values it was acknowledged with: for an item
// updated again, its last acknowledged version. It prints how long after each flip that took.
// Two things a user can see right after a flip are counted as todo: a PUT on their own item answered 404 by
// a backend the item has not reached yet, and a partial PUT accepted on a row that lacks their previous
// update, which then reverts it. On Postgres each service has its own database; on PGlite one database holds
// both schemas.
import { isDeepStrictEqual } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { Pool } from 'undici'
import { Registry } from 'prom-client'
import { V2_ID_START } from '../drizzle/unified/schema.ts'
import type { DatabaseHandle } from '../services/db/database.ts'
import { migrateUp } from '../services/db/migrate.ts'
import { buildLegacyService } from '../services/legacy/app.ts'
import { TemplateStoryGenerator } from '../services/migrate/story.ts'
import { verify } from '../services/migrate/verify.ts'
import type { V2Item } from '../services/shared/v2-item.ts'
import { directionsBetween } from '../services/sync/directions.ts'
import { follow } from '../services/sync/follower.ts'
import { directionStatus, type DirectionStatus } from '../services/sync/status.ts'
import { SyncMetrics } from '../services/sync/sync-metrics.ts'
import { buildUnifiedService } from '../services/unified/app.ts'
import { testDatabase } from './helpers/db.ts'
import { startGateway } from './helpers/gateway.ts'

const USERS = 40
const FLAG = 'items-api'
const LAG_DEADLINE_MS = 10_000
const CATEGORIES = ['tops', 'jackets', 'trousers', 'shoes', 'bags']
const CONDITIONS = ['new', 'like new', 'used - good']

type Backend = 'legacy' | 'new'

interface Attempt {
  user: string
  method: 'POST' | 'PUT'
  id: number | null
  sent: Record<string, unknown>
  status: number
  backend: Backend
  started: number
  ended: number
  body: V2Item | null
  /**
   * For a PUT acknowledged on a row that lacked the user's previous acknowledged write of the item: the
   * backend that acknowledged that write. Null otherwise.
   */
  missed: Backend | null
}

/** Deterministic randomness, so a run's sequence of writes can be repeated. */
function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const pick = <T>(rand: () => number, from: readonly T[]): T => from[Math.floor(rand() * from.length)]!
const price = (rand: () => number): number => Math.round(rand() * 50_000) / 100

/** One loop per user, each write awaited before the next: a user never has two writes in flight. */
class Writers {
  readonly attempts: Attempt[] = []
  /** The last acknowledged write of each item. */
  readonly last = new Map<number, Attempt>()
  readonly #owned = new Map<string, number[]>()
  readonly #count = new Map<string, number>()
  #stopping = false
  #running: Array<Promise<void>> = []

  constructor (readonly client: Pool, readonly users: string[], readonly rand: () => number) {}

  start (): void {
    this.#stopping = false
    this.#running = this.users.map((user) => this.#loop(user))
  }

  async stop (): Promise<void> {
    this.#stopping = true
    await Promise.all(this.#running)
  }

  acknowledged (): Attempt[] {
    return this.attempts.filter((a) => a.body !== null)
  }

  async #loop (user: string): Promise<void> {
    while (!this.#stopping) {
      const n = (this.#count.get(user) ?? 0) + 1
      this.#count.set(user, n)
      const mine = this.#owned.get(user) ?? []
      if (mine.length === 0 || this.rand() < 0.4) {
        await this.#write(user, 'POST', null, {
          depop_id: `dp-${user}-${n}`,
          title: `${user} item ${n}`,
          description: `first written as write ${n} of ${user}`,
          category: pick(this.rand, CATEGORIES),
          condition: pick(this.rand, CONDITIONS),
          brand: this.rand() < 0.5 ? null : `brand-${n % 7}`,
          price: price(this.rand)
        })
      } else {
        const id = pick(this.rand, mine)
        // Partial updates: a PUT made on a stale row shows in the fields it leaves alone.
        const sent = this.rand() < 0.5 ? { title: `${user} item ${id} edit ${n}`, description: `edited as write ${n}` } : { price: price(this.rand) }
        await this.#write(user, 'PUT', id, sent)
      }
    }
  }

  async #write (user: string, method: 'POST' | 'PUT', id: number | null, sent: Record<string, unknown>): Promise<void> {
    const started = performance.now()
    const res = await this.client.request({
      method,
      path: id === null ? '/items' : `/items/${id}`,
      headers: { 'x-user-id': user, 'content-type': 'application/json' },
      body: JSON.stringify(sent)
    })
    const text = await res.body.text()
    const ended = performance.now()
    const acked = res.statusCode === (method === 'POST' ? 201 : 200)
    const body = acked ? JSON.parse(text) as V2Item : null
    const backend = res.headers['x-switchyard-backend'] as Backend
    const attempt: Attempt = { user, method, id: body?.id ?? id, sent, status: res.statusCode, backend, started, ended, body, missed: null }
    if (body !== null) {
      const before = this.last.get(body.id)
      if (before?.body != null && (['title', 'description', 'price'] as const).some((k) => !(k in sent) && before.body![k] !== body[k])) {
        attempt.missed = before.backend
      }
      if (method === 'POST') this.#owned.set(user, [...(this.#owned.get(user) ?? []), body.id])
      this.last.set(body.id, attempt)
    }
    this.attempts.push(attempt)
  }
}

async function listen (t: { teardown (fn: () => unknown): void }, app: FastifyInstance): Promise<string> {
  t.teardown(() => app.close())
  return app.listen({ host: '127.0.0.1', port: 0 })
}

t.test('flipping 50 % → 0 % → 100 %, then a rollback from 50 %, under writes loses no acknowledged write', async (t) => {
  t.setTimeout(300_000)
  const first = await testDatabase(t)
  const legacyDb: DatabaseHandle = first.handle
  const unifiedDb: DatabaseHandle = first.kind === 'postgres' ? (await testDatabase(t)).handle : legacyDb
  await migrateUp(legacyDb, 'legacy')
  await migrateUp(unifiedDb, 'unified')

  const legacyUrl = await listen(t, await buildLegacyService({}, { db: legacyDb }))
  const unifiedUrl = await listen(t, await buildUnifiedService({}, { db: unifiedDb }))

  const parked: string[] = []
  const failedBatches: string[] = []
  const log = {
    info () {},
    warn: (o: object, msg: string) => { failedBatches.push(`${msg} ${JSON.stringify(o)}`) },
    error: (o: object, msg: string) => { parked.push(`${msg} ${JSON.stringify(o)}`) }
  }
  const stop = new AbortController()
  const following = follow({
    directions: directionsBetween(legacyDb, unifiedDb),
    stories: new TemplateStoryGenerator(),
    metrics: new SyncMetrics(new Registry()),
    log,
    signal: stop.signal
  })
  t.teardown(async () => { stop.abort(); await following })

  const g = await startGateway(t, { legacy: legacyUrl, new: unifiedUrl, percents: { [FLAG]: 50 } })
  const client = new Pool(g.proxyUrl, { connections: USERS + 16 })
  t.teardown(() => client.close())
  t.comment(`databases: ${first.kind === 'postgres' ? 'two on Postgres' : 'one PGlite holding both schemas'}`)

  const users = Array.from({ length: USERS }, (_, i) => `user-${i}`)
  const writers = new Writers(client, users, mulberry32(20240601))

  /** The items whose last acknowledged version does not read back through `backend`, described. */
  const unreadable = async (backend: Backend): Promise<string[]> => {
    const ids = [...writers.last.keys()]
    const misses: string[] = []
    let next = 0
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < ids.length) {
        const want = writers.last.get(ids[next++]!)!
        const res = await client.request({ method: 'GET', path: `/items/${want.id}`, headers: { 'x-user-id': want.user } })
        const text = await res.body.text()
        const served = res.headers['x-switchyard-backend']
        if (served !== backend) misses.push(`${want.id}: served by ${String(served)}`)
        else if (res.statusCode !== 200) misses.push(`${want.id}: ${res.statusCode} ${text}`)
        else if (!isDeepStrictEqual(JSON.parse(text), want.body)) {
          misses.push(`${want.id}: read ${text}, acknowledged by ${want.backend} (${want.method}) ${JSON.stringify(want.body)}`)
        }
      }
    }))
    return misses
  }
  const syncStatus = async (): Promise<DirectionStatus[]> => Promise.all([
    directionStatus(legacyDb, 'legacy', unifiedDb, 'unified', 'legacy_to_unified'),
    directionStatus(unifiedDb, 'unified', legacyDb, 'legacy', 'unified_to_legacy')
  ])
  /** Polls until fn gives a value or the deadline (counted from `since`) passes; then gives the last try. */
  const until = async <T>(since: number, fn: () => Promise<T>, done: (v: T) => boolean): Promise<{ value: T, at: number, tries: number }> => {
    for (let tries = 1; ; tries++) {
      const value = await fn()
      if (done(value) || performance.now() - since > LAG_DEADLINE_MS) return { value, at: performance.now(), tries }
      await sleep(20)
    }
  }
  const tally = (attempts: Attempt[]): string => {
    const acked = attempts.filter((a) => a.body !== null)
    const by = (b: Backend, m: Attempt['method']) => acked.filter((a) => a.backend === b && a.method === m).length
    return `legacy ${by('legacy', 'POST')} POST + ${by('legacy', 'PUT')} PUT, new ${by('new', 'POST')} POST + ${by('new', 'PUT')} PUT acknowledged`
  }

  /**
   * Writes for `leadMs`, flips the flag with writes in flight, writes for `tailMs` more, stops, waits for the
   * sync to settle, and reads every acknowledged write so far back through `to`, the backend now serving.
   */
  const flipUnderWrites = async (percent: number, to: Backend, leadMs: number, tailMs: number, act?: () => Promise<unknown>): Promise<{ attempts: Attempt[], flipAt: number }> => {
    const from = writers.attempts.length
    writers.start()
    await sleep(leadMs)
    const flipAt = performance.now()
    await (act ?? (() => g.gw.control.setPercent(FLAG, percent, { actor: 'release-manager', source: 'test', reason: `flip to ${percent} %` })))()
    const flipped = performance.now()
    await sleep(tailMs)
    await writers.stop()
    const attempts = writers.attempts.slice(from)
    const after = attempts.filter((a) => a.started > flipped)
    t.comment(`before the flip: ${tally(attempts.filter((a) => a.started < flipAt))}`)
    t.comment(`after the flip: ${tally(after)}`)
    t.equal(after.filter((a) => a.backend !== to).length, 0, `every write sent after the flip went to ${to}`)
    t.ok(after.some((a) => a.body !== null), `${to} acknowledged writes after the flip`)
    t.same(attempts.filter((a) => a.status >= 500), [], 'no write failed with a 5xx')
    const madeByOther = (id: number) => to === 'legacy' ? id >= V2_ID_START : id < V2_ID_START
    const notFound = attempts.filter((a) => a.status === 404)
    t.same(notFound.filter((a) => !(a.method === 'PUT' && a.started > flipAt && madeByOther(a.id!))), [],
      'the only refusals are PUTs after the flip on items made through the other backend')
    t.same(attempts.filter((a) => a.status !== 404 && a.body === null), [], 'every other write was acknowledged')

    const lastAck = Math.max(...writers.acknowledged().map((a) => a.ended))
    const settled = await until(flipAt, syncStatus, (s) => s.every((d) => d.pending === 0))
    t.same(settled.value.map((d) => [d.direction, d.pending, d.parked, d.lastError]),
      [['legacy_to_unified', 0, 0, null], ['unified_to_legacy', 0, 0, null]], 'the sync settled in both directions, nothing parked, no error')
    const read = await until(flipAt, () => unreadable(to), (misses) => misses.length === 0)
    t.same(read.value, [], `every acknowledged write so far (${writers.last.size} items, last versions) reads back through ${to}`)
    t.equal(read.tries, 1, 'once the sync reports nothing pending, the first read-back already matches')

    const stale = attempts.filter((a) => a.missed !== null)
    t.same(stale.filter((a) => a.missed === a.backend), [], 'no PUT missed an update acknowledged earlier by the same backend')
    t.comment(`flip to ${percent} %: sync settled ${(settled.at - flipAt).toFixed(0)} ms after the flip ` +
      `(${(settled.at - lastAck).toFixed(0)} ms after the last acknowledgement); every write read back through ${to} ` +
      `${(read.at - flipAt).toFixed(0)} ms after the flip (${read.tries} full read-back(s))`)
    t.equal(notFound.length, 0, `no PUT on an item its user had created was answered 404 (${notFound.length} were)`,
      { todo: 'the sync is asynchronous: right after a flip, a user\'s new backend may not have their latest items yet' })
    t.equal(stale.length, 0, `no PUT was acknowledged on a row missing the user's previous acknowledged update (${stale.length} were)`,
      { todo: 'the sync is asynchronous and resolves whole rows (last writer wins), so such a PUT reverts the fields it did not send' })
    return { attempts, flipAt }
  }

  // 50 %, then 0 %: the users new served move to legacy.
  const to0 = await flipUnderWrites(0, 'legacy', 1_500, 500)
  const at50 = to0.attempts.filter((a) => a.body !== null && a.started < to0.flipAt)
  t.ok(at50.some((a) => a.backend === 'legacy') && at50.some((a) => a.backend === 'new'), 'at 50 % both backends acknowledged writes')
  // Writes resume at 0 %, all through legacy; then 100 %: everyone moves to new.
  const to100 = await flipUnderWrites(100, 'new', 300, 1_000)
  t.equal(to100.attempts.filter((a) => a.started < to100.flipAt && a.backend !== 'legacy').length, 0, 'at 0 % every write went to legacy')

  // Back to 50 % under writes, then the rollback a failing rule performs (the override sends the flag's
  // routes to legacy at once, and the percentage goes to 0): every write new acknowledged reads back through legacy.
  await g.gw.control.setPercent(FLAG, 50, { actor: 'release-manager', source: 'test', reason: 'back to 50 %' })
  const rolledBack = await flipUnderWrites(0, 'legacy', 1_500, 500, () => g.gw.control.rollback(FLAG,
    { actor: 'rule:new-error-rate', source: 'rule-evaluator', reason: 'rule new-error-rate: a test fault' }, { rule: 'new-error-rate' }))
  t.ok(rolledBack.attempts.some((a) => a.body !== null && a.backend === 'new' && a.started < rolledBack.flipAt), 'new acknowledged writes before the rollback')
  t.equal(g.gw.flags.percent(FLAG), 0, 'the rollback left the flag at 0 %')

  const same = await verify(legacyDb, unifiedDb)
  t.ok(same.ok, `both databases hold the same ${same.legacyRows} rows`)
  t.same(parked, [], 'the sync parked nothing')
  t.comment(`${writers.attempts.length} writes in all, ${writers.acknowledged().length} acknowledged; ${failedBatches.length} sync batch(es) failed and were retried`)
})
