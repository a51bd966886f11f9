// The report of `switchyard diffs`: a shadowed route's numbers, then its latest mismatches as diffs. The
// primary (the answer the client got) is always the '-' side and the shadow always the '+' side, whichever
// backend each one was, so that the direction of a diff never depends on how far the rollout has gone.
import type { ShadowDifference, ShadowListAnswer, ShadowRouteAnswer, ShadowRouteSummary, ShadowSample } from './admin-types.ts'
import { paint, type Tone } from './colour.ts'
import { formatTable, type Cell, type Column } from './table.ts'
import { formatShare, printable } from './text.ts'

export const DEFAULT_SAMPLE_LIMIT = 5
/** A diff is for spotting what differs; the answers themselves are in --json. */
export const MAX_VALUE_CHARS = 200

// The gateway keeps a value longer than its limit as the value's JSON text, cut and ending in this marker
// (gateway/shadow/sample-ring.ts): shown as that text rather than quoted as a string a second time.
const CUT_VALUE = /…\[\d+ bytes cut\]$/

interface Style { colour: boolean }

export function renderShadowSummary (answer: ShadowListAnswer, colour: boolean): string {
  if (answer.routes.length === 0) {
    return 'No route is shadowed. Add shadow: to a route in the gateway\'s config to compare its two backends.\n'
  }
  const columns: Column[] = [
    { header: 'ROUTE' },
    { header: 'PERCENT', align: 'right' },
    { header: 'COMPARED', align: 'right' },
    { header: 'MATCH RATE', align: 'right' },
    { header: 'MISMATCH RATE', align: 'right' },
    { header: 'TOP FIELD' }
  ]
  const rows = answer.routes.map((r): Cell[] => {
    const top = r.top_fields[0]
    const rate = r.window.mismatch_rate
    return [
      r.route,
      `${r.percent}%`,
      String(r.counts.match + r.counts.mismatch),
      r.match_rate === null ? '-' : formatShare(r.match_rate),
      rate === null ? '-' : { text: formatShare(rate), tone: rate > 0 ? 'bad' : 'plain' },
      top === undefined ? '-' : `${top.field} (${top.count})`
    ]
  })
  const seconds = answer.routes[0]!.window.seconds
  return formatTable(columns, rows, { colour }) +
    `\nMismatch rate over the last ${seconds} s. \`switchyard diffs <route>\` shows a route's latest differences.\n`
}

export function renderRouteDiffs (r: ShadowRouteAnswer, opts: { limit: number, colour: boolean }): string {
  const style: Style = { colour: opts.colour }
  const blocks = [header(r, style)]
  if (r.top_fields.length > 0) blocks.push(topFields(r, style))
  if (r.noise_fields.length > 0 || r.noise_ignored_when_full > 0) blocks.push(noiseFields(r, style))
  const failures = [reasons('Dropped', r.drops), reasons('Errors', r.errors)].filter((line) => line !== '')
  if (failures.length > 0) blocks.push(failures.join('\n') + '\n')
  blocks.push(samples(r, opts.limit, style))
  return blocks.join('\n')
}

function header (r: ShadowRouteSummary, s: Style): string {
  const c = r.counts
  const count = (n: number, what: string, tone: Tone): string => paint(`${n} ${what}`, n > 0 ? tone : 'plain', s.colour)
  let route = `${r.route} (${r.percent}% of ${r.methods.join(', ')} requests shadowed`
  if (r.noise_percent > 0) route += `, ${r.noise_percent}% also sent twice to learn noise`
  route += ')'
  let counts = [count(c.match, 'match', 'plain'), count(c.mismatch, 'mismatch', 'bad'), count(c.error, 'error', 'warn'),
    count(c.dropped, 'dropped', 'warn')].join(', ')
  if (r.inflight > 0) counts += `; ${r.inflight} in flight`
  const compared = c.match + c.mismatch
  let match = r.match_rate === null ? 'no comparison yet' : `${formatShare(r.match_rate)} of ${compared} compared since start`
  if (r.matches_with_noise > 0) match += ` (${r.matches_with_noise} of the matches only once noise was left out)`
  const w = r.window
  const mismatch = w.mismatch_rate === null
    ? `no comparison over the last ${w.seconds} s`
    : `${formatShare(w.mismatch_rate)} over the last ${w.seconds} s (${w.mismatched} of ${w.compared} compared)`
  const rows: Array<[string, string]> = [
    ['Route', printable(route)],
    ['Counts', counts],
    ['Match rate', match],
    ['Mismatch rate', paint(mismatch, (w.mismatch_rate ?? 0) > 0 ? 'bad' : 'plain', s.colour)]
  ]
  return rows.map(([label, text]) => paint(label, 'strong', s.colour) + ' '.repeat(15 - label.length) + text).join('\n') + '\n'
}

