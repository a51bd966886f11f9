// A resumed flag is judged on what it did since the resume: the errors that rolled it back, still in the
// window, neither roll it back again nor count towards min_requests. Through a real gateway, its clock
// shifted so that the fault lies ten seconds in the past, inside the rule's 30 s window.
import type { IncomingMessage, ServerResponse } from 'node:http'
import t from 'tap'
import { evidenceSeconds, evidenceSlots } from '../gateway/rules/evidence.ts'
import { startGateway } from './helpers/gateway.ts'
import { startUpstream } from './helpers/upstream.ts'

const RULE = { name: 'burst', metric: 'error_rate', window_seconds: 30, min_requests: 40, threshold: 0.25, consecutive: 1 }

t.test('the window a rule reads starts at the resume', async (t) => {
  const fault = { on: true }
  const legacy = await startUpstream(t, (req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'application/json' }).end('{}') })
  const fresh = await startUpstream(t, (req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    res.writeHead(fault.on ? 500 : 200, { 'content-type': 'application/json' }).end('{}')
  })
  let offset = -10_000
  const gw = await startGateway(t, {
    legacy: legacy.url,
    new: fresh.url,
    percents: { 'items-api': 100 },
    config: { rules: { interval_ms: 60_000, list: [RULE] } },
    deps: { now: () => Date.now() + offset }
  })
  const send = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await (await fetch(`${gw.proxyUrl}/items/1`, { headers: { 'x-user-id': `u${i}` } })).arrayBuffer()
  }
  const admin = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${gw.adminUrl}${path}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) })
    return await res.json()
  }
  const verdict = async (): Promise<any> => (await admin('GET', '/admin/rules')).rules[0].last

  await send(60) // ten seconds ago: every answer of new a 500
  await gw.gw.rules.tick()
  t.match(await verdict(), { status: 'fail', samples: { new: 60 } }, 'the fault fails the rule')
  t.equal((await admin('GET', '/admin/routes')).routes[0].state, 'rolled_back')

  offset = 0
  await admin('POST', '/admin/flags/items-api/resume', { reason: 'fixed' })
  await admin('PUT', '/admin/flags/items-api', { percent: 100, reason: 'again' })
  await gw.gw.rules.tick()
  t.match(await verdict(), { status: 'inconclusive', samples: { new: 0 } }, 'just after the resume: the old errors do not count, and too few new requests')
  t.equal((await admin('GET', '/admin/routes')).routes[0].traffic.new_errors, 60, 'though the window itself still holds the fault')

  fault.on = false
  await send(60)
  await gw.gw.rules.tick()
  t.match(await verdict(), { status: 'pass', samples: { new: 60 } }, 'healthy requests since the resume pass, with the fault still inside the 30 s window')
  t.equal((await admin('GET', '/admin/routes')).routes[0].state, 'running')
})

t.test('the cut: the whole window, or the time since a resume', async (t) => {
  const at = Date.UTC(2026, 0, 1, 12)
  t.equal(evidenceSeconds({ state: 'running', since: null, reason: null, actor: null }, 30, at), 30, 'a flag never changed: the whole window')
  t.equal(evidenceSeconds({ state: 'running', since: new Date(at - 1_500).toISOString(), reason: 'r', actor: 'a' }, 30, at), 1.5, 'resumed 1.5 s ago')
  t.equal(evidenceSeconds({ state: 'running', since: new Date(at - 60_000).toISOString(), reason: 'r', actor: 'a' }, 30, at), 30, 'resumed a minute ago: the whole window')
  t.equal(evidenceSeconds({ state: 'running', since: new Date(at).toISOString(), reason: 'r', actor: 'a' }, 30, at), 0.001, 'just resumed: a millisecond')
  t.equal(evidenceSeconds({ state: 'paused', since: new Date(at - 1_000).toISOString(), reason: 'r', actor: 'a' }, 30, at), 30, 'a pause does not cut it')
})

t.test('the slots of the traffic windows a cut window reads: back to the second the resume fell in', async (t) => {
  const at = Date.UTC(2026, 0, 1, 12) // on a whole second
  const resumed = (ms: number) => ({ state: 'running' as const, since: new Date(ms).toISOString(), reason: 'r', actor: 'a' })
  t.equal(evidenceSlots({ state: 'running', since: null, reason: null, actor: null }, 30, at + 400), 30, 'a flag never changed: the whole window')
  t.equal(evidenceSlots(resumed(at + 100), 30, at + 900), 1, 'resumed earlier in the current second: that second')
  t.equal(evidenceSlots(resumed(at + 900), 30, at + 1_050), 2, 'resumed late in the previous second, 0.15 s ago: both seconds, where rounding 0.15 s up would read one')
  t.equal(evidenceSlots(resumed(at + 900), 30, at + 2_100), 3, '1.2 s ago, from late in its second: three seconds, where rounding up would read two')
  t.equal(evidenceSlots(resumed(at - 60_000), 30, at), 30, 'resumed a minute ago: the whole window')
  t.equal(evidenceSlots({ ...resumed(at), state: 'paused' }, 30, at + 500), 30, 'a pause does not cut it')
  t.equal(evidenceSlots(resumed(at + 2_500), 30, at + 500), 1, 'resumed by a replica whose clock runs ahead: the current second')
})
