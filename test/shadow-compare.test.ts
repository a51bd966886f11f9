// The shadow comparison engine: each test pins the exact differences two answers produce under a route's rules.
import t from 'tap'
import { checkCompareRules, compareAnswers, MAX_DIFFERENCES } from '../gateway/shadow/compare.ts'
import { compilePattern, escapeSegment, fieldPointer, joinPointer, parsePointer, unescapeSegment } from '../gateway/shadow/pointer.ts'
import type { Answer, CompareRules } from '../gateway/shadow/types.ts'

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' }

function rules (over: Partial<CompareRules> = {}): CompareRules {
  return { headers: ['content-type'], ignore: [], tolerance: { absolute: 0, relative: 0 }, unordered: [], ...over }
}

function json (value: unknown, status = 200, headers: Answer['headers'] = JSON_TYPE): Answer {
  return { status, headers, body: Buffer.from(JSON.stringify(value)) }
}

function text (body: string, headers: Answer['headers'] = { 'content-type': 'text/plain' }): Answer {
  return { status: 200, headers, body: Buffer.from(body) }
}

const item = (id: number) => ({ id, title: `item ${id}`, price: id * 10 })
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1)

t.test('identical answers have no differences', async (t) => {
  const body = { items: range(3).map(item), total: 3 }
  t.strictSame(compareAnswers(json(body), json(body), rules()), [])
})

t.test('the same JSON with other key order and spacing is equal', async (t) => {
  const a: Answer = { status: 200, headers: JSON_TYPE, body: Buffer.from('{"a":1,"b":[1,2]}') }
  const b: Answer = { status: 200, headers: JSON_TYPE, body: Buffer.from('{ "b": [1, 2],\n  "a": 1 }') }
  t.strictSame(compareAnswers(a, b, rules()), [])
})

t.test('a renamed field is one missing and one extra', async (t) => {
  t.strictSame(compareAnswers(json({ id: 1, title: 'Coat' }), json({ id: 1, name: 'Coat' }), rules()), [
    { path: '/title', field: '/title', kind: 'missing', primary: 'Coat' },
    { path: '/name', field: '/name', kind: 'extra', shadow: 'Coat' }
  ])
})

t.test('a changed string is changed', async (t) => {
  t.strictSame(compareAnswers(json({ size: 'M' }), json({ size: 'L' }), rules()), [
    { path: '/size', field: '/size', kind: 'changed', primary: 'M', shadow: 'L' }
  ])
})

t.test('a value of another JSON type is type', async (t) => {
  t.strictSame(compareAnswers(json({ price: 12, tags: null }), json({ price: '12', tags: [] }), rules()), [
    { path: '/price', field: '/price', kind: 'type', primary: 12, shadow: '12' },
    { path: '/tags', field: '/tags', kind: 'type', primary: null, shadow: [] }
  ])
})

t.test('a number outside the tolerance is changed', async (t) => {
  const r = rules({ tolerance: { absolute: 0.01, relative: 0.001 } })
  t.strictSame(compareAnswers(json({ price: 10 }), json({ price: 10.5 }), r), [
    { path: '/price', field: '/price', kind: 'changed', primary: 10, shadow: 10.5 }
  ])
})

t.test('a number inside the absolute tolerance is equal', async (t) => {
  const r = rules({ tolerance: { absolute: 0.01, relative: 0 } })
  t.strictSame(compareAnswers(json({ price: 10 }), json({ price: 10.005 }), r), [])
})

t.test('a number inside the relative tolerance is equal', async (t) => {
  const r = rules({ tolerance: { absolute: 0, relative: 0.001 } })
  t.strictSame(compareAnswers(json({ views: 100_000 }), json({ views: 100_050 }), r), [])
  t.equal(compareAnswers(json({ views: 100 }), json({ views: 100.5 }), r).length, 1, 'the same 0.05% step on a small number is not')
})

t.test('an array in another order is one order difference where order matters', async (t) => {
  t.strictSame(compareAnswers(json({ tags: ['a', 'b', 'c'] }), json({ tags: ['c', 'a', 'b'] }), rules()), [
    { path: '/tags', field: '/tags', kind: 'order', primary: ['a', 'b', 'c'], shadow: ['c', 'a', 'b'] }
  ])
})

t.test('an array in another order is equal at an unordered path', async (t) => {
  const r = rules({ unordered: [{ path: '/tags' }] })
  t.strictSame(compareAnswers(json({ tags: ['a', 'b', 'c'] }), json({ tags: ['c', 'a', 'b'] }), r), [])
})

