import { hostname } from 'node:os'
import t from 'tap'
import { startAdminApi } from './helpers/cli-admin-api.ts'
import { runSwitchyard } from './helpers/cli-run.ts'

t.test('rollback sends the reason with the actor, and reports the change', async (t) => {
  const api = await startAdminApi(t, { token: 's3cret' })
  const run = await runSwitchyard(t, ['rollback', 'items-api', '--reason', 'p99 latency doubled after the deploy'], {
    env: { SWITCHYARD_ADMIN_URL: api.url, SWITCHYARD_ADMIN_TOKEN: 's3cret', USER: 'ana' }
  })

  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.equal(run.stdout, 'items-api: rolled back, 25% → 0% (event #12)\n')
  t.equal(api.requests.length, 1)
  t.match(api.requests[0], {
    method: 'POST',
    path: '/admin/flags/items-api/rollback',
    body: { reason: 'p99 latency doubled after the deploy' },
    headers: { authorization: 'Bearer s3cret', 'x-switchyard-actor': `ana@${hostname()}` }
  })
  t.same(Object.keys(api.requests[0]!.body as object), ['reason'])
})

t.test('rollback --json prints the answer of the admin API', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['rollback', 'garments-api', '--reason', 'mismatches', '--json'], {
    env: { SWITCHYARD_ADMIN_URL: api.url }
  })

  t.equal(run.code, 0)
  t.same(JSON.parse(run.stdout), { flag: 'garments-api', state: 'rolled_back', percent: 0, previous: 50, event: api.events[0] })
})

t.test('resume sends the reason with the actor, and reports the state it resumed at', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['resume', 'search-api', '--reason', 'fixed by the v3.5.2 deploy'], {
    env: { SWITCHYARD_ADMIN_URL: api.url, USER: 'ana' }
  })

  t.equal(run.code, 0)
  t.equal(run.stdout, 'search-api: resumed, running at 0% (event #12)\n')
  t.match(api.requests[0], {
    method: 'POST',
    path: '/admin/flags/search-api/resume',
    body: { reason: 'fixed by the v3.5.2 deploy' },
    headers: { 'x-switchyard-actor': `ana@${hostname()}` }
  })
  t.equal(api.flags.get('search-api')!.state, 'running')
})

t.test('resume of a flag that is not rolled back reports the conflict', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['resume', 'items-api', '--reason', 'just in case'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 1)
  t.equal(run.stdout, '')
  t.equal(run.stderr, 'items-api is running, not rolled_back; there is nothing to resume (SY_ERR_FLAG_NOT_ROLLED_BACK, HTTP 409)\n')
})

t.test('rollback and resume need a flag and a reason, checked before any request', async (t) => {
  const api = await startAdminApi(t)
  const env = { SWITCHYARD_ADMIN_URL: api.url }
  for (const command of ['rollback', 'resume']) {
    const noReason = await runSwitchyard(t, [command, 'items-api'], { env })
    t.equal(noReason.code, 2)
    t.match(noReason.stderr, /^--reason is required: say why you are changing items-api/)
    t.match(noReason.stderr, `Usage: switchyard ${command} <flag> --reason <text>\n`)

    const noFlag = await runSwitchyard(t, [command, '--reason', 'x'], { env })
    t.equal(noFlag.code, 2)
    t.match(noFlag.stderr, /^Missing <flag>\.\n/)
  }
  t.equal(api.requests.length, 0)
})

t.test('rollback of an unknown flag names the known ones', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['rollback', 'nope', '--reason', 'x'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 1)
  t.equal(run.stderr, 'there is no flag named "nope"; known flags: items-api, search-api, garments-api (SY_ERR_UNKNOWN_FLAG, HTTP 404)\n')
})
