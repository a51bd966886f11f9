// The per-route bookkeeping of shadow results: bounded counts, learned noise, the sliding mismatch window,
// the sample ring's memory cap and the redaction of what it keeps. All on an injected clock.
import t from 'tap'
import { FieldCounts, OTHER } from '../gateway/shadow/field-counts.ts'
import { NoiseSet } from '../gateway/shadow/noise-set.ts'
import { compileRedaction, REDACTED } from '../gateway/shadow/redact.ts'
import { SampleRing, truncate, type SampleInput } from '../gateway/shadow/sample-ring.ts'
import { ShadowStats } from '../gateway/shadow/shadow-stats.ts'
import type { Difference, DifferenceKind } from '../gateway/shadow/types.ts'

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0)

function diff (field: string, kind: DifferenceKind = 'changed', primary: unknown = 1, shadow: unknown = 2): Difference {
  return { path: field.replaceAll('*', '0'), field, kind, primary, shadow }
}

function input (requestId: string, primaryBody = '{"ok":true}', shadowBody = '{"ok":false}', path = '/items'): SampleInput {
  const headers = { 'content-type': 'application/json' }
  return {
    request: { method: 'GET', path, requestId },
    primary: { backend: 'legacy', status: 200, headers, body: Buffer.from(primaryBody) },
    shadow: { backend: 'new', status: 200, headers, body: Buffer.from(shadowBody) }
  }
}

