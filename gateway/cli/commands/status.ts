import type { RouteStatus, RoutesAnswer } from '../admin-types.ts'
import type { Tone } from '../colour.ts'
import type { Command } from '../command.ts'
import { formatTable, type Cell, type Column } from '../table.ts'
import { formatShare, printable } from '../text.ts'

export const statusCommand: Command = {
  name: 'status',
  synopsis: '',
  summary: 'Show each route: its flag, percentage, state and recent traffic',
  description: 'Traffic counts cover the last window of the gateway (a minute by default). NEW SHARE is the ' +
    'part of those requests that the new backend served. Under the table, every flag that is not running ' +
    'says why, who changed it and when.',
  options: {},
  positionals: [],
  examples: ['switchyard status', 'switchyard status --json'],
  async run (ctx) {
    const answer = await ctx.client().routes()
    if (ctx.json) {
      ctx.printJson(answer)
    } else {
      ctx.print(renderStatus(answer, ctx.colour))
    }
    return 0
  }
}

const COLUMNS: Column[] = [
  { header: 'ROUTE' },
  { header: 'FLAG' },
  { header: 'PERCENT', align: 'right' },
  { header: 'STATE' },
  { header: 'NEW SHARE', align: 'right' },
  { header: 'REQUESTS', align: 'right' },
  { header: 'ERRORS (NEW/LEGACY)', align: 'right' }
]

const STATE_TONES: Record<string, Tone> = { rolled_back: 'bad', paused: 'warn', promoted: 'good' }

export function renderStatus (answer: RoutesAnswer, colour: boolean): string {
  if (answer.routes.length === 0) return 'No routes are configured.\n'

  const rows = answer.routes.map(routeRow)
  let text = formatTable(COLUMNS, rows, { colour })
  text += `\nTraffic over the last ${answer.window_seconds} s. ` +
    `Flags: ${printable(answer.flag_source.kind)}, ${printable(answer.flag_source.location)}.\n`

  if (answer.flag_source.healthy === false) {
    const why = answer.flag_source.last_error
    text += `The flag server at ${printable(answer.flag_source.location)} gives no flags${why == null ? '' : ` (${printable(why)})`}: routing on the last flags it served.\n`
  }
  for (const w of answer.flag_source.pending_writes ?? []) {
    text += `${printable(w.flag)} is at ${w.percent}% here; the flag server has not taken it yet (since ${printable(w.since)}, ${w.attempts} attempt(s): ${printable(w.last_error)}).\n`
  }
  const r = answer.replicas
  if (r !== undefined && r !== null) {
    text += r.redis_up
      ? `Replicas share state through Redis at ${printable(r.redis)}; rules evaluated by ${r.leader === null ? 'no replica yet' : r.leader === r.this_replica ? `this replica (${printable(r.this_replica)})` : printable(r.leader)}.\n`
      : `Redis at ${printable(r.redis)} is not answering: this replica (${printable(r.this_replica)}) routes on the last state it knew` +
        `${r.pending_changes > 0 ? ` and holds ${r.pending_changes} change(s) to share when Redis returns` : ''}.\n`
  }

  for (const a of answer.rule_alerts ?? []) {
    text += a.error !== null
      ? `Rule ${printable(a.rule)} on ${printable(a.flag)} gets no value: ${printable(a.error)}\n`
      : `Rule ${printable(a.rule)} on ${printable(a.flag)} fails (${a.failing} of ${a.consecutive_required} in a row before it rolls back): ${printable(a.summary)}\n`
  }

  const notes = stateNotes(answer.routes)
  if (notes.length > 0) text += '\n' + notes.join('\n') + '\n'
  return text
}

function routeRow (route: RouteStatus): Cell[] {
  const t = route.traffic
  const requests = t.legacy + t.new
  const share = typeof t.new_share === 'number' ? t.new_share : requests > 0 ? t.new / requests : null
  return [
    route.name,
    route.flag ?? '-',
    route.flag === null || route.percent === null ? '-' : `${route.percent}%`,
    { text: route.state, tone: STATE_TONES[route.state] ?? 'plain' },
    requests === 0 || share === null ? '-' : formatShare(share),
    String(requests),
    { text: `${t.new_errors}/${t.legacy_errors}`, tone: t.new_errors > 0 ? 'bad' : 'plain' }
  ]
}

/** One line per flag that is not running; several routes can share a flag. */
function stateNotes (routes: RouteStatus[]): string[] {
  const seen = new Set<string>()
  const notes: string[] = []
  for (const route of routes) {
    if (route.flag === null || route.state === 'running' || seen.has(route.flag)) continue
    seen.add(route.flag)
    let note = `${route.flag} is ${route.state}`
    if (route.state_since !== null) note += ` since ${route.state_since}`
    if (route.state_actor !== null) note += `, by ${route.state_actor}`
    note += route.state_reason === null ? ' (no reason recorded)' : `: ${route.state_reason}`
    notes.push(printable(note))
  }
  return notes
}
