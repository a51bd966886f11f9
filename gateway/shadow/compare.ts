// The shadow comparison: where two answers to the same request differ once the route's rules have
// normalised them. Pure and synchronous, so the caller decides when to spend the CPU (off the client's path)
// and tests pin every case without a server.
import { createHash } from 'node:crypto'
import { compilePattern, compilePatterns, fieldPointer, joinPointer, parsePointer, patternsOverlap } from './pointer.ts'
import type { PointerMatcher, Segment } from './pointer.ts'
import type { Answer, CompareRules, Difference, DifferenceKind } from './types.ts'

/**
 * A comparison stops walking once it has this many differences, and reports those: an answer that differs
 * everywhere is a mismatch either way, and the count and the sample only need the first few, so a huge
 * mismatch cannot cost unbounded memory or CPU.
 */
export const MAX_DIFFERENCES = 100
/** The longest range (once common ends are trimmed) aligned by a full LCS table; see align for longer ones. */
const LCS_MAX_LENGTH = 500
/** Table cells all the alignments of one comparison may use: nested arrays cannot multiply the cost. */
const LCS_CELL_BUDGET = 2_000_000
// RFC 9110 §5.1: a field name is a token; the rules name them as Node gives them, in lower case.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

interface Walk {
  readonly ignored: PointerMatcher
  readonly unordered: ReadonlyArray<{ readonly match: PointerMatcher, readonly key: string | undefined }>
  readonly absolute: number
  readonly relative: number
  readonly tolerant: boolean
  /** The path of the node being compared: numbers are array indexes, so `field` never guesses from digits. */
  readonly segs: Segment[]
  readonly out: Difference[]
  cells: number
}

/** A value's normalised form: ignored paths left out, keys sorted, unordered arrays sorted. */
interface Norm {
  readonly canon: string
  /** The canonical form with every number written '#' (only with a tolerance), and those numbers in order. */
  readonly shape: string
  readonly numbers: readonly number[]
}
const NO_NUMBERS: readonly number[] = []
// Not valid JSON, so an ignored element equals every ignored element and nothing else.
const IGNORED: Norm = { canon: '?', shape: '?', numbers: NO_NUMBERS }

export function compareAnswers (primary: Answer, shadow: Answer, rules: CompareRules): Difference[] {
  const out: Difference[] = []
  if (primary.status !== shadow.status) {
    out.push({ path: 'status', field: 'status', kind: 'status', primary: primary.status, shadow: shadow.status })
  }
  for (const name of rules.headers) {
    const a = headerValue(primary.headers[name])
    const b = headerValue(shadow.headers[name])
    if (!sameHeader(name, a, b) && out.length < MAX_DIFFERENCES) {
      out.push(difference(`header:${name}`, `header:${name}`, 'header', a, b))
    }
  }
  // Identical bytes are equal whatever the rules say: the common case costs no parse.
  if (primary.body.equals(shadow.body) || out.length >= MAX_DIFFERENCES) return out
  const a = parseJson(primary)
  const b = parseJson(shadow)
  if (a === undefined || b === undefined) {
    out.push(difference('', '', 'body', sha256(primary.body), sha256(shadow.body)))
    return out
  }
  walk(startWalk(rules, out), a.value, b.value)
  return out
}

/** What is wrong with the rules, one message per problem naming the key and the fix; [] when they are usable. */
export function checkCompareRules (rules: CompareRules): string[] {
  const problems: string[] = []
  rules.headers.forEach((h, i) => {
    if (!HEADER_NAME.test(h)) problems.push(`headers[${i}]: ${JSON.stringify(h)} is not a header name in lower case; write it as Node gives it, e.g. "content-type"`)
  })
  rules.ignore.forEach((p, i) => {
    const problem = pointerProblem(p)
    if (problem !== null) problems.push(`ignore[${i}]: ${problem}`)
  })
  for (const name of ['absolute', 'relative'] as const) {
    const v = rules.tolerance[name]
    if (!Number.isFinite(v) || v < 0) problems.push(`tolerance.${name}: ${v} must be a number >= 0 (0 compares exactly)`)
  }
  const valid: number[] = []
  rules.unordered.forEach((u, i) => {
    if (u.key === '') problems.push(`unordered[${i}].key: "" names no member; leave key out to match whole elements`)
    const problem = pointerProblem(u.path)
    if (problem !== null) {
      problems.push(`unordered[${i}].path: ${problem}`)
      return
    }
    for (const k of valid) {
      const other = (rules.unordered[k] as { path: string }).path
      if (other === u.path) problems.push(`unordered[${i}].path: "${u.path}" is already unordered[${k}]; declare each path once`)
      else if (patternsOverlap(other, u.path)) {
        problems.push(`unordered[${i}].path: "${u.path}" and unordered[${k}] "${other}" match the same arrays; an array must match one entry`)
      }
    }
    valid.push(i)
  })
  return problems
}