t.test('an unordered array without a key reports the elements on one side only', async (t) => {
  const r = rules({ unordered: [{ path: '/tags' }] })
  t.strictSame(compareAnswers(json({ tags: ['a', 'b', 'c'] }), json({ tags: ['d', 'c', 'a'] }), r), [
    { path: '/tags/1', field: '/tags/*', kind: 'missing', primary: 'b' },
    { path: '/tags/0', field: '/tags/*', kind: 'extra', shadow: 'd' }
  ])
})

t.test('an unordered array without a key matches elements within the tolerance', async (t) => {
  const r = rules({ unordered: [{ path: '' }], tolerance: { absolute: 0.01, relative: 0 } })
  t.strictSame(compareAnswers(json([{ p: 1 }, { p: 2 }, { p: 3 }]), json([{ p: 2.001 }, { p: 5 }, { p: 0.999 }]), r), [
    { path: '/2', field: '/*', kind: 'missing', primary: { p: 3 } },
    { path: '/1', field: '/*', kind: 'extra', shadow: { p: 5 } }
  ])
})

t.test('a keyed unordered array reports a changed member at the primary index', async (t) => {
  const primary = range(5).map(item)
  const shadow = [item(5), item(3), item(1), item(4), item(2)]
  shadow[1] = { ...item(3), price: 31 }
  const r = rules({ unordered: [{ path: '/items', key: 'id' }] })
  t.strictSame(compareAnswers(json({ items: primary }), json({ items: shadow }), r), [
    { path: '/items/2/price', field: '/items/*/price', kind: 'changed', primary: 30, shadow: 31 }
  ])
})

t.test('a keyed unordered array reports unmatched keys as missing and extra', async (t) => {
  const r = rules({ unordered: [{ path: '/items', key: 'id' }] })
  t.strictSame(compareAnswers(json({ items: [item(1), item(2), { title: 'no id' }] }), json({ items: [item(9), item(1)] }), r), [
    { path: '/items/1', field: '/items/*', kind: 'missing', primary: item(2) },
    { path: '/items/2', field: '/items/*', kind: 'missing', primary: { title: 'no id' } },
    { path: '/items/0', field: '/items/*', kind: 'extra', shadow: item(9) }
  ])
})

t.test('an element missing in the middle of an ordered array is one missing at its index', async (t) => {
  const primary = range(10).map(item)
  const shadow = primary.filter((x) => x.id !== 5)
  t.strictSame(compareAnswers(json({ items: primary }), json({ items: shadow }), rules()), [
    { path: '/items/4', field: '/items/*', kind: 'missing', primary: item(5) }
  ])
})

t.test('an element inserted into an ordered array is one extra at its shadow index', async (t) => {
  const primary = range(10).map(item)
  const shadow = [...primary.slice(0, 7), item(99), ...primary.slice(7)]
  t.strictSame(compareAnswers(json({ items: primary }), json({ items: shadow }), rules()), [
    { path: '/items/7', field: '/items/*', kind: 'extra', shadow: item(99) }
  ])
})

t.test('elements missing at two places of an ordered array are two missing at their indexes', async (t) => {
  const primary = range(10).map(item)
  const shadow = primary.filter((x) => x.id !== 3 && x.id !== 8)
  t.strictSame(compareAnswers(json({ items: primary }), json({ items: shadow }), rules()), [
    { path: '/items/2', field: '/items/*', kind: 'missing', primary: item(3) },
    { path: '/items/7', field: '/items/*', kind: 'missing', primary: item(8) }
  ])
})

t.test('an unordered array inside elements does not stop them aligning', async (t) => {
  const r = rules({ unordered: [{ path: '/*/tags' }] })
  const primary = [{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: ['c'] }, { id: 3, tags: ['d', 'e'] }]
  const shadow = [{ id: 1, tags: ['b', 'a'] }, { id: 3, tags: ['e', 'd'] }]
  t.strictSame(compareAnswers(json(primary), json(shadow), r), [
    { path: '/1', field: '/*', kind: 'missing', primary: { id: 2, tags: ['c'] } }
  ])
})

t.test('an element changed in place is walked field by field', async (t) => {
  const primary = range(6).map(item)
  const shadow = primary.map((x) => (x.id === 3 ? { ...x, title: 'renamed' } : x))
  t.strictSame(compareAnswers(json({ items: primary }), json({ items: shadow }), rules()), [
    { path: '/items/2/title', field: '/items/*/title', kind: 'changed', primary: 'item 3', shadow: 'renamed' }
  ])
})

t.test('elements equal within the tolerance align as equal', async (t) => {
  const r = rules({ tolerance: { absolute: 0.01, relative: 0 } })
  const primary = [{ p: 1 }, { p: 2 }, { p: 3 }, { p: 4 }]
  const shadow = [{ p: 1.001 }, { p: 3.002 }, { p: 4 }]
  t.strictSame(compareAnswers(json(primary), json(shadow), r), [
    { path: '/1', field: '/*', kind: 'missing', primary: { p: 2 } }
  ])
})

