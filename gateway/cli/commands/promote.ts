import { flagStateCommand } from './state-command.ts'

export const promoteCommand = flagStateCommand({
  name: 'promote',
  summary: 'Send all of a flag to new (100 %) and mark its rollout done',
  description: 'Sets the percentage to 100 and the state to promoted: the step plan ends and the rules stop ' +
    'watching the flag.',
  example: 'switchyard promote items-api --reason "a week at 95 % without a fault"',
  done: 'promoted',
  call: (client, flag, reason) => client.promote(flag, reason)
})
