import { parseLimit, requireRoute } from '../arguments.ts'
import { usageError } from '../cli-error.ts'
import type { Command } from '../command.ts'
import { DEFAULT_SAMPLE_LIMIT, renderRouteDiffs, renderShadowSummary } from '../diff-report.ts'
import { printable } from '../text.ts'

export const diffsCommand: Command = {
  name: 'diffs',
  synopsis: '[<route>] [--limit <n>] [--color|--no-color]',
  summary: 'Show where the shadow backend answers differently from the primary',
  description: 'For a shadowed route: its counts, match rate and mismatch rate over the gateway\'s window, the ' +
    'fields that differ most, the noise fields (those that differ between two answers of one backend, so are ' +
    'not counted), and its latest mismatches, newest first. In each, the primary is the backend that served ' +
    'the client: its value is on the - line, the shadow\'s on the + line, at the JSON Pointer of the ' +
    'difference. Without a route, one line per shadowed route. --json prints the admin API\'s answer ' +
    'unchanged, with every stored sample.',
  options: {
    limit: { type: 'string', value: '<n>', description: `At most this many samples (default ${DEFAULT_SAMPLE_LIMIT})` },
    color: { type: 'boolean', description: 'Colour the report, even in a pipe or with NO_COLOR set' },
    'no-color': { type: 'boolean', description: 'Do not colour the report, even at a terminal' }
  },
  positionals: [],
  optionalPositionals: ['route'],
  examples: ['switchyard diffs', 'switchyard diffs items --limit 3', 'switchyard diffs items --color | less -R'],
  async run (ctx) {
    const route = ctx.positionals[0]
    const limit = parseLimit(ctx.values.limit)
    if (route === undefined) {
      if (limit !== undefined) {
        throw usageError('--limit counts the samples of one route: name the route, as in `switchyard diffs items --limit 3`.')
      }
      const answer = await ctx.client().shadowRoutes()
      if (ctx.json) ctx.printJson(answer)
      else ctx.print(renderShadowSummary(answer, ctx.colour))
      return 0
    }
    // The admin API has no limit: cutting its answer would make --json something it did not say.
    if (ctx.json && limit !== undefined) {
      throw usageError('--json prints every stored sample, as the admin API answers; leave out --limit, or cut ' +
        `the samples afterwards, as in \`switchyard diffs ${printable(route)} --json | jq '.samples[:${limit}]'\`.`)
    }
    const answer = await ctx.client().shadowRoute(requireRoute(route))
    if (ctx.json) ctx.printJson(answer)
    else ctx.print(renderRouteDiffs(answer, { limit: limit ?? DEFAULT_SAMPLE_LIMIT, colour: ctx.colour }))
    return 0
  }
}
