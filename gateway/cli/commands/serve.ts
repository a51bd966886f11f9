import type { Command } from '../command.ts'

export const serveCommand: Command = {
  name: 'serve',
  synopsis: '[--config <file>] [--example]',
  summary: 'Run the gateway',
  description: 'Starts the gateway in the foreground: the proxy port, and the admin API with /metrics, ' +
    '/healthz and /readyz on the admin port. It stops cleanly on SIGINT or SIGTERM.',
  options: {
    config: { type: 'string', value: '<file>', description: 'The gateway configuration (YAML or JSON)' },
    example: { type: 'boolean', description: 'Run the bundled Modaics example on this machine' }
  },
  positionals: [],
  examples: ['switchyard serve --config switchyard.yaml', 'switchyard serve --example'],
  ownsArguments: true,
  run (ctx) {
    return ctx.serve(ctx.argv)
  }
}
