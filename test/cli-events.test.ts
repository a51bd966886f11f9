import t from 'tap'
import { startAdminApi } from './helpers/cli-admin-api.ts'
import { runSwitchyard } from './helpers/cli-run.ts'

t.test('events prints the audit log as a table, newest first', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['events'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.equal(run.stdout, [
    'ID  WHEN                      WHO                  FROM       ACTION       FLAG          CHANGE                       WHY',
    '11  2025-03-14T09:26:53.120Z  rule:new-error-rate  gateway    rollback     search-api    running 5% → rolled_back 0%  ' +
      'rule new-error-rate: 7.2% of requests to new failed over 60 s (threshold 5%), 3 windows in a row',
    '10  2025-03-14T09:02:40.000Z  bo@build-42          10.0.4.17  set_percent  search-api    0% → 5%                      first step for visual search',
    ' 9  2025-03-14T08:40:00.000Z  ana@ops-laptop       10.0.4.17  set_percent  garments-api  25% → 50%                    mismatch rate under 0.1% for a day',
    ' 8  2025-03-13T16:12:09.500Z  ana@ops-laptop       10.0.4.17  set_percent  items-api     5% → 25%                     error rate flat at 5% for a day',
    ''
  ].join('\n'))
  t.match(api.requests[0], { method: 'GET', path: '/admin/events', query: {} })
  t.same(api.requests[0]!.query, {}, 'the gateway picks the default limit')
})

t.test('events --flag --limit are sent as query parameters', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['events', '--flag', 'search-api', '--limit', '1'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 0)
  t.same(api.requests[0]!.query, { limit: '1', flag: 'search-api' })
  const lines = run.stdout.trimEnd().split('\n')
  t.equal(lines.length, 2)
  t.match(lines[1], /^11 {2}2025-03-14T09:26:53\.120Z {2}rule:new-error-rate/)
})

t.test('events --json prints exactly what the admin API answered', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['events', '--json', '--limit=2'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 0)
  t.same(JSON.parse(run.stdout), { events: api.events.slice(0, 2) })
})

t.test('events says so when there are none', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['events', '--flag', 'discovery-api'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 0)
  t.equal(run.stdout, 'No events for discovery-api.\n')
})

t.test('a limit that is not a positive whole number is refused before any request', async (t) => {
  const api = await startAdminApi(t)
  for (const limit of ['0', '-5', 'ten', '2.5']) {
    const run = await runSwitchyard(t, ['events', '--limit', limit], { env: { SWITCHYARD_ADMIN_URL: api.url } })
    t.equal(run.code, 2, `${limit}: exit 2`)
    t.match(run.stderr, `--limit must be a whole number of at least 1, got ${JSON.stringify(limit)}.\n`)
  }
  const noFlag = await runSwitchyard(t, ['events', '--flag='], { env: { SWITCHYARD_ADMIN_URL: api.url } })
  t.equal(noFlag.code, 2)
  t.match(noFlag.stderr, /^The flag name is empty\./)
  t.equal(api.requests.length, 0)
})
