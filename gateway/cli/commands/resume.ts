import { flagStateCommand } from './state-command.ts'

export const resumeCommand = flagStateCommand({
  name: 'resume',
  summary: 'End the rollback or the pause of a flag, so that its percentage (and its plan) apply again',
  description: 'Sets the state of a rolled-back or paused flag back to running. After a rollback the percentage ' +
    'stays at 0: raise it with `switchyard rollout`.',
  example: 'switchyard resume items-api --reason "fixed by the v3.5.2 deploy"',
  done: 'resumed',
  call: (client, flag, reason) => client.resume(flag, reason)
})
