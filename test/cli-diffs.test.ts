// `switchyard diffs` against a real gateway that shadows the items route to a second real upstream which
// answers differently: the report names each differing path with the primary's value on a '-' line and the
// shadow's on a '+' line, and --json is the admin API's answer as it stands.
import { stripVTControlCharacters } from 'node:util'
import t from 'tap'
import { startAdminApi } from './helpers/cli-admin-api.ts'
import { runSwitchyard, type TapTest } from './helpers/cli-run.ts'
import { startGateway } from './helpers/gateway.ts'
import { adminJson, untilCompared } from './helpers/shadow.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

type Json = Record<string, unknown>
const LONG = 300
// What each backend answers, by the last segment of the path. Requested in this order, one at a time.
const CASES: Record<string, { legacy: Json, new: Json, newStatus?: number, newHangsUp?: boolean }> = {
  same: { legacy: { id: 1, title: 'Shirt' }, new: { id: 1, title: 'Shirt' } },
  renamed: { legacy: { id: 2, title: 'Jacket', price: 10 }, new: { id: 2, name: 'Jacket', price: 12.5 } },
  gone: { legacy: { id: 3, tags: ['a', 'b'] }, new: { id: 3, tags: ['b', 'a'] }, newStatus: 404 },
  long: { legacy: { id: 4, note: 'x'.repeat(LONG) }, new: { id: 4, note: 'y'.repeat(LONG) } },
  // Only requested by the test of drops and errors.
  huge: { legacy: { id: 5, blob: 'z'.repeat(2048) }, new: { id: 5, blob: 'z'.repeat(2048) } },
  'hung-up': { legacy: { id: 6 }, new: { id: 6 }, newHangsUp: true }
}
const PLANTED = ['same', 'renamed', 'gone', 'long']

interface Planted {
  adminUrl: string
  env: Record<string, string>
  /** The admin API's answer for the items route once every request was compared. */
  route: { samples: Array<{ time: string, request: { path: string, request_id: string } }> }
}

/**
 * Each backend stamps its answers with its name and a counter: two answers never agree on /served_at, so
 * sending the primary each request twice (noise_percent: 100) teaches the gateway that it is noise.
 */
