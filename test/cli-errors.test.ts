import t from 'tap'
import { closedAdminUrl, startAdminApi } from './helpers/cli-admin-api.ts'
import { runSwitchyard } from './helpers/cli-run.ts'

t.test('a gateway that is not running is reported with the address and the setting to change', async (t) => {
  const url = await closedAdminUrl()
  for (const argv of [['status'], ['status', '--json'], ['rollout', 'items-api', '50', '--reason', 'x'], ['events'], ['diffs'], ['diffs', 'items']]) {
    const run = await runSwitchyard(t, argv, { env: { SWITCHYARD_ADMIN_URL: url } })
    t.equal(run.code, 1, argv.join(' '))
    t.equal(run.stdout, '')
    t.equal(run.stderr, `Could not reach the admin API at ${url} (connection refused). Is the gateway running? ` +
      'Set SWITCHYARD_ADMIN_URL to its admin address.\n')
  }
})

t.test('the admin address defaults to http://127.0.0.1:9090, and a trailing slash is allowed', async (t) => {
  const api = await startAdminApi(t)
  const asked: string[] = []
  // Sends the request to the test server, keeping only the path of the address the command line chose.
  const redirecting: typeof fetch = (input, init) => {
    const target = new URL(String(input))
    asked.push(target.href)
    return fetch(api.url + target.pathname + target.search, init)
  }

  t.equal((await runSwitchyard(t, ['status'], { env: {}, fetch: redirecting })).code, 0)
  t.equal((await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: 'http://gw.internal:9090/' }, fetch: redirecting })).code, 0)
  t.same(asked, ['http://127.0.0.1:9090/admin/routes', 'http://gw.internal:9090/admin/routes'])
})

t.test('a wrong token is reported with the server message and the setting to change', async (t) => {
  const api = await startAdminApi(t, { token: 's3cret' })
  const run = await runSwitchyard(t, ['rollout', 'items-api', '50', '--reason', 'x'], {
    env: { SWITCHYARD_ADMIN_URL: api.url, SWITCHYARD_ADMIN_TOKEN: 'wrong' }
  })

  t.equal(run.code, 1)
  t.equal(run.stdout, '')
  t.equal(run.stderr, 'The admin API refused the token (401): missing or wrong bearer token: ' +
    'send Authorization: Bearer <SWITCHYARD_ADMIN_TOKEN>. Set SWITCHYARD_ADMIN_TOKEN.\n')
  t.equal(api.requests[0]!.headers.authorization, 'Bearer wrong')
  t.equal(api.flags.get('items-api')!.percent, 25)
})

t.test('a missing token is reported as such', async (t) => {
  const api = await startAdminApi(t, { token: 's3cret' })
  const run = await runSwitchyard(t, ['status', '--json'], { env: { SWITCHYARD_ADMIN_URL: api.url, SWITCHYARD_ADMIN_TOKEN: '' } })

  t.equal(run.code, 1)
  t.equal(run.stdout, '', 'no JSON for a failure, even with --json')
  t.match(run.stderr, /^The admin API requires a token \(401\): .*\. Set SWITCHYARD_ADMIN_TOKEN\.\n$/)
  t.equal(api.requests[0]!.headers.authorization, undefined)
})

t.test('an unknown flag is reported with the server message, its code and status', async (t) => {
  const api = await startAdminApi(t)
  const run = await runSwitchyard(t, ['rollout', 'nope', '10', '--reason', 'x', '--json'], { env: { SWITCHYARD_ADMIN_URL: api.url } })

  t.equal(run.code, 1)
  t.equal(run.stdout, '')
  t.equal(run.stderr, 'there is no flag named "nope"; known flags: items-api, search-api, garments-api (SY_ERR_UNKNOWN_FLAG, HTTP 404)\n')
})

t.test('an answer that is not from the admin API points at SWITCHYARD_ADMIN_URL', async (t) => {
  const cases = [
    { status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body>502 Bad Gateway</body></html>' },
    { status: 404, headers: { 'content-type': 'application/json' }, body: '{"detail":"Not Found"}' },
    { status: 200, headers: { 'content-type': 'application/json' }, body: '{"items":[]}' },
    { status: 200, headers: { 'content-type': 'text/plain' }, body: 'OK' }
  ]
  for (const cannedAnswer of cases) {
    const api = await startAdminApi(t, { cannedAnswer })
    const run = await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: api.url } })
    t.equal(run.code, 1, `HTTP ${cannedAnswer.status} ${cannedAnswer.body}`)
    t.equal(run.stdout, '')
    t.match(run.stderr, new RegExp(`^The admin API at ${api.url} answered GET /admin/routes with .*` +
      'Is SWITCHYARD_ADMIN_URL the address of the admin port\\?\\n$'))
    if (cannedAnswer.status !== 200) t.match(run.stderr, `HTTP ${cannedAnswer.status}`)
  }
})

t.test('a redirect is reported, not followed, so the token goes nowhere else', async (t) => {
  const api = await startAdminApi(t, {
    cannedAnswer: { status: 308, headers: { location: 'https://elsewhere.example/admin/routes' }, body: '' }
  })
  const run = await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: api.url, SWITCHYARD_ADMIN_TOKEN: 's3cret' } })

  t.equal(run.code, 1)
  t.equal(run.stderr, `The admin API at ${api.url} answered GET /admin/routes with a redirect (HTTP 308) to ` +
    'https://elsewhere.example/admin/routes. Set SWITCHYARD_ADMIN_URL to the address it should use.\n')
  t.equal(api.requests.length, 1)
})

t.test('a gateway that does not answer in time is reported as unreachable', async (t) => {
  const timedOut: typeof fetch = async () => {
    // What AbortSignal.timeout makes fetch reject with.
    throw new DOMException('The operation was aborted due to timeout', 'TimeoutError')
  }
  const run = await runSwitchyard(t, ['status'], { env: {}, fetch: timedOut })

  t.equal(run.code, 1)
  t.equal(run.stderr, 'Could not reach the admin API at http://127.0.0.1:9090 (no answer within 10 s). ' +
    'Is the gateway running? Set SWITCHYARD_ADMIN_URL to its admin address.\n')
})

t.test('a malformed admin address or token is a usage error, before any request', async (t) => {
  const api = await startAdminApi(t)

  const notUrl = await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: 'not a url' } })
  t.equal(notUrl.code, 2)
  t.equal(notUrl.stderr, 'SWITCHYARD_ADMIN_URL is not a URL: "not a url". ' +
    "Set it to the gateway's admin address, as in http://127.0.0.1:9090.\n")

  const noScheme = await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: 'localhost:9090' } })
  t.equal(noScheme.code, 2)
  t.match(noScheme.stderr, /^SWITCHYARD_ADMIN_URL must be an http:\/\/ or https:\/\/ address, got "localhost:9090"\./)

  const badToken = await runSwitchyard(t, ['status'], { env: { SWITCHYARD_ADMIN_URL: api.url, SWITCHYARD_ADMIN_TOKEN: 's3cret\n' } })
  t.equal(badToken.code, 2)
  t.match(badToken.stderr, /^SWITCHYARD_ADMIN_TOKEN contains spaces or characters that cannot be sent in an HTTP header\./)
  t.notMatch(badToken.stderr, 's3cret', 'the token is not echoed')

  t.equal(api.requests.length, 0)
})
