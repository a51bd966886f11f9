import { requireFlag, requireReason } from '../arguments.ts'
import type { Command } from '../command.ts'
import { eventRef } from './event-ref.ts'

export const rollbackCommand: Command = {
  name: 'rollback',
  synopsis: '<flag> --reason <text>',
  summary: 'Send all the traffic of a flag to legacy, until someone resumes it',
  description: 'Sets the flag to 0% and its state to rolled_back. Its routes are served by legacy whatever ' +
    'the percentage, and only `switchyard resume` ends that.',
  options: {
    reason: { type: 'string', value: '<text>', description: 'Why; the audit log keeps it (required)' }
  },
  positionals: ['flag'],
  examples: ['switchyard rollback items-api --reason "p99 latency doubled after the 14:00 deploy"'],
  async run (ctx) {
    const flag = requireFlag(ctx.positionals[0] ?? '')
    const reason = requireReason(ctx.values.reason, flag)
    const answer = await ctx.client().rollback(flag, reason)
    if (ctx.json) {
      ctx.printJson(answer)
    } else {
      ctx.print(`${answer.flag}: rolled back, ${answer.previous}% → ${answer.percent}%${eventRef(answer.event)}\n`)
    }
    return 0
  }
}