// A small seeded generator, so that the "random" fields are the same on every run.
function random (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('past the field limit, new fields count as other, and the first ones keep their labels', async (t) => {
  const counts = new FieldCounts({ limit: 3 })
  t.same(['/a', '/b', '/c', '/d', '/e'].map((f) => counts.add(f)), ['/a', '/b', '/c', OTHER, OTHER])
  t.equal(counts.add('/a'), '/a', 'a field counted before the limit was reached keeps its label')
  t.equal(counts.labelFor('/c'), '/c')
  t.equal(counts.labelFor('/d'), OTHER)
  t.equal(counts.size, 4, 'limit + 1 labels')
  t.same(counts.top(), [{ field: '/a', count: 2 }, { field: OTHER, count: 2 }, { field: '/b', count: 1 }, { field: '/c', count: 1 }])
})

t.test('top lists by count, then by name, and stops at n', async (t) => {
  const counts = new FieldCounts()
  for (const [field, n] of [['/z', 2], ['/m', 5], ['/a', 2], ['/q', 1]] as const) for (let i = 0; i < n; i++) counts.add(field)
  t.same(counts.top(3), [{ field: '/m', count: 5 }, { field: '/a', count: 2 }, { field: '/z', count: 2 }])
})

t.test('a mismatch whose differences are all learned noise counts as a match', async (t) => {
  let now = T0
  const stats = new ShadowStats({ now: () => now })
  stats.learnNoise([diff('/updated_at'), diff('/items/*/etag'), diff('/items/*/etag'), diff('status')])
  t.same(stats.classify([diff('/updated_at'), diff('/price')]), { mismatches: [diff('/price')], noise: [diff('/updated_at')] })

  now += 1000
  const noiseOnly = stats.record({ result: 'mismatch', differences: [diff('/updated_at'), diff('/items/*/etag')], sample: input('r1') })
  t.same(noiseOnly, { result: 'match', mismatchFields: [], noiseFields: ['/updated_at', '/items/*/etag'] })
  const real = stats.record({ result: 'mismatch', differences: [diff('/updated_at'), diff('/price'), diff('status')], sample: input('r2') })
  t.same(real, { result: 'mismatch', mismatchFields: ['/price', 'status'], noiseFields: ['/updated_at'] }, 'status is never learned as noise')

  const snap = stats.snapshot()
  t.same(snap.counts, { match: 1, mismatch: 1, error: 0, dropped: 0 })
  t.equal(snap.matchRate, 0.5)
  t.equal(snap.matchesWithNoise, 1)
  t.same(snap.topFields, [{ field: '/price', count: 1 }, { field: 'status', count: 1 }])
  const firstSeen = new Date(T0).toISOString()
  t.same(snap.noiseFields, [
    { field: '/items/*/etag', timesSeen: 1, firstSeen, lastSeen: firstSeen, absorbed: 1 },
    { field: '/updated_at', timesSeen: 1, firstSeen, lastSeen: firstSeen, absorbed: 2 }
  ])
  t.same(stats.samples().map((s) => [s.request.requestId, s.differences.map((d) => d.field), s.noise]), [['r2', ['/price', 'status'], ['/updated_at']]])
})

t.test('the noise set counts sightings, keeps first and last times, and ignores new fields once full', async (t) => {
  const noise = new NoiseSet({ limit: 2 })
  noise.learn(['/a', '/b'], T0)
  noise.learn(['/a', '/c', '/d'], T0 + 5000)
  t.ok(noise.has('/a'))
  t.notOk(noise.has('/c'))
  t.equal(noise.ignoredWhenFull, 2)
  t.same(noise.list(), [
    { field: '/a', timesSeen: 2, firstSeen: '2026-11-21T12:00:00.000Z', lastSeen: '2026-11-21T12:00:05.000Z' },
    { field: '/b', timesSeen: 1, firstSeen: '2026-11-21T12:00:00.000Z', lastSeen: '2026-11-21T12:00:00.000Z' }
  ])
})

t.test('the mismatch rate forgets comparisons older than the window, and ignores errors and drops', async (t) => {
  let now = T0
  const stats = new ShadowStats({ windowSeconds: 60, now: () => now })
  t.same(stats.mismatchRate(), { rate: null, compared: 0, mismatched: 0 }, 'nothing compared yet')
  for (let i = 0; i < 3; i++) stats.record({ result: 'mismatch', differences: [diff('/price')], sample: input(`m${i}`) })
  stats.record({ result: 'match' })
  stats.record({ result: 'error', reason: 'timeout' })
  stats.record({ result: 'dropped', reason: 'concurrency' })
  t.same(stats.mismatchRate(), { rate: 0.75, compared: 4, mismatched: 3 })

  now += 30_000
  for (let i = 0; i < 4; i++) stats.record({ result: 'match' })
  t.same(stats.mismatchRate(), { rate: 3 / 8, compared: 8, mismatched: 3 })
  t.same(stats.mismatchRate(10), { rate: 0, compared: 4, mismatched: 0 }, 'a shorter window sees only the latest second')
  now += 30_000
  t.same(stats.mismatchRate(), { rate: 0, compared: 4, mismatched: 0 }, 'the first second has left the window')
  t.same(stats.snapshot().window, { seconds: 60, rate: 0, compared: 4, mismatched: 0 })
  now += 120_000
  t.same(stats.mismatchRate(), { rate: null, compared: 0, mismatched: 0 })
  t.same(stats.snapshot().counts, { match: 5, mismatch: 3, error: 1, dropped: 1 }, 'the totals since start stay')
})

t.test('the ring keeps the newest samples up to its capacity', async (t) => {
  const ring = new SampleRing({ capacity: 3, redactor: compileRedaction([]), now: () => T0 })
  for (let i = 0; i < 5; i++) t.ok(ring.add(input(`r${i}`), [diff('/ok')], []))
  t.equal(ring.length, 3)
  t.same(ring.list().map((s) => s.request.requestId), ['r4', 'r3', 'r2'])
  t.equal(ring.list()[0]!.time, '2026-11-21T12:00:00.000Z')
})

t.test('a body over the per-sample cap is cut, with a marker saying how much', async (t) => {
  const ring = new SampleRing({ bodyBytes: 1024, redactor: compileRedaction([]) })
  const bigJson = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i })) })
  ring.add(input('r1', bigJson, 'é'.repeat(3000)), [], [])
  const [s] = ring.list()
  t.equal(s!.primary.bodyFormat, 'text', 'JSON over the cap is kept as its (cut) text')
  const kept = Buffer.byteLength(s!.primary.body as string) - Buffer.byteLength(`…[${s!.primary.bodyCutBytes} bytes cut]`)
  t.equal(kept + s!.primary.bodyCutBytes, Buffer.byteLength(bigJson), 'the count is of the bytes not kept')
  t.match(s!.primary.body, /^\{"items":\[\{"id":0\}.*…\[\d+ bytes cut\]$/)
  t.ok(Buffer.byteLength(s!.shadow.body as string) <= 1024, 'marker included')
  t.match(s!.shadow.body, /^é+…\[\d+ bytes cut\]$/, 'cut between characters, never inside one')
  t.equal(s!.shadow.bodyCutBytes % 2, 0, 'whole two-byte characters cut')
  t.same(truncate('short', 1024), { text: 'short', cut: 0 })

  ring.add(input('r2', '{"a":[1,2]}', ''), [], [])
  t.same(ring.list()[0]!.primary, { backend: 'legacy', status: 200, headers: { 'content-type': 'application/json' }, body: { a: [1, 2] }, bodyFormat: 'json', bodyCutBytes: 0 })
})