function topFields (r: ShadowRouteSummary, s: Style): string {
  const table = formatTable(
    [{ header: 'MISMATCHES', align: 'right' }, { header: 'FIELD' }],
    r.top_fields.map((f) => [String(f.count), f.field]),
    s
  )
  return `${paint('Top mismatching fields', 'strong', s.colour)} (comparisons in which each one differed)\n${indent(table)}`
}

function noiseFields (r: ShadowRouteSummary, s: Style): string {
  let text = `${paint('Noise fields', 'strong', s.colour)} (they differ between two answers of one backend, so they ` +
    'are not mismatches)\n'
  if (r.noise_fields.length > 0) {
    text += indent(formatTable(
      [{ header: 'FIELD' }, { header: 'SEEN', align: 'right' }, { header: 'ABSORBED', align: 'right' }],
      r.noise_fields.map((n) => [n.field, String(n.times_seen), String(n.absorbed)]),
      s
    ))
  }
  if (r.noise_ignored_when_full > 0) text += `  ${r.noise_ignored_when_full} more not learnt: the noise set is full.\n`
  return text
}

/** 'Dropped: too_large 2, buffer_budget 1', or '' when there are none. */
function reasons (label: string, counts: Record<string, number>): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0)
  if (entries.length === 0) return ''
  return printable(`${label}: ${entries.map(([reason, n]) => `${reason} ${n}`).join(', ')}`)
}

function samples (r: ShadowRouteAnswer, limit: number, s: Style): string {
  if (r.samples.length === 0) {
    return r.counts.mismatch === 0 ? 'No mismatches, so no samples.\n' : 'No mismatch samples are stored.\n'
  }
  const shown = r.samples.slice(0, limit)
  const title = `${paint('Latest samples', 'strong', s.colour)}, newest first (${shown.length} of ${r.samples.length} stored; ` +
    `the primary's values on ${paint('-', 'bad', s.colour)} lines, the shadow's on ${paint('+', 'good', s.colour)} lines)\n`
  return title + shown.map((sample) => '\n' + renderSample(sample, s)).join('')
}

function renderSample (sample: ShadowSample, s: Style): string {
  const q = sample.request
  const lines = [
    paint(printable(`${sample.time}  ${q.method} ${q.path}  request ${q.request_id}`), 'strong', s.colour),
    printable(`primary ${sample.primary.backend} (served the client), shadow ${sample.shadow.backend}`)
  ]
  for (const d of sample.differences) lines.push(...renderDifference(d, s))
  if (sample.differences_omitted > 0) {
    lines.push(paint(`… and ${sample.differences_omitted} more differences, not kept`, 'dim', s.colour))
  }
  if (sample.noise.length > 0 || sample.noise_omitted > 0) {
    const more = sample.noise_omitted > 0 ? ` and ${sample.noise_omitted} more` : ''
    lines.push(paint(printable(`noise: ${sample.noise.join(', ')}${more}`), 'dim', s.colour))
  }
  return lines.join('\n') + '\n'
}

function renderDifference (d: ShadowDifference, s: Style): string[] {
  const where = d.path === '' ? '(whole body)' : d.path
  // 'status' and 'header:<name>' already say what kind of difference they are.
  const label = d.kind === 'status' || d.kind === 'header' ? where : `${where}  ${d.kind}`
  const lines = [paint(printable(label), 'strong', s.colour)]
  if (d.kind !== 'extra') lines.push(paint(`- ${valueText(d, 'primary')}`, 'bad', s.colour))
  if (d.kind !== 'missing') lines.push(paint(`+ ${valueText(d, 'shadow')}`, 'good', s.colour))
  return lines
}

function valueText (d: ShadowDifference, side: 'primary' | 'shadow'): string {
  // A header present on one side only has no value on the other.
  if (!(side in d)) return '(absent)'
  const value = d[side]
  let text: string
  if (d.kind === 'body' && typeof value === 'string') text = `sha256:${value}`
  else if (typeof value === 'string' && CUT_VALUE.test(value)) text = value
  else text = JSON.stringify(value) ?? String(value)
  return shorten(printable(text))
}

function shorten (text: string): string {
  const chars = [...text]
  return chars.length <= MAX_VALUE_CHARS ? text : chars.slice(0, MAX_VALUE_CHARS - 1).join('') + '…'
}

function indent (text: string): string {
  return text.replace(/^(?=.)/gm, '  ')
}