async function planted (t: TapTest, opts: { percents?: Record<string, number>, only?: string[], shadow?: Json } = {}): Promise<Planted> {
  const served = { legacy: 0, new: 0 }
  const upstream = (side: 'legacy' | 'new') => startUpstream(t, (req, res) => {
    const c = CASES[(req.url ?? '').split('/').pop()!]
    if (side === 'new' && c?.newHangsUp === true) {
      req.socket.destroy()
      return
    }
    const body = JSON.stringify({ ...(c?.[side] ?? { error: 'no such case' }), served_at: `${side}-${++served[side]}` })
    res.writeHead(side === 'new' ? c?.newStatus ?? 200 : 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  const [legacy, neu] = [await upstream('legacy'), await upstream('new')]
  const { proxyUrl, adminUrl } = await startGateway(t, {
    legacy: legacy.url,
    new: neu.url,
    percents: opts.percents,
    config: {
      routes: [
        { name: 'items', paths: ['/items', '/items/*'], flag: 'items-api', shadow: { percent: 100, noise_percent: 100, ...opts.shadow } },
        { name: 'search', paths: ['/search_by_image'], methods: ['POST'], flag: 'visual-search' }
      ]
    }
  })
  const names = opts.only ?? PLANTED
  for (const [i, name] of names.entries()) {
    const res = await fetch(`${proxyUrl}/items/${name}`)
    await res.arrayBuffer()
    // One at a time, so that the samples are stored, newest first, in the reverse order of the requests.
    await untilCompared(adminUrl, 'items', i + 1)
  }
  const route = await adminJson(adminUrl, '/admin/shadow/items') as Planted['route']
  return { adminUrl, env: { SWITCHYARD_ADMIN_URL: adminUrl }, route }
}

t.test('diffs <route> reports the counts, the fields, and each sample as a diff of primary and shadow', async (t) => {
  const { env, route } = await planted(t)
  t.same(route.samples.map((s) => s.request.path), ['/items/long', '/items/gone', '/items/renamed'])
  const sampleHead = (i: number) => {
    const s = route.samples[i]!
    return `${s.time}  GET ${s.request.path}  request ${s.request.request_id}`
  }

  const run = await runSwitchyard(t, ['diffs', 'items'], { env })
  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.equal(run.stdout, [
    'Route          items (100% of GET, HEAD requests shadowed, 100% also sent twice to learn noise)',
    'Counts         1 match, 3 mismatch, 0 error, 0 dropped',
    'Match rate     25% of 4 compared since start (1 of the matches only once noise was left out)',
    'Mismatch rate  75% over the last 60 s (3 of 4 compared)',
    '',
    'Top mismatching fields (comparisons in which each one differed)',
    '  MISMATCHES  FIELD',
    '           1  /name',
    '           1  /note',
    '           1  /price',
    '           1  /tags',
    '           1  /title',
    '           1  status',
    '',
    'Noise fields (they differ between two answers of one backend, so they are not mismatches)',
    '  FIELD       SEEN  ABSORBED',
    '  /served_at     4         4',
    '',
    "Latest samples, newest first (3 of 3 stored; the primary's values on - lines, the shadow's on + lines)",
    '',
    sampleHead(0),
    'primary legacy (served the client), shadow new',
    '/note  changed',
    // Cut at 200 characters: the quote, 198 of the 300 letters, and an ellipsis.
    `- "${'x'.repeat(198)}…`,
    `+ "${'y'.repeat(198)}…`,
    'noise: /served_at',
    '',
    sampleHead(1),
    'primary legacy (served the client), shadow new',
    'status',
    '- 200',
    '+ 404',
    '/tags  order',
    '- ["a","b"]',
    '+ ["b","a"]',
    'noise: /served_at',
    '',
    sampleHead(2),
    'primary legacy (served the client), shadow new',
    '/title  missing',
    '- "Jacket"',
    '/price  changed',
    '- 10',
    '+ 12.5',
    '/name  extra',
    '+ "Jacket"',
    'noise: /served_at',
    ''
  ].join('\n'))
})

t.test('the - side is the primary whichever backend served the client', async (t) => {
  const { env } = await planted(t, { percents: { 'items-api': 100 }, only: ['renamed'] })
  const run = await runSwitchyard(t, ['diffs', 'items'], { env })

  t.equal(run.code, 0)
  t.match(run.stdout, [
    'primary new (served the client), shadow legacy',
    '/name  missing',
    '- "Jacket"',
    '/price  changed',
    '- 12.5',
    '+ 10',
    '/title  extra',
    '+ "Jacket"',
    'noise: /served_at',
    ''
  ].join('\n'))
})

t.test('diffs colours only a terminal, unless --color or --no-color says otherwise; NO_COLOR turns it off', async (t) => {
  const { env } = await planted(t, { only: ['renamed'] })
  const plain = await runSwitchyard(t, ['diffs', 'items'], { env })
  t.notMatch(plain.stdout, '\u001b', 'not a terminal: no escape codes')

  const forced = await runSwitchyard(t, ['diffs', 'items', '--color'], { env })
  t.equal(forced.code, 0)
  t.match(forced.stdout, '\u001b[31m- 10\u001b[39m\n', 'the primary in red')
  t.match(forced.stdout, '\u001b[32m+ 12.5\u001b[39m\n', 'the shadow in green')
  t.match(forced.stdout, '\u001b[2mnoise: /served_at\u001b[22m\n', 'noise dimmed')
  t.equal(stripVTControlCharacters(forced.stdout), plain.stdout, 'colour changes no text')

  const tty = await runSwitchyard(t, ['diffs', 'items'], { env, tty: true })
  t.match(tty.stdout, '\u001b[31m- 10\u001b[39m', 'a terminal gets colour')
  const noColour = await runSwitchyard(t, ['diffs', 'items'], { env: { ...env, NO_COLOR: '1' }, tty: true })
  t.notMatch(noColour.stdout, '\u001b', 'NO_COLOR turns it off at a terminal')
  const emptyNoColour = await runSwitchyard(t, ['diffs', 'items'], { env: { ...env, NO_COLOR: '' }, tty: true })
  t.match(emptyNoColour.stdout, '\u001b[', 'an empty NO_COLOR does not')
  const overridden = await runSwitchyard(t, ['diffs', 'items', '--color'], { env: { ...env, NO_COLOR: '1' }, tty: true })
  t.match(overridden.stdout, '\u001b[31m- 10', '--color wins over NO_COLOR')
  const off = await runSwitchyard(t, ['diffs', 'items', '--no-color'], { env, tty: true })
  t.notMatch(off.stdout, '\u001b', '--no-color wins over a terminal')
})

t.test('diffs --json prints exactly the admin API\'s answer, and --limit caps the samples shown', async (t) => {
  const { adminUrl, env } = await planted(t)

  const json = await runSwitchyard(t, ['diffs', 'items', '--json'], { env, tty: true })
  t.equal(json.code, 0)
  t.equal(json.stderr, '')
  t.equal(json.stdout, JSON.stringify(await adminJson(adminUrl, '/admin/shadow/items'), null, 2) + '\n')

  const heads = (stdout: string) => stdout.match(/^\S+ {2}GET \/items\/\S+/gm)?.map((h) => h.split('GET ')[1])
  t.same(heads((await runSwitchyard(t, ['diffs', 'items'], { env })).stdout), ['/items/long', '/items/gone', '/items/renamed'],
    'five by default, so all three')
  const one = await runSwitchyard(t, ['diffs', 'items', '--limit', '1'], { env })
  t.equal(one.code, 0)
  t.same(heads(one.stdout), ['/items/long'], 'the newest only')
  t.match(one.stdout, '(1 of 3 stored;')
  t.same(heads((await runSwitchyard(t, ['diffs', 'items', '--limit=2'], { env })).stdout), ['/items/long', '/items/gone'])
})

t.test('diffs with no route lists the shadowed routes, one line each', async (t) => {
  const { adminUrl, env } = await planted(t)
  const run = await runSwitchyard(t, ['diffs'], { env })

  t.equal(run.code, 0)
  t.equal(run.stderr, '')
  t.equal(run.stdout, [
    'ROUTE  PERCENT  COMPARED  MATCH RATE  MISMATCH RATE  TOP FIELD',
    'items     100%         4         25%            75%  /name (1)',
    '',
    "Mismatch rate over the last 60 s. `switchyard diffs <route>` shows a route's latest differences.",
    ''
  ].join('\n'))

  const json = await runSwitchyard(t, ['diffs', '--json'], { env })
  t.equal(json.stdout, JSON.stringify(await adminJson(adminUrl, '/admin/shadow'), null, 2) + '\n')
})

t.test('diffs says so when no route is shadowed', async (t) => {
  const upstream = await startUpstream(t, namedJson('legacy'))
  const { adminUrl } = await startGateway(t, { legacy: upstream.url, new: upstream.url })
  const run = await runSwitchyard(t, ['diffs'], { env: { SWITCHYARD_ADMIN_URL: adminUrl } })

  t.equal(run.code, 0)
  t.equal(run.stdout, "No route is shadowed. Add shadow: to a route in the gateway's config to compare its two backends.\n")
})

t.test('diffs counts drops and errors by reason, and says when there is no sample', async (t) => {
  const { env } = await planted(t, { only: ['huge', 'hung-up'], shadow: { max_body_bytes: 1024 } })
  const run = await runSwitchyard(t, ['diffs', 'items'], { env })

  t.equal(run.code, 0)
  t.equal(run.stdout, [
    'Route          items (100% of GET, HEAD requests shadowed, 100% also sent twice to learn noise)',
    'Counts         0 match, 0 mismatch, 1 error, 1 dropped',
    'Match rate     no comparison yet',
    'Mismatch rate  no comparison over the last 60 s',
    '',
    'Dropped: too_large 1',
    'Errors: reset 1',
    '',
    'No mismatches, so no samples.',
    ''
  ].join('\n'))
})

t.test('a route that is not shadowed exits 1 with a sentence naming the shadowed routes', async (t) => {
  const { env } = await planted(t, { only: ['same'] })
  for (const route of ['nope', 'search']) {
    const run = await runSwitchyard(t, ['diffs', route, '--json'], { env })
    t.equal(run.code, 1, route)
    t.equal(run.stdout, '')
    t.equal(run.stderr, `no route named "${route}" is shadowed; shadowed routes: items (SY_ERR_UNKNOWN_SHADOW_ROUTE, HTTP 404)\n`)
  }
})

t.test('a missing or wrong --limit, and other mistakes, exit 2 with a usage sentence before any request', async (t) => {
  const api = await startAdminApi(t)
  const env = { SWITCHYARD_ADMIN_URL: api.url }
  const usage = 'Usage: switchyard diffs [<route>] [--limit <n>] [--color|--no-color]\nRun `switchyard diffs --help` for more.\n'
  const cases: Array<[string[], string]> = [
    [['diffs', 'items', '--limit'], '--limit needs a value, as in --limit <n>.'],
    [['diffs', 'items', '--limit', '0'], '--limit must be a whole number of at least 1, got "0".'],
    [['diffs', 'items', '--limit', 'ten'], '--limit must be a whole number of at least 1, got "ten".'],
    [['diffs', 'items', '--limit', '-2'], '--limit must be a whole number of at least 1, got "-2".'],
    [['diffs', '--limit', '3'], '--limit counts the samples of one route: name the route, as in `switchyard diffs items --limit 3`.'],
    [['diffs', 'items', '--json', '--limit', '3'], '--json prints every stored sample, as the admin API answers; leave out ' +
      "--limit, or cut the samples afterwards, as in `switchyard diffs items --json | jq '.samples[:3]'`."],
    [['diffs', 'items', '--color', '--no-color'], '--color and --no-color contradict each other: give one of them.'],
    [['diffs', 'items', 'search'], 'Unexpected argument "search".'],
    [['diffs', ''], 'The route name is empty. `switchyard diffs` lists the shadowed routes.']
  ]
  for (const [argv, sentence] of cases) {
    const run = await runSwitchyard(t, argv, { env })
    t.equal(run.code, 2, argv.join(' '))
    t.equal(run.stdout, '')
    t.equal(run.stderr, `${sentence}\n${usage}`)
  }
  t.equal(api.requests.length, 0)
})
