// The usage text of the program and of each command, built from the command definitions so that it
// cannot drift from what the parser accepts.
import { DEFAULT_ADMIN_URL } from './settings.ts'
import type { Command, OptionSpec } from './command.ts'
import { COMMON_OPTIONS } from './parse-args.ts'

export function usageLine (command: Command): string {
  return `switchyard ${command.name}${command.synopsis === '' ? '' : ' ' + command.synopsis}`
}

const WIDTH = 100

function wrap (text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(line)
  return lines
}

function twoColumns (rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)
}

export function formatUsage (commands: Command[]): string {
  return [
    'switchyard moves a live API from a legacy backend to a new one, route by route.',
    '',
    'Usage: switchyard <command> [arguments] [--json] [--help]',
    '',
    'Commands:',
    ...twoColumns([
      ...commands.map((c): [string, string] => [`${c.name} ${c.synopsis}`.trimEnd(), c.summary]),
      ['help [<command>]', 'Show this help, or the help of a command']
    ]),
    '',
    'Options of every command:',
    ...twoColumns([
      ['--json', "Print the admin API's JSON answer instead of a table"],
      ['-h, --help', 'Show the help of the command']
    ]),
    '',
    'Environment:',
    ...twoColumns([
      ['SWITCHYARD_ADMIN_URL', `The admin address of the gateway (default ${DEFAULT_ADMIN_URL})`],
      ['SWITCHYARD_ADMIN_TOKEN', 'The bearer token of the admin API, when the gateway has one'],
      ['USER, LOGNAME', 'Who you are in the audit log (as user@host)'],
      ['NO_COLOR', 'Set to turn colour off (diffs --color overrides it)']
    ]),
    '',
    'Examples:',
    '  switchyard status',
    '  switchyard rollout items-api 25 --reason "error rate flat at 5% for a day"',
    '  switchyard rollback items-api --reason "p99 latency doubled after the 14:00 deploy"',
    '  switchyard resume items-api --reason "fixed by the v3.5.2 deploy"',
    '  switchyard events --flag items-api --limit 20',
    '  switchyard diffs items --limit 3',
    '  SWITCHYARD_ADMIN_URL=http://gateway.internal:9090 switchyard status --json',
    ''
  ].join('\n')
}

function optionLabel (name: string, o: OptionSpec): string {
  const long = `--${name}${o.value === undefined ? '' : ' ' + o.value}`
  return o.short === undefined ? long : `-${o.short}, ${long}`
}

export function formatCommandHelp (command: Command): string {
  const options: Record<string, OptionSpec> = command.ownsArguments === true
    ? { ...command.options, help: COMMON_OPTIONS.help! }
    : { ...command.options, ...COMMON_OPTIONS }
  return [
    `Usage: ${usageLine(command)}`,
    '',
    ...wrap(`${command.summary}. ${command.description}`, WIDTH),
    '',
    'Options:',
    ...twoColumns(Object.entries(options).map(([name, o]): [string, string] => [optionLabel(name, o), o.description])),
    '',
    command.examples.length > 1 ? 'Examples:' : 'Example:',
    ...command.examples.map((e) => `  ${e}`),
    ''
  ].join('\n')
}