t.test('an element missing from an array beyond the alignment limit is still one missing', async (t) => {
  const primary = range(2000)
  const shadow = primary.filter((x) => x !== 1000)
  t.strictSame(compareAnswers(json(primary), json(shadow), rules()), [
    { path: '/999', field: '/*', kind: 'missing', primary: 1000 }
  ])
})

t.test('a long array with edits at both ends of its middle still aligns element by element', async (t) => {
  const primary = range(2000).map(item)
  const shadow = primary.filter((x) => x.id !== 300).map((x) => (x.id === 1500 ? { ...x, title: 'renamed' } : x))
  t.strictSame(compareAnswers(json({ items: primary }), json({ items: shadow }), rules()), [
    { path: '/items/299', field: '/items/*', kind: 'missing', primary: item(300) },
    { path: '/items/1499/title', field: '/items/*/title', kind: 'changed', primary: 'item 1500', shadow: 'renamed' }
  ])
})

t.test('a different status is one status difference', async (t) => {
  t.strictSame(compareAnswers(json({ ok: true }), json({ ok: true }, 201), rules()), [
    { path: 'status', field: 'status', kind: 'status', primary: 200, shadow: 201 }
  ])
})

t.test('a content-type differing only in case and spacing is equal', async (t) => {
  const a = json({ ok: true }, 200, { 'content-type': 'application/json; charset=utf-8' })
  const b = json({ ok: true }, 200, { 'content-type': 'Application/JSON;charset=UTF-8 ' })
  t.strictSame(compareAnswers(a, b, rules()), [])
})

t.test('a different content-type is a header difference', async (t) => {
  const a = json({ ok: true }, 200, { 'content-type': 'application/json' })
  const b = json({ ok: true }, 200, { 'content-type': 'application/problem+json' })
  t.strictSame(compareAnswers(a, b, rules()), [
    { path: 'header:content-type', field: 'header:content-type', kind: 'header', primary: 'application/json', shadow: 'application/problem+json' }
  ])
})

t.test('a compared header on one side only is a header difference without the other value', async (t) => {
  const a = json({}, 200, { ...JSON_TYPE, 'cache-control': ['no-store', 'private'] })
  t.strictSame(compareAnswers(a, json({}), rules({ headers: ['content-type', 'cache-control'] })), [
    { path: 'header:cache-control', field: 'header:cache-control', kind: 'header', primary: 'no-store, private' }
  ])
})

t.test('non-JSON bodies that differ are one body difference with their SHA-256', async (t) => {
  t.strictSame(compareAnswers(text('hello'), text('world'), rules()), [
    {
      path: '',
      field: '',
      kind: 'body',
      primary: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
      shadow: '486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7'
    }
  ])
})

t.test('a JSON content-type on a body that does not parse is compared by hash', async (t) => {
  const diffs = compareAnswers(text('{"a":', JSON_TYPE), text('{"a":1}', JSON_TYPE), rules())
  t.strictSame(diffs.map((d) => [d.path, d.kind]), [['', 'body']])
})

t.test('JSON on one side only is a body difference', async (t) => {
  const diffs = compareAnswers(json({ a: 1 }), text('a=1', JSON_TYPE), rules())
  t.strictSame(diffs.map((d) => [d.path, d.kind]), [['', 'body']])
})

t.test('without a content-type, a body that parses is compared as JSON', async (t) => {
  t.strictSame(compareAnswers(json({ a: 1 }, 200, {}), json({ a: 2 }, 200, {}), rules()), [
    { path: '/a', field: '/a', kind: 'changed', primary: 1, shadow: 2 }
  ])
})

t.test('empty bodies on both sides are equal', async (t) => {
  t.strictSame(compareAnswers(text('', {}), text('', JSON_TYPE), rules({ headers: [] })), [])
})

t.test('ignored paths with wildcards are not compared', async (t) => {
  const r = rules({ ignore: ['/items/*/updated_at', '/meta/*'] })
  const a = { items: [{ id: 1, updated_at: 'mon' }, { id: 2, updated_at: 'tue' }], meta: { took: 3 } }
  const b = { items: [{ id: 1, updated_at: 'wed' }, { id: 2 }], meta: { took: 9, trace: 'x' } }
  t.strictSame(compareAnswers(json(a), json(b), r), [])
})

t.test('ignored paths do not count when deciding an order difference', async (t) => {
  const r = rules({ ignore: ['/items/*/updated_at'] })
  const a = { items: [{ id: 1, updated_at: 'mon' }, { id: 2, updated_at: 'tue' }] }
  const b = { items: [{ id: 2, updated_at: 'fri' }, { id: 1, updated_at: 'sat' }] }
  t.strictSame(compareAnswers(json(a), json(b), r).map((d) => [d.path, d.kind]), [['/items', 'order']])
})