function pointerProblem (pattern: string): string | null {
  try {
    parsePointer(pattern)
    return null
  } catch (err) {
    return (err as Error).message
  }
}

function startWalk (rules: CompareRules, out: Difference[]): Walk {
  const { absolute, relative } = rules.tolerance
  return {
    ignored: compilePatterns(rules.ignore),
    unordered: rules.unordered.map((u) => ({ match: compilePattern(u.path), key: u.key })),
    absolute,
    relative,
    tolerant: absolute > 0 || relative > 0,
    segs: [],
    out,
    cells: LCS_CELL_BUDGET
  }
}

function difference (path: string, field: string, kind: DifferenceKind, primary: unknown, shadow: unknown): Difference {
  const d: Difference = { path, field, kind }
  // Absent, not undefined: JSON has no undefined, so a key present with undefined would read as a value.
  if (primary !== undefined) d.primary = primary
  if (shadow !== undefined) d.shadow = shadow
  return d
}

function headerValue (v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v
}

function sameHeader (name: string, a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return name === 'content-type' ? normaliseMediaType(a) === normaliseMediaType(b) : a === b
}

// RFC 9110 §8.3.1: type, subtype, parameter names and the charset are case-insensitive, and whitespace
// around ';' is optional, so 'Application/JSON; charset=UTF-8' is 'application/json;charset=utf-8'.
function normaliseMediaType (v: string): string {
  return v.toLowerCase().split(';').map((p) => p.split('=').map((s) => s.trim()).join('=')).filter((p) => p !== '').join(';')
}

function parseJson (answer: Answer): { value: Json } | undefined {
  const type = headerValue(answer.headers['content-type'])
  if (type !== undefined && !type.toLowerCase().includes('json')) return undefined
  try {
    // Numbers become doubles: integers past 2^53 that differ only beyond that precision compare equal.
    return { value: JSON.parse(answer.body.toString('utf8')) as Json }
  } catch {
    return undefined // a body that does not parse is compared by its bytes, like any other
  }
}

function sha256 (body: Buffer): string {
  return createHash('sha256').update(body).digest('hex')
}

function full (w: Walk): boolean {
  return w.out.length >= MAX_DIFFERENCES
}

function emit (w: Walk, kind: DifferenceKind, primary: unknown, shadow: unknown): void {
  if (!full(w)) w.out.push(difference(joinPointer(w.segs), fieldPointer(w.segs), kind, primary, shadow))
}

/** A 'missing' or 'extra' one step below the current node, unless that path is ignored. */
function emitChild (w: Walk, seg: Segment, kind: 'missing' | 'extra', value: unknown): void {
  w.segs.push(seg)
  if (!w.ignored(w.segs)) emit(w, kind, kind === 'missing' ? value : undefined, kind === 'extra' ? value : undefined)
  w.segs.pop()
}

function walkChild (w: Walk, seg: Segment, a: Json, b: Json): void {
  w.segs.push(seg)
  walk(w, a, b)
  w.segs.pop()
}

function typeOf (v: Json): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
}

function close (w: Walk, x: number, y: number): boolean {
  const d = Math.abs(x - y)
  return d <= w.absolute || d <= w.relative * Math.max(Math.abs(x), Math.abs(y))
}

function walk (w: Walk, a: Json, b: Json): void {
  if (full(w) || w.ignored(w.segs)) return
  const type = typeOf(a)
  if (type !== typeOf(b)) return emit(w, 'type', a, b)
  if (type === 'array') return walkArray(w, a as Json[], b as Json[])
  if (type === 'object') return walkObject(w, a as JsonObject, b as JsonObject)
  if (type === 'number' ? !close(w, a as number, b as number) : a !== b) emit(w, 'changed', a, b)
}

function walkObject (w: Walk, a: JsonObject, b: JsonObject): void {
  for (const key of Object.keys(a)) {
    if (full(w)) return
    if (Object.hasOwn(b, key)) walkChild(w, key, a[key] as Json, b[key] as Json)
    else emitChild(w, key, 'missing', a[key])
  }
  for (const key of Object.keys(b)) {
    if (full(w)) return
    if (!Object.hasOwn(a, key)) emitChild(w, key, 'extra', b[key])
  }
}

