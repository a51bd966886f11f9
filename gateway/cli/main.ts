// The `switchyard` command line: finds the command, parses its arguments, runs it, and turns every
// failure into a sentence on stderr and an exit code. It touches nothing global: the environment, the
// streams, fetch and the gateway itself come in through `io`.
import { AdminClient } from './admin-client.ts'
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, usageError } from './cli-error.ts'
import { wantsColour } from './colour.ts'
import type { Command, CommandContext } from './command.ts'
import { diffsCommand } from './commands/diffs.ts'
import { eventsCommand } from './commands/events.ts'
import { pauseCommand } from './commands/pause.ts'
import { promoteCommand } from './commands/promote.ts'
import { resumeCommand } from './commands/resume.ts'
import { rollbackCommand } from './commands/rollback.ts'
import { rolloutCommand } from './commands/rollout.ts'
import { serveCommand } from './commands/serve.ts'
import { statusCommand } from './commands/status.ts'
import { formatCommandHelp, formatUsage, usageLine } from './help.ts'
import { parseCommandArgs, type ParsedArgs } from './parse-args.ts'
import { readAdminSettings } from './settings.ts'
import { printable } from './text.ts'

export interface CliIo {
  env: Record<string, string | undefined>
  stdout: { write(s: string): unknown, isTTY?: boolean }
  stderr: { write(s: string): unknown, isTTY?: boolean }
  serve: (argv: string[]) => Promise<number>
  fetch?: typeof fetch
}

export const COMMANDS: readonly Command[] = Object.freeze([
  serveCommand,
  statusCommand,
  rolloutCommand,
  rollbackCommand,
  pauseCommand,
  resumeCommand,
  promoteCommand,
  eventsCommand,
  diffsCommand
])

const HELP_WORDS = new Set(['help', '--help', '-h'])

export async function runCli (argv: string[], io: CliIo): Promise<number> {
  let command: Command | undefined
  try {
    const [name, ...args] = argv
    if (name === undefined) {
      io.stderr.write(formatUsage([...COMMANDS]))
      return EXIT_USAGE
    }
    if (HELP_WORDS.has(name)) return help(args, io)

    command = findCommand(name)
    const parsed = command.ownsArguments === true
      ? { values: {}, positionals: args, help: asksForHelp(args) }
      : parseCommandArgs(args, { ...command, usage: usageText(command) })
    if (parsed.help) {
      io.stdout.write(formatCommandHelp(command))
      return EXIT_OK
    }
    return await command.run(context(args, parsed, io))
  } catch (err) {
    return report(err, command, io)
  }
}

function findCommand (name: string): Command {
  const command = COMMANDS.find((c) => c.name === name)
  if (command !== undefined) return command
  const what = name.startsWith('-')
    ? `Unknown option ${printable(name)}: options go after the command.`
    : `Unknown command ${JSON.stringify(name)}.`
  throw usageError(what, { usage: '\n' + formatUsage([...COMMANDS]) })
}

function help (args: string[], io: CliIo): number {
  const [name] = args
  io.stdout.write(name === undefined || HELP_WORDS.has(name) ? formatUsage([...COMMANDS]) : formatCommandHelp(findCommand(name)))
  return EXIT_OK
}

/** For commands that parse their own arguments: --help before any `--` still shows our help. */
function asksForHelp (args: string[]): boolean {
  const end = args.indexOf('--')
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h')
}

function usageText (command: Command): string {
  return `Usage: ${usageLine(command)}\nRun \`switchyard ${command.name} --help\` for more.\n`
}

function context (argv: string[], parsed: ParsedArgs, io: CliIo): CommandContext {
  let client: AdminClient | undefined
  return {
    argv,
    values: parsed.values,
    positionals: parsed.positionals,
    json: parsed.values.json === true,
    colour: wantsColour(io.stdout, io.env, colourOverride(parsed.values)),
    client: () => {
      client ??= new AdminClient({ ...readAdminSettings(io.env), fetch: io.fetch ?? globalThis.fetch })
      return client
    },
    serve: io.serve,
    print: (text) => { io.stdout.write(text) },
    printJson: (value) => { io.stdout.write(JSON.stringify(value, null, 2) + '\n') }
  }
}

/** --color or --no-color, for the commands that take them; undefined leaves it to the terminal and NO_COLOR. */
function colourOverride (values: ParsedArgs['values']): boolean | undefined {
  const on = values.color === true
  const off = values['no-color'] === true
  if (on && off) throw usageError('--color and --no-color contradict each other: give one of them.')
  return on ? true : off ? false : undefined
}

function report (err: unknown, command: Command | undefined, io: CliIo): number {
  if (err instanceof CliError) {
    const usage = err.usage ?? (err.exitCode === EXIT_USAGE && command !== undefined ? usageText(command) : '')
    io.stderr.write(`${err.message}\n${usage}`)
    return err.exitCode
  }
  // Anything else is a fault of the program, still told in one line: a stack trace helps nobody at a prompt.
  const message = err instanceof Error ? err.message : String(err)
  const code = typeof (err as { code?: unknown } | null)?.code === 'string' ? ` (${(err as { code: string }).code})` : ''
  io.stderr.write(`switchyard stopped on an unexpected error: ${printable(message)}${code}\n`)
  return EXIT_FAILURE
}
