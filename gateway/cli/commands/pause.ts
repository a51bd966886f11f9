import { flagStateCommand } from './state-command.ts'

export const pauseCommand = flagStateCommand({
  name: 'pause',
  summary: 'Hold a flag at its percentage, so that its step plan does not advance',
  description: 'Sets the state of a running flag to paused. Its routes keep their percentage and the rules keep ' +
    'watching; its step plan waits until `switchyard resume`.',
  example: 'switchyard pause items-api --reason "holding over the weekend"',
  done: 'paused',
  call: (client, flag, reason) => client.pause(flag, reason)
})
