// pause, resume and promote: one flag, a required reason, one admin call, and the state it left.
import { requireFlag, requireReason } from '../arguments.ts'
import type { AdminClient } from '../admin-client.ts'
import type { ResumeAnswer } from '../admin-types.ts'
import type { Command } from '../command.ts'
import { eventRef } from './event-ref.ts'

export function flagStateCommand (def: {
  name: string
  summary: string
  description: string
  example: string
  /** The past participle printed after the flag: "paused". */
  done: string
  call: (client: AdminClient, flag: string, reason: string) => Promise<ResumeAnswer>
}): Command {
  return {
    name: def.name,
    synopsis: '<flag> --reason <text>',
    summary: def.summary,
    description: def.description,
    options: {
      reason: { type: 'string', value: '<text>', description: 'Why; the audit log keeps it (required)' }
    },
    positionals: ['flag'],
    examples: [def.example],
    async run (ctx) {
      const flag = requireFlag(ctx.positionals[0] ?? '')
      const reason = requireReason(ctx.values.reason, flag)
      const answer = await def.call(ctx.client(), flag, reason)
      if (ctx.json) {
        ctx.printJson(answer)
      } else {
        ctx.print(`${answer.flag}: ${def.done}, ${answer.state} at ${answer.percent}%${eventRef(answer.event)}\n`)
      }
      return 0
    }
  }
}
