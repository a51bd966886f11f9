import { requireFlag, requireReason } from '../arguments.ts'
import type { Command } from '../command.ts'
import { eventRef } from './event-ref.ts'

export const resumeCommand: Command = {
  name: 'resume',
  synopsis: '<flag> --reason <text>',
  summary: 'End the rollback of a flag, so that its percentage applies again',
  description: 'Sets the state of a rolled-back flag back to running. Raise its percentage afterwards with ' +
    '`switchyard rollout`.',
  options: {
    reason: { type: 'string', value: '<text>', description: 'Why; the audit log keeps it (required)' }
  },
  positionals: ['flag'],
  examples: ['switchyard resume items-api --reason "fixed by the v3.5.2 deploy"'],
  async run (ctx) {
    const flag = requireFlag(ctx.positionals[0] ?? '')
    const reason = requireReason(ctx.values.reason, flag)
    const answer = await ctx.client().resume(flag, reason)
    if (ctx.json) {
      ctx.printJson(answer)
    } else {
      ctx.print(`${answer.flag}: resumed, ${answer.state} at ${answer.percent}%${eventRef(answer.event)}\n`)
    }
    return 0
  }
}