function unorderedRule (w: Walk): Walk['unordered'][number] | undefined {
  return w.unordered.find((u) => u.match(w.segs))
}

function walkArray (w: Walk, a: Json[], b: Json[]): void {
  const rule = unorderedRule(w)
  if (rule === undefined) walkOrdered(w, a, b)
  else if (rule.key !== undefined) walkKeyed(w, a, b, rule.key)
  else walkMultiset(w, a, b)
}

interface Alignment {
  readonly na: Norm[]
  readonly nb: Norm[]
  /** Each element's canonical form as a small integer, shared by both sides. */
  readonly ca: Int32Array
  readonly cb: Int32Array
  readonly eq: (i: number, j: number) => boolean
}

/**
 * Elements equal for the alignment: the same canonical form, or, with a tolerance, the same shape and every
 * number close. The shape check makes the tolerant case exact and cheap (no walk per pair of the table):
 * equal shapes mean the same keys, strings, booleans and structure in the same canonical order, so only the
 * numbers are left. Elements equal only through an unordered array sorted differently on each side are
 * missed here; they are then paired in a gap and walked, which reports nothing for them.
 */
function alignment (w: Walk, a: Json[], b: Json[]): Alignment {
  const na = normaliseElements(w, a)
  const nb = normaliseElements(w, b)
  const canon = new Map<string, number>()
  const shape = new Map<string, number>()
  const ca = ids(na, 'canon', canon)
  const cb = ids(nb, 'canon', canon)
  if (!w.tolerant) return { na, nb, ca, cb, eq: (i, j) => ca[i] === cb[j] }
  const sa = ids(na, 'shape', shape)
  const sb = ids(nb, 'shape', shape)
  const numbersClose = (xs: readonly number[], ys: readonly number[]) => xs.every((x, k) => close(w, x, ys[k] as number))
  return {
    na,
    nb,
    ca,
    cb,
    eq: (i, j) => ca[i] === cb[j] || (sa[i] === sb[j] && numbersClose((na[i] as Norm).numbers, (nb[j] as Norm).numbers))
  }
}

function walkOrdered (w: Walk, a: Json[], b: Json[]): void {
  const al = alignment(w, a, b)
  const { na, nb, eq } = al
  let lo = 0
  while (lo < a.length && lo < b.length && eq(lo, lo)) lo++
  if (lo === a.length && lo === b.length) return
  // Exact forms only: elements equal just within the tolerance and also reordered come out as missing and extra.
  if (a.length === b.length && sameMultiset(na, nb)) return emit(w, 'order', a, b)
  let hiA = a.length
  let hiB = b.length
  while (hiA > lo && hiB > lo && eq(hiA - 1, hiB - 1)) { hiA--; hiB-- }
  let pa = lo
  let pb = lo
  for (const [i, j] of [...align(w, al, lo, hiA, lo, hiB), [hiA, hiB]] as const) {
    walkGap(w, a, b, pa, i, pb, j)
    pa = i + 1
    pb = j + 1
  }
}

/**
 * Between two matched elements, the gaps are paired index by index and walked (an element changed in place
 * is reported field by field), and the longer gap's surplus is missing (primary index) or extra (shadow index).
 */
function walkGap (w: Walk, a: Json[], b: Json[], a0: number, a1: number, b0: number, b1: number): void {
  const paired = Math.min(a1 - a0, b1 - b0)
  for (let k = 0; k < paired && !full(w); k++) walkChild(w, a0 + k, a[a0 + k] as Json, b[b0 + k] as Json)
  for (let i = a0 + paired; i < a1 && !full(w); i++) emitChild(w, i, 'missing', a[i])
  for (let j = b0 + paired; j < b1 && !full(w); j++) emitChild(w, j, 'extra', b[j])
}

/**
 * The matched index pairs of a[a0..a1) and b[b0..b1). Ranges too long for the table are first cut at the
 * elements that occur once on each side and in the same order (patience diff): in a long list of records
 * those are nearly all the unchanged ones, so one removal or edit in 10,000 elements still aligns exactly.
 * What lies between two such anchors is aligned by LCS when short enough, and index by index when not.
 */