t.test('keys with / and ~ are escaped in the path and the field', async (t) => {
  t.strictSame(compareAnswers(json({ 'a/b': { '~c': 1 } }), json({ 'a/b': { '~c': 2 } }), rules()), [
    { path: '/a~1b/~0c', field: '/a~1b/~0c', kind: 'changed', primary: 1, shadow: 2 }
  ])
})

t.test('an object key that looks like an index is kept in the field', async (t) => {
  const a = { byId: { 3: { stock: [5, 6] } } }
  const b = { byId: { 3: { stock: [5, 7] } } }
  t.strictSame(compareAnswers(json(a), json(b), rules()), [
    { path: '/byId/3/stock/1', field: '/byId/3/stock/*', kind: 'changed', primary: 6, shadow: 7 }
  ])
})

t.test('a comparison stops at the difference cap', async (t) => {
  const a = Object.fromEntries(range(300).map((i) => [`k${i}`, i]))
  const b = Object.fromEntries(range(300).map((i) => [`k${i}`, -i]))
  const diffs = compareAnswers(json(a), json(b), rules())
  t.equal(diffs.length, MAX_DIFFERENCES)
  t.equal(MAX_DIFFERENCES, 100)
  t.strictSame(diffs[0], { path: '/k1', field: '/k1', kind: 'changed', primary: 1, shadow: -1 })
  t.strictSame(diffs[99], { path: '/k100', field: '/k100', kind: 'changed', primary: 100, shadow: -100 })
})

t.test('checkCompareRules accepts good rules', async (t) => {
  t.strictSame(checkCompareRules(rules({
    ignore: ['', '/items/*/updated_at', '/a~1b'],
    tolerance: { absolute: 0.01, relative: 0.001 },
    unordered: [{ path: '/items', key: 'id' }, { path: '/tags' }]
  })), [])
})

t.test('checkCompareRules names each bad rule and its fix', async (t) => {
  t.strictSame(checkCompareRules({
    headers: ['Content-Type', 'etag'],
    ignore: ['items/*', '/a~2'],
    tolerance: { absolute: -1, relative: Number.NaN },
    unordered: [{ path: '/tags' }, { path: '/tags', key: 'id' }, { path: '/*' }, { path: '/x', key: '' }]
  }), [
    'headers[0]: "Content-Type" is not a header name in lower case; write it as Node gives it, e.g. "content-type"',
    'ignore[0]: "items/*" is not a JSON Pointer: it must start with \'/\' (or be \'\' for the whole document)',
    'ignore[1]: "a~2" has a \'~\' that is not \'~0\' or \'~1\'; write a literal \'~\' as \'~0\' and \'/\' as \'~1\' (RFC 6901)',
    'tolerance.absolute: -1 must be a number >= 0 (0 compares exactly)',
    'tolerance.relative: NaN must be a number >= 0 (0 compares exactly)',
    'unordered[1].path: "/tags" is already unordered[0]; declare each path once',
    'unordered[2].path: "/*" and unordered[0] "/tags" match the same arrays; an array must match one entry',
    'unordered[2].path: "/*" and unordered[1] "/tags" match the same arrays; an array must match one entry',
    'unordered[3].key: "" names no member; leave key out to match whole elements',
    'unordered[3].path: "/x" and unordered[2] "/*" match the same arrays; an array must match one entry'
  ])
})

t.test('pointer segments escape and unescape per RFC 6901', async (t) => {
  t.equal(escapeSegment('a/b~c'), 'a~1b~0c')
  t.equal(unescapeSegment('a~1b~0c'), 'a/b~c')
  t.equal(unescapeSegment('~01'), '~1', '~01 is a literal ~1, not /')
  t.strictSame(parsePointer(''), [])
  t.strictSame(parsePointer('/a~1b/0/'), ['a/b', '0', ''])
  t.equal(joinPointer(['a/b', 0, '']), '/a~1b/0/')
  t.equal(fieldPointer(['items', 0, '3']), '/items/*/3')
  t.throws(() => parsePointer('a/b'), /must start with '\/'/)
})

t.test('a pattern matches one segment per * and the exact length', async (t) => {
  const m = compilePattern('/items/*/price')
  t.ok(m(['items', 3, 'price']))
  t.ok(m(['items', 'x', 'price']))
  t.notOk(m(['items', 3, 'price', 'amount']))
  t.notOk(m(['items', 'price']))
  t.notOk(m(['other', 3, 'price']))
  t.ok(compilePattern('')([]))
})
