import type { SetPercentAnswer } from '../admin-types.ts'
import { parsePercent, requireFlag, requireReason } from '../arguments.ts'
import type { Command } from '../command.ts'
import { eventRef } from './event-ref.ts'

export const rolloutCommand: Command = {
  name: 'rollout',
  synopsis: '<flag> <percent> --reason <text>',
  summary: 'Send <percent>% of the traffic of a flag to the new backend',
  description: 'Sets the percentage of the flag\'s rollout. The same user keeps the same backend at a given ' +
    'percentage, and raising it only moves users from legacy to new. A rolled-back flag must be resumed first.',
  options: {
    reason: { type: 'string', value: '<text>', description: 'Why; the audit log keeps it (required)' }
  },
  positionals: ['flag', 'percent'],
  examples: [
    'switchyard rollout items-api 25 --reason "error rate flat at 5% for a day"',
    'switchyard rollout items-api 0 --reason "hold while the index rebuilds"'
  ],
  async run (ctx) {
    const flag = requireFlag(ctx.positionals[0] ?? '')
    const percent = parsePercent(ctx.positionals[1] ?? '')
    const reason = requireReason(ctx.values.reason, flag)
    const answer = await ctx.client().setPercent(flag, percent, reason)
    if (ctx.json) {
      ctx.printJson(answer)
    } else {
      ctx.print(describe(answer) + '\n')
    }
    return 0
  }
}

function describe (answer: SetPercentAnswer): string {
  if (!answer.changed) return `${answer.flag} is already at ${answer.percent}%; nothing changed`
  return `${answer.flag}: ${answer.previous}% → ${answer.percent}%${eventRef(answer.event)}`
}