function align (w: Walk, al: Alignment, a0: number, a1: number, b0: number, b1: number): Array<[number, number]> {
  if (a1 - a0 <= LCS_MAX_LENGTH && b1 - b0 <= LCS_MAX_LENGTH) return lcs(w, a0, a1, b0, b1, al.eq)
  const pairs: Array<[number, number]> = []
  let pa = a0
  let pb = b0
  for (const [i, j] of [...anchors(al, a0, a1, b0, b1), [a1, b1]] as const) {
    for (const p of lcs(w, pa, i, pb, j, al.eq)) pairs.push(p)
    if (i < a1) pairs.push([i, j])
    pa = i + 1
    pb = j + 1
  }
  return pairs
}

function anchors (al: Alignment, a0: number, a1: number, b0: number, b1: number): Array<[number, number]> {
  // id → its index, or -1 once it is seen twice
  const once = (ids: Int32Array, from: number, to: number) => {
    const at = new Map<number, number>()
    for (let i = from; i < to; i++) at.set(ids[i] as number, at.has(ids[i] as number) ? -1 : i)
    return at
  }
  const inA = once(al.ca, a0, a1)
  const inB = once(al.cb, b0, b1)
  const pairs: Array<[number, number]> = []
  for (let i = a0; i < a1; i++) {
    const j = inA.get(al.ca[i] as number) === i ? inB.get(al.ca[i] as number) : undefined
    if (j !== undefined && j >= 0) pairs.push([i, j])
  }
  return increasingRun(pairs)
}

/** The longest run of pairs (in a's order) whose b indexes also increase: O(k log k) patience sorting. */
function increasingRun (pairs: Array<[number, number]>): Array<[number, number]> {
  const tails: number[] = [] // tails[len]: the pair ending the best run of length len + 1 found so far
  const prev = new Int32Array(pairs.length).fill(-1)
  const bOf = (k: number) => (pairs[k] as [number, number])[1]
  pairs.forEach(([, j], k) => {
    let lo = 0
    let hi = tails.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (bOf(tails[mid] as number) < j) lo = mid + 1
      else hi = mid
    }
    if (lo > 0) prev[k] = tails[lo - 1] as number
    tails[lo] = k
  })
  const run: Array<[number, number]> = []
  for (let k = tails.at(-1) ?? -1; k >= 0; k = prev[k] as number) run.push(pairs[k] as [number, number])
  return run.reverse()
}

/** The matched index pairs of a longest common subsequence of a[a0..a1) and b[b0..b1), or none when too big. */
function lcs (w: Walk, a0: number, a1: number, b0: number, b1: number, eq: (i: number, j: number) => boolean): Array<[number, number]> {
  const n = a1 - a0
  const m = b1 - b0
  if (n === 0 || m === 0 || n > LCS_MAX_LENGTH || m > LCS_MAX_LENGTH || n * m > w.cells) return []
  w.cells -= n * m
  // Suffix lengths, so the pairs come out in order walking forward from (0, 0).
  const width = m + 1
  const t = new Uint16Array((n + 1) * width)
  const at = (i: number, j: number) => t[i * width + j] as number
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      t[i * width + j] = eq(a0 + i, b0 + j) ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1))
    }
  }
  const pairs: Array<[number, number]> = []
  let i = 0
  let j = 0
  while (i < n && j < m) {
    // Taking a match whenever the elements are equal never shortens the subsequence.
    if (eq(a0 + i, b0 + j)) pairs.push([a0 + i++, b0 + j++])
    else if (at(i + 1, j) >= at(i, j + 1)) i++
    else j++
  }
  return pairs
}

function walkKeyed (w: Walk, a: Json[], b: Json[], key: string): void {
  const waiting = new Queues<string>()
  b.forEach((el, j) => { const k = keyOf(el, key); if (k !== undefined) waiting.add(k, j) })
  const matched = new Uint8Array(b.length)
  for (let i = 0; i < a.length && !full(w); i++) {
    const k = keyOf(a[i] as Json, key)
    const j = k === undefined ? undefined : waiting.take(k)
    if (j === undefined) emitChild(w, i, 'missing', a[i])
    else {
      matched[j] = 1
      walkChild(w, i, a[i] as Json, b[j] as Json) // the primary's index, as types.ts says
    }
  }
  for (let j = 0; j < b.length && !full(w); j++) if (matched[j] === 0) emitChild(w, j, 'extra', b[j])
}

function keyOf (el: Json, key: string): string | undefined {
  if (el === null || typeof el !== 'object' || Array.isArray(el) || !Object.hasOwn(el, key)) return undefined
  const v = el[key]
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)
}

