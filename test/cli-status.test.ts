import { stripVTControlCharacters } from 'node:util'
import t from 'tap'
import { startAdminApi } from './helpers/cli-admin-api.ts'
import { runSwitchyard } from './helpers/cli-run.ts'

t.test('status prints one aligned row per route, and why each flag that is not running is so', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.equal(run.stdout, [
    'ROUTE            FLAG          PERCENT  STATE        NEW SHARE  REQUESTS  ERRORS (NEW/LEGACY)',
    'items            items-api         25%  running            25%       160                  1/0',
    'item-detail      items-api         25%  running          24.8%       400                  0/2',
    'search-by-image  search-api         0%  rolled_back         0%        88                  0/0',
    'garments         garments-api      50%  paused           66.7%        30                  0/0',
    'health           -                   -  running              -         0                  0/0',
    '',
    'Traffic over the last 60 s. Flags: embedded, flags/.',
    'Rule new-p99 on items-api fails (2 of 5 in a row before it rolls back): p99 of new 1.42 s over 30 s, threshold 1.00 s',
    'Rule prom-errors on garments-api gets no value: Prometheus refused the query (bad_data): parse error at char 5: unexpected end of input; fix the rule\'s query',
    '',
    'search-api is rolled_back since 2025-03-14T09:26:53.120Z, by rule:new-error-rate: rule new-error-rate: ' +
      '7.2% of requests to new failed over 60 s (threshold 5%), 3 windows in a row',
    'garments-api is paused since 2025-03-14T08:40:00.000Z, by ana@ops-laptop: hold until the catalogue backfill is verified',
    ''
  ].join('\n'))

  t.equal(api.requests.length, 1)
  t.match(api.requests[0], { method: 'GET', path: '/admin/routes', raw: '' })
  t.equal(api.requests[0]!.headers['x-switchyard-actor'], undefined, 'reads do not claim an actor')
  t.equal(api.requests[0]!.headers.authorization, undefined, 'no token configured, none sent')
})

t.test('status --json prints exactly what the admin API answered', async (t) => {
  const api = await startAdminApi(t, { token: 's3cret' })
  const run = await runSwitchyard(t, ['status', '--json'], {
    env: { SWITCHYARD_ADMIN_URL: api.url, SWITCHYARD_ADMIN_TOKEN: 's3cret' }
  })

  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.same(JSON.parse(run.stdout), api.routesAnswer())
  t.equal(api.requests[0]!.headers.authorization, 'Bearer s3cret')
})

t.test('status reflects changes made through the API', async (t) => {
  const api = await startAdminApi(t)
  const env = { SWITCHYARD_ADMIN_URL: api.url, USER: 'ana' }
  t.equal((await runSwitchyard(t, ['rollback', 'items-api', '--reason', 'p99 doubled'], { env })).code, 0)

  const run = await runSwitchyard(t, ['status'], { env })
  t.match(run.stdout, /^items {12}items-api {10}0% {2}rolled_back {8}25%/m)
  t.match(run.stdout, /^items-api is rolled_back since \S+, by ana@\S+: p99 doubled$/m)
  t.equal(run.stdout.match(/^items-api is /gm)?.length, 1, 'one line per flag, though two routes share it')
})

t.test('status colours the table only for a terminal, and never with NO_COLOR', async (t) => {
  const api = await startAdminApi(t)
  const env = { SWITCHYARD_ADMIN_URL: api.url }

  const tty = await runSwitchyard(t, ['status'], { env, tty: true })
  t.match(tty.stdout, '\u001b[1mROUTE')
  t.match(tty.stdout, '\u001b[31mrolled_back\u001b[39m')
  t.equal(stripVTControlCharacters(tty.stdout), (await runSwitchyard(t, ['status'], { env })).stdout,
    'colour changes no column')

  const noColour = await runSwitchyard(t, ['status'], { env: { ...env, NO_COLOR: '1' }, tty: true })
  t.notMatch(noColour.stdout, '\u001b')

  const piped = await runSwitchyard(t, ['status'], { env, tty: false })
  t.notMatch(piped.stdout, '\u001b')
})

t.test('status does not pass terminal control characters from the server through', async (t) => {
  const api = await startAdminApi(t)
  api.flags.get('garments-api')!.reason = 'hold\u001b[2J\nsecond line'
  const run = await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 0)
  t.notMatch(run.stdout, '\u001b')
  t.match(run.stdout, /^garments-api is paused .*: hold \[2J second line$/m)
})

t.test('status says so when no route is configured', async (t) => {
  const api = await startAdminApi(t)
  api.routes.length = 0
  const run = await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 0)
  t.equal(run.stdout, 'No routes are configured.\n')
})
