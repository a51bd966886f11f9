import type { AuditEvent } from '../admin-types.ts'
import { parseLimit, requireFlag } from '../arguments.ts'
import type { Tone } from '../colour.ts'
import type { Command } from '../command.ts'
import { formatTable, type Cell, type Column } from '../table.ts'

export const eventsCommand: Command = {
  name: 'events',
  synopsis: '[--flag <flag>] [--limit <n>]',
  summary: 'Show the audit log, newest first: who changed what, when, and why',
  description: 'Lists rollout changes, rollbacks (by people and by rules) and resumes. FROM is the address ' +
    'the change came from; CHANGE is the percentage, or the state and percentage, before and after.',
  options: {
    flag: { type: 'string', value: '<flag>', description: 'Only the events of this flag' },
    limit: { type: 'string', value: '<n>', description: 'At most this many events (the gateway has a default)' }
  },
  positionals: [],
  examples: ['switchyard events', 'switchyard events --flag items-api --limit 20'],
  async run (ctx) {
    const limit = parseLimit(ctx.values.limit)
    const flag = typeof ctx.values.flag === 'string' ? requireFlag(ctx.values.flag) : undefined
    const answer = await ctx.client().events({ limit, flag })
    if (ctx.json) {
      ctx.printJson(answer)
    } else if (answer.events.length === 0) {
      ctx.print(flag === undefined ? 'No events yet.\n' : `No events for ${flag}.\n`)
    } else {
      ctx.print(formatTable(COLUMNS, answer.events.map(eventRow), { colour: ctx.colour }))
    }
    return 0
  }
}

const COLUMNS: Column[] = [
  { header: 'ID', align: 'right' },
  { header: 'WHEN' },
  { header: 'WHO' },
  { header: 'FROM' },
  { header: 'ACTION' },
  { header: 'FLAG' },
  { header: 'CHANGE' },
  { header: 'WHY' }
]

const ACTION_TONES: Record<string, Tone> = { rollback: 'bad', resume: 'good' }

function eventRow (e: AuditEvent): Cell[] {
  return [
    String(e.id),
    e.at,
    e.actor,
    e.replica !== undefined ? `${e.source} via ${e.replica}` : e.source,
    { text: e.action, tone: ACTION_TONES[e.action] ?? 'plain' },
    e.flag,
    `${side(e.from)} → ${side(e.to)}`,
    e.reason
  ]
}

/** 25 → '25%'; { state: 'running', percent: 25 } → 'running 25%'. */
function side (value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (typeof value === 'number') return `${value}%`
  if (typeof value === 'object') {
    const { state, percent } = value as { state?: unknown, percent?: unknown }
    const parts: string[] = []
    if (typeof state === 'string') parts.push(state)
    if (typeof percent === 'number') parts.push(`${percent}%`)
    if (parts.length > 0) return parts.join(' ')
  }
  return typeof value === 'string' ? value : JSON.stringify(value)
}