t.test('a body nested too deeply to serialise is kept, its depths replaced', async (t) => {
  const ring = new SampleRing({ redactor: compileRedaction([]) })
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  t.ok(ring.add(input('r1', deep, deep), [diff('')], []), 'JSON.stringify of the parsed body would overflow the stack')
  t.equal(ring.list()[0]!.primary.bodyFormat, 'json')
  t.match(JSON.stringify(ring.list()[0]!.primary.body), /^\[{256}"\[redacted: nested too deeply\]"\]{256}$/)
})

t.test('the ring evicts the oldest samples to stay within its byte budget', async (t) => {
  const totalBytes = 128 * 1024
  const ring = new SampleRing({ capacity: 20, bodyBytes: 16 * 1024, totalBytes, redactor: compileRedaction([]) })
  const rand = random(7)
  for (let i = 0; i < 500; i++) {
    const body = 'x'.repeat(Math.floor(rand() * 64 * 1024))
    ring.add(input(`r${i}`, body, JSON.stringify({ body })), [diff('/body', 'changed', body, body.slice(1))], [])
    const measured = ring.list().reduce((sum, s) => sum + Buffer.byteLength(JSON.stringify(s)), 0)
    if (ring.bytes > totalBytes || measured !== ring.bytes) t.fail(`after insert ${i}: ${ring.bytes} counted, ${measured} measured`)
  }
  const ids = ring.list().map((s) => Number(s.request.requestId.slice(1)))
  t.ok(ids.length >= 1 && ids.length < 20, `evicted by bytes, not by count (${ids.length} kept)`)
  t.same(ids, ids.map((_, i) => 499 - i), 'the newest ones, oldest evicted first')
  t.ok(ring.list().every((s) => Buffer.byteLength(s.differences[0]!.primary as string) <= 512), 'difference values are cut too')
})

t.test('keys are redacted at any depth, whatever their case', async (t) => {
  const r = compileRedaction(['email', 'Token'])
  const body = { Email: 'a@b.co', user: { profile: { email: 'c@d.co', tokens: 3 } }, list: [{ TOKEN: 'x' }, { name: 'n' }] }
  t.same(r.json(body), { Email: REDACTED, user: { profile: { email: REDACTED, tokens: 3 } }, list: [{ TOKEN: REDACTED }, { name: 'n' }] })
  t.equal(body.user.profile.email, 'c@d.co', 'a copy: the value passed in is untouched')
  t.same(r.json(JSON.parse('{"__proto__":{"email":"e"}}')), JSON.parse('{"__proto__":{"email":"[redacted]"}}'))
})

t.test('pointer patterns redact one place, with * for any one segment and RFC 6901 escapes', async (t) => {
  const r = compileRedaction(['/users/*/card/number', '/meta/a~1b', '/meta/c~0d'])
  const body = { users: [{ card: { number: '4111', brand: 'visa' } }, { card: { number: '5500' } }], card: { number: 'kept' }, meta: { 'a/b': 1, 'c~d': 2, ab: 3 } }
  t.same(r.json(body), {
    users: [{ card: { number: REDACTED, brand: 'visa' } }, { card: { number: REDACTED } }],
    card: { number: 'kept' },
    meta: { 'a/b': REDACTED, 'c~d': REDACTED, ab: 3 }
  })
  t.same(r.json({ number: '4111', brand: 'visa' }, '/users/3/card'), { number: REDACTED, brand: 'visa' }, 'a value taken from inside a body')
  t.equal(r.json('4111', '/users/0/card/number'), REDACTED)
  t.throws(() => compileRedaction(['/a~2b']), { code: 'SY_ERR_CONFIG_INVALID' })
  t.throws(() => compileRedaction(['']), { code: 'SY_ERR_CONFIG_INVALID' })
})

t.test('text bodies lose email addresses, bearer tokens and credential-looking values', async (t) => {
  const r = compileRedaction(['ssn'])
  t.equal(r.text('mail jo.doe+x@mail.example.co.uk or a@b.io; pinned lodash@4.17.21'), `mail ${REDACTED} or ${REDACTED}; pinned lodash@4.17.21`)
  t.equal(r.text('Authorization: Bearer abc.DEF-123_xyz=='), `Authorization: Bearer ${REDACTED}`)
  t.equal(r.text('see /cb?access_token=s3cr3t&page=2&ssn=123'), `see /cb?access_token=${REDACTED}&page=2&ssn=${REDACTED}`)
  t.equal(r.text('{"ssn": "123-45", "api_key":42, "name":"n"}\n'), `{"ssn": "${REDACTED}", "api_key":"${REDACTED}", "name":"n"}\n`)
  t.equal(r.text('id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig end'), `id ${REDACTED} end`)
  t.equal(r.path('/users/a@b.co/orders?ssn=1&q=x%40y.com&sort=asc'), `/users/${REDACTED}/orders?ssn=${REDACTED}&q=${REDACTED}&sort=asc`)
})

