// The CLI against a real gateway (not the contract double of the other cli-* tests): the commands a release
// manager runs, and the errors the real admin API gives, read as sentences.
import t from 'tap'
import { runCli } from '../gateway/cli/main.ts'
import { startGateway } from './helpers/gateway.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

const TOKEN = 'cli-gateway-token-0123456789'

async function cli (argv: string[], env: Record<string, string | undefined>) {
  let out = ''
  let err = ''
  const code = await runCli(argv, {
    env,
    stdout: { write: (s: string) => { out += s } },
    stderr: { write: (s: string) => { err += s } },
    serve: async () => { throw new Error('not in this test') }
  })
  return { code, out, err }
}

t.test('rollout, status and events against a real gateway', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const g = await startGateway(t, { legacy: legacy.url, new: legacy.url, percents: { 'items-api': 5 }, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } })
  const env = { SWITCHYARD_ADMIN_URL: g.adminUrl, SWITCHYARD_ADMIN_TOKEN: TOKEN, USER: 'ana' }

  const up = await cli(['rollout', 'items-api', '25', '--reason', 'step 2'], env)
  t.equal(up.code, 0, up.err)
  t.match(up.out, /items-api: 5% → 25% \(event #1\)/)
  t.equal(g.gw.flags.percent('items-api'), 25, 'the gateway took the change')

  const status = await cli(['status'], env)
  t.equal(status.code, 0)
  t.match(status.out, /^ROUTE\s+FLAG\s+PERCENT\s+STATE/m)
  t.match(status.out, /^items\s+items-api\s+25%\s+running/m)

  const rb = await cli(['rollback', 'items-api', '--reason', 'errors up'], env)
  t.equal(rb.code, 0, rb.err)
  const after = await cli(['status'], env)
  t.match(after.out, /items-api is rolled_back since .*, by ana@.*: errors up/)

  const events = await cli(['events', '--json'], env)
  const parsed = JSON.parse(events.out) as { events: Array<{ action: string, actor: string }> }
  t.same(parsed.events.map((e) => e.action), ['rollback', 'set_percent'])
  t.match(parsed.events[0]?.actor, /^ana@/)
})

t.test('the real admin API\'s errors read as sentences', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const g = await startGateway(t, { legacy: legacy.url, new: legacy.url, env: { SWITCHYARD_ADMIN_TOKEN: TOKEN } })
  const env = { SWITCHYARD_ADMIN_URL: g.adminUrl, SWITCHYARD_ADMIN_TOKEN: TOKEN }

  const unknown = await cli(['rollout', 'nope', '10', '--reason', 'r'], env)
  t.equal(unknown.code, 1)
  t.match(unknown.err, /there is no flag named "nope"; known flags: items-api, visual-search/)
  const wrong = await cli(['status'], { ...env, SWITCHYARD_ADMIN_TOKEN: 'wrong-token-wrong-token' })
  t.equal(wrong.code, 1)
  t.match(wrong.err, /refused the token \(401\).*SWITCHYARD_ADMIN_TOKEN/s)
  await g.gw.control.rollback('items-api', { actor: 't', source: 't', reason: 't' })
  const blocked = await cli(['rollout', 'items-api', '10', '--reason', 'r'], env)
  t.equal(blocked.code, 1)
  t.match(blocked.err, /items-api is rolled back, so its percentage cannot change; resume it first/)
  for (const r of [unknown, wrong, blocked]) t.notMatch(r.err, /^\s+at /m, 'no stack trace')
})