/** Unordered without a key: equal normalised elements cancel out, then (with a tolerance) close ones do. */
function walkMultiset (w: Walk, a: Json[], b: Json[]): void {
  const { na, nb, eq } = alignment(w, a, b)
  const waiting = new Queues<string>()
  nb.forEach((n, j) => waiting.add(n.canon, j))
  const matched = new Uint8Array(b.length)
  const leftA: number[] = []
  na.forEach((n, i) => {
    const j = waiting.take(n.canon)
    if (j === undefined) leftA.push(i)
    else matched[j] = 1
  })
  const leftB = nb.map((_, j) => j).filter((j) => matched[j] === 0)
  const unmatchedA: number[] = []
  const budget = leftA.length * leftB.length
  const tryClose = w.tolerant && budget > 0 && budget <= w.cells
  if (tryClose) w.cells -= budget
  for (const i of leftA) {
    const j = tryClose ? leftB.find((j) => matched[j] === 0 && eq(i, j)) : undefined
    if (j === undefined) unmatchedA.push(i)
    else matched[j] = 1
  }
  for (const i of unmatchedA) if (!full(w)) emitChild(w, i, 'missing', a[i])
  for (const j of leftB) if (matched[j] === 0 && !full(w)) emitChild(w, j, 'extra', b[j])
}

/** FIFO index queues by key, so duplicates pair in the order they appear. */
class Queues<K> {
  readonly #queues = new Map<K, { items: number[], head: number }>()

  add (key: K, index: number): void {
    const q = this.#queues.get(key)
    if (q === undefined) this.#queues.set(key, { items: [index], head: 0 })
    else q.items.push(index)
  }

  take (key: K): number | undefined {
    const q = this.#queues.get(key)
    return q === undefined || q.head === q.items.length ? undefined : q.items[q.head++]
  }
}

function sameMultiset (na: Norm[], nb: Norm[]): boolean {
  const counts = new Map<string, number>()
  for (const n of na) counts.set(n.canon, (counts.get(n.canon) ?? 0) + 1)
  for (const n of nb) {
    const c = counts.get(n.canon)
    if (c === undefined || c === 0) return false
    counts.set(n.canon, c - 1)
  }
  return true
}

function ids (norms: Norm[], part: 'canon' | 'shape', table: Map<string, number>): Int32Array {
  // Small integers, so that the alignment table compares numbers and not long strings.
  const out = new Int32Array(norms.length)
  norms.forEach((n, i) => {
    let id = table.get(n[part])
    if (id === undefined) table.set(n[part], (id = table.size))
    out[i] = id
  })
  return out
}

/** Each element's normalised form, computed once per array at its own index. */
function normaliseElements (w: Walk, arr: Json[]): Norm[] {
  return arr.map((el, i) => {
    w.segs.push(i)
    const n = w.ignored(w.segs) ? IGNORED : normalise(w, el)
    w.segs.pop()
    return n
  })
}

function normalise (w: Walk, v: Json): Norm {
  if (v === null || typeof v !== 'object') {
    const canon = JSON.stringify(v)
    if (typeof v === 'number' && w.tolerant) return { canon, shape: '#', numbers: [v] }
    return { canon, shape: canon, numbers: NO_NUMBERS }
  }
  if (Array.isArray(v)) {
    const parts = normaliseElements(w, v)
    if (unorderedRule(w) !== undefined) parts.sort(byShapeThenCanon)
    return join(w, '[', parts, ']')
  }
  const parts: Norm[] = []
  for (const key of Object.keys(v).sort()) {
    w.segs.push(key)
    if (!w.ignored(w.segs)) {
      const n = normalise(w, v[key] as Json)
      const k = JSON.stringify(key) + ':'
      const canon = k + n.canon
      parts.push({ canon, shape: w.tolerant ? k + n.shape : canon, numbers: n.numbers })
    }
    w.segs.pop()
  }
  return join(w, '{', parts, '}')
}

function join (w: Walk, open: string, parts: Norm[], end: string): Norm {
  const canon = open + parts.map((p) => p.canon).join(',') + end
  if (!w.tolerant) return { canon, shape: canon, numbers: NO_NUMBERS }
  return { canon, shape: open + parts.map((p) => p.shape).join(',') + end, numbers: parts.flatMap((p) => p.numbers) }
}

function byShapeThenCanon (x: Norm, y: Norm): number {
  if (x.shape !== y.shape) return x.shape < y.shape ? -1 : 1
  return x.canon < y.canon ? -1 : x.canon > y.canon ? 1 : 0
}
