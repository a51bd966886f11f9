import { hostname } from 'node:os'
import t from 'tap'
import { startAdminApi } from './helpers/cli-admin-api.ts'
import { runSwitchyard } from './helpers/cli-run.ts'

t.test('rollout sends the percent and reason, with the actor and the token', async (t) => {
  const api = await startAdminApi(t, { token: 's3cret' })
  const run = await runSwitchyard(t, ['rollout', 'items-api', '50', '--reason', 'error rate flat at 5% for a day'], {
    env: { SWITCHYARD_ADMIN_URL: api.url, SWITCHYARD_ADMIN_TOKEN: 's3cret', USER: 'ana' }
  })

  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.equal(run.stdout, 'items-api: 25% → 50% (event #12)\n')

  t.equal(api.requests.length, 1)
  const sent = api.requests[0]!
  t.equal(sent.method, 'PUT')
  t.equal(sent.path, '/admin/flags/items-api')
  t.same(sent.body, { percent: 50, reason: 'error rate flat at 5% for a day' })
  t.equal(sent.raw, '{"percent":50,"reason":"error rate flat at 5% for a day"}')
  t.equal(sent.headers.authorization, 'Bearer s3cret')
  t.equal(sent.headers['x-switchyard-actor'], `ana@${hostname()}`)
  t.match(sent.headers['content-type'], /^application\/json/)
  t.equal(api.flags.get('items-api')!.percent, 50)
})

t.test('the actor falls back to LOGNAME, then to unknown', async (t) => {
  const api = await startAdminApi(t)
  await runSwitchyard(t, ['rollout', 'items-api', '30', '--reason', 'step'], { env: { SWITCHYARD_ADMIN_URL: api.url, LOGNAME: 'bo' } })
  await runSwitchyard(t, ['rollout', 'items-api', '35', '--reason', 'step'], { env: { SWITCHYARD_ADMIN_URL: api.url, USER: '' } })

  t.equal(api.requests[0]!.headers['x-switchyard-actor'], `bo@${hostname()}`)
  t.equal(api.requests[1]!.headers['x-switchyard-actor'], `unknown@${hostname()}`)
})

t.test('rollout to the current percentage says that nothing changed', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['rollout', 'items-api', '25', '--reason', 'again'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 0)
  t.equal(run.stdout, 'items-api is already at 25%; nothing changed\n')
})

t.test('rollout --json prints the answer of the admin API', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['rollout', 'items-api', '75', '--reason', 'steady', '--json'], {
    env: { SWITCHYARD_ADMIN_URL: api.url, USER: 'ana' }
  })

  t.equal(run.code, 0)
  t.same(JSON.parse(run.stdout), { flag: 'items-api', percent: 75, previous: 25, changed: true, event: api.events[0] })
  t.match(api.events[0], { id: 12, action: 'set_percent', from: 25, to: 75, reason: 'steady' })
})

t.test('a percent that is not a whole number from 0 to 100 is refused before any request', async (t) => {
  const api = await startAdminApi(t)
  for (const percent of ['150', '-1', '12.5', 'abc', '', '101', '1e2']) {
    const run = await runSwitchyard(t, ['rollout', 'items-api', percent, '--reason', 'try'], { env: { SWITCHYARD_ADMIN_URL: api.url } })
    t.equal(run.code, 2, `${JSON.stringify(percent)}: exit 2`)
    t.equal(run.stdout, '')
    t.equal(run.stderr, `The percent must be a whole number from 0 to 100, got ${JSON.stringify(percent)}.\n` +
      'Usage: switchyard rollout <flag> <percent> --reason <text>\n' +
      'Run `switchyard rollout --help` for more.\n')
  }
  t.equal(api.requests.length, 0)
})

t.test('0 and 100 are valid percentages', async (t) => {
  const api = await startAdminApi(t)
  const env = { SWITCHYARD_ADMIN_URL: api.url }
  t.equal((await runSwitchyard(t, ['rollout', 'items-api', '100', '--reason', 'done'], { env })).stdout, 'items-api: 25% → 100% (event #12)\n')
  t.equal((await runSwitchyard(t, ['rollout', 'items-api', '0', '--reason', 'undo'], { env })).stdout, 'items-api: 100% → 0% (event #13)\n')
})

t.test('rollout without a reason is refused before any request', async (t) => {
  const api = await startAdminApi(t)
  const env = { SWITCHYARD_ADMIN_URL: api.url }

  const missing = await runSwitchyard(t, ['rollout', 'items-api', '50'], { env })
  t.equal(missing.code, 2)
  t.match(missing.stderr, /^--reason is required: say why you are changing items-api, and the audit log will keep it\.\n/)

  const blank = await runSwitchyard(t, ['rollout', 'items-api', '50', '--reason', '   '], { env })
  t.equal(blank.code, 2)
  t.match(blank.stderr, /^--reason is empty: /)

  const noValue = await runSwitchyard(t, ['rollout', 'items-api', '50', '--reason'], { env })
  t.equal(noValue.code, 2)
  t.match(noValue.stderr, /^--reason needs a value, as in --reason <text>\.\n/)

  const swallowed = await runSwitchyard(t, ['rollout', 'items-api', '50', '--reason', '--json'], { env })
  t.equal(swallowed.code, 2)
  t.match(swallowed.stderr, /^--reason needs a value, but --json looks like an option\./)

  t.equal(api.requests.length, 0)
})

t.test('rollout without its arguments is refused with the usage line', async (t) => {
  const api = await startAdminApi(t)
  const env = { SWITCHYARD_ADMIN_URL: api.url }

  const none = await runSwitchyard(t, ['rollout'], { env })
  t.equal(none.code, 2)
  t.equal(none.stderr, 'Missing <flag> and <percent>.\nUsage: switchyard rollout <flag> <percent> --reason <text>\n' +
    'Run `switchyard rollout --help` for more.\n')

  const noPercent = await runSwitchyard(t, ['rollout', 'items-api', '--reason', 'x'], { env })
  t.equal(noPercent.code, 2)
  t.match(noPercent.stderr, /^Missing <percent>\.\n/)

  const empty = await runSwitchyard(t, ['rollout', '', '50', '--reason', 'x'], { env })
  t.equal(empty.code, 2)
  t.match(empty.stderr, /^The flag name is empty\. `switchyard status` lists the flags\.\n/)

  const extra = await runSwitchyard(t, ['rollout', 'items-api', '50', '60', '--reason', 'x'], { env })
  t.equal(extra.code, 2)
  t.match(extra.stderr, /^Unexpected argument "60"\.\n/)

  t.equal(api.requests.length, 0)
})

t.test('rollout of a rolled-back flag reports the conflict and the way out', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['rollout', 'search-api', '10', '--reason', 'retry'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 1)
  t.equal(run.stdout, '')
  t.equal(run.stderr, 'search-api is rolled back, so its percentage cannot change; resume it first ' +
    '(switchyard resume search-api) (SY_ERR_FLAG_ROLLED_BACK, HTTP 409)\n')
})

t.test('flag names are sent as one path segment', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['rollout', 'a/b?c', '10', '--reason', 'x'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(api.requests[0]!.path, '/admin/flags/a%2Fb%3Fc')
  t.equal(run.code, 1)
  t.match(run.stderr, /^there is no flag named "a\/b\?c"; known flags: /)
})
