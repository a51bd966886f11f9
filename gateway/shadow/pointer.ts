// RFC 6901 JSON Pointers, and the patterns the compare rules are written in: a pointer whose '*' segments
// match any one segment. RFC 6901 has no escape for '*', so a pattern cannot name a key that is literally '*'.

/**
 * One step of a path into a JSON value. A number is an array index; a string is an object key, even one
 * that looks like a number ("3"), which is why the walk keeps the two apart instead of guessing from digits.
 */
export type Segment = string | number

/** True when the segments are a pointer the pattern matches. */
export type PointerMatcher = (segments: readonly Segment[]) => boolean

const WILDCARD = '*'

/** RFC 6901 §3: '~' is written '~0' and '/' is written '~1' ('~' first, or '/' would become '~01'). */
export function escapeSegment (segment: string): string {
  if (!segment.includes('~') && !segment.includes('/')) return segment
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** RFC 6901 §4: '~1' first, then '~0', so that '~01' decodes to '~1' and not to '/'. */
export function unescapeSegment (segment: string): string {
  if (!segment.includes('~')) return segment
  if (/~(?![01])/.test(segment)) {
    throw new Error(`"${segment}" has a '~' that is not '~0' or '~1'; write a literal '~' as '~0' and '/' as '~1' (RFC 6901)`)
  }
  return segment.replaceAll('~1', '/').replaceAll('~0', '~')
}

/** The pointer for these segments: '' for none (the whole document). */
export function joinPointer (segments: readonly Segment[]): string {
  let out = ''
  for (const s of segments) out += '/' + (typeof s === 'number' ? String(s) : escapeSegment(s))
  return out
}

/**
 * The same place with every array index written as '*': what mismatches are counted by, so that one
 * field of a 10,000-element array is one series and not 10,000.
 */
export function fieldPointer (segments: readonly Segment[]): string {
  let out = ''
  for (const s of segments) out += '/' + (typeof s === 'number' ? WILDCARD : escapeSegment(s))
  return out
}

/** The unescaped segments of a pointer; throws on text that is not a pointer. */
export function parsePointer (pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) {
    throw new Error(`"${pointer}" is not a JSON Pointer: it must start with '/' (or be '' for the whole document)`)
  }
  return pointer.slice(1).split('/').map(unescapeSegment)
}

function segmentMatches (pattern: string, segment: Segment): boolean {
  return pattern === WILDCARD || pattern === (typeof segment === 'number' ? String(segment) : segment)
}

/** A matcher for one pattern: same number of segments, each equal or matched by '*'. */
export function compilePattern (pattern: string): PointerMatcher {
  const parts = parsePointer(pattern)
  return (segments) => {
    if (segments.length !== parts.length) return false
    for (let i = 0; i < parts.length; i++) {
      if (!segmentMatches(parts[i] as string, segments[i] as Segment)) return false
    }
    return true
  }
}

/**
 * One matcher for a list of patterns, true when any matches. The walk asks it at every node, so the
 * patterns are grouped by length: most nodes are at a depth no pattern has, and cost one map lookup.
 */
export function compilePatterns (patterns: readonly string[]): PointerMatcher {
  const byLength = new Map<number, PointerMatcher[]>()
  for (const p of patterns) {
    const length = parsePointer(p).length
    const group = byLength.get(length)
    if (group === undefined) byLength.set(length, [compilePattern(p)])
    else group.push(compilePattern(p))
  }
  if (byLength.size === 0) return () => false
  return (segments) => {
    const group = byLength.get(segments.length)
    if (group === undefined) return false
    for (const m of group) if (m(segments)) return true
    return false
  }
}

/** True when some pointer matches both patterns. */
export function patternsOverlap (a: string, b: string): boolean {
  const pa = parsePointer(a)
  const pb = parsePointer(b)
  if (pa.length !== pb.length) return false
  return pa.every((s, i) => s === WILDCARD || pb[i] === WILDCARD || s === pb[i])
}