t.test('credential headers are always redacted', async (t) => {
  const r = compileRedaction([])
  t.same(r.headers({
    Authorization: 'Bearer abcdefgh',
    cookie: 'session=1',
    'set-cookie': ['a=1', 'b=2'],
    'proxy-authorization': 'Basic eA==',
    'x-api-key': 'k',
    'x-csrf-token': 't',
    'content-type': 'application/json',
    location: '/next?token=abc',
    'x-absent': undefined
  }), {
    Authorization: REDACTED,
    cookie: REDACTED,
    'set-cookie': [REDACTED, REDACTED],
    'proxy-authorization': REDACTED,
    'x-api-key': REDACTED,
    'x-csrf-token': REDACTED,
    'content-type': 'application/json',
    location: `/next?token=${REDACTED}`
  })
})

t.test('samples keep only redacted headers, bodies, paths and difference values', async (t) => {
  const ring = new SampleRing({ redactor: compileRedaction(['email']), now: () => T0 })
  const sample = input('req-1', '{"user":{"email":"a@b.co","n":1}}', 'contact: c@d.co', '/u?email=a@b.co&x=1')
  sample.primary.headers = { authorization: 'Bearer abcdefgh', 'content-type': 'application/json' }
  ring.add(sample, [diff('/user/email', 'changed', 'a@b.co', 'c@d.co'), diff('/user', 'type', { email: 'a@b.co', n: 1 }, 'x'), diff('header:set-cookie', 'header', 's=1', 's=2')], [])
  const [s] = ring.list()
  t.same(s!.request, { method: 'GET', path: `/u?email=${REDACTED}&x=1`, requestId: 'req-1' })
  t.same(s!.primary.headers, { authorization: REDACTED, 'content-type': 'application/json' })
  t.same(s!.primary.body, { user: { email: REDACTED, n: 1 } })
  t.equal(s!.shadow.body, `contact: ${REDACTED}`)
  t.same(s!.differences.map((d) => [d.primary, d.shadow]), [[REDACTED, REDACTED], [{ email: REDACTED, n: 1 }, 'x'], [REDACTED, REDACTED]])
})

t.test('memory stays bounded after 100,000 records of random fields', async (t) => {
  let now = T0
  const rand = random(42)
  const opts = { fieldLimit: 50, noiseLimit: 200, samples: { capacity: 20, bodyBytes: 1024, totalBytes: 16 * 1024 } }
  const stats = new ShadowStats({ ...opts, now: () => now })
  const field = (): string => `/f${Math.floor(rand() * 100_000)}`
  const labels = new Set<string>()
  for (let i = 0; i < 100_000; i++) {
    now += 7
    const roll = rand()
    if (roll < 0.1) stats.learnNoise([diff(field()), diff(field())])
    else if (roll < 0.15) stats.record({ result: 'error', reason: `reason-${Math.floor(rand() * 1000)}` })
    else if (roll < 0.2) stats.record({ result: 'dropped', reason: `reason-${Math.floor(rand() * 1000)}` })
    else {
      const differences = Array.from({ length: 1 + Math.floor(rand() * 30) }, () => diff(field()))
      const body = JSON.stringify({ v: 'y'.repeat(Math.floor(rand() * 4096)) })
      for (const l of stats.record({ result: 'mismatch', differences, sample: input(`r${i}`, body, body) }).mismatchFields) labels.add(l)
    }
  }
  const snap = stats.snapshot()
  t.ok(labels.size <= opts.fieldLimit + 1, `${labels.size} field labels`)
  t.ok(labels.has(OTHER))
  t.equal(snap.topFields.length, 10)
  t.equal(snap.noiseFields.length, opts.noiseLimit)
  t.ok(snap.noiseIgnoredWhenFull > 0)
  t.ok(Object.keys(snap.errors).length <= 21 && Object.keys(snap.drops).length <= 21)
  t.ok(snap.errors[OTHER]! > 0)
  t.ok(stats.samples().length <= opts.samples.capacity)
  t.ok(snap.samples.bytes <= opts.samples.totalBytes)
  t.ok(stats.samples().every((s) => s.differences.length <= 20))
})
