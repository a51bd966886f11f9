// What every command is made of: its name, its help, the options it takes, and what it does.
import type { AdminClient } from './admin-client.ts'

export interface OptionSpec {
  type: 'string' | 'boolean'
  /** How the value is shown in help, as in '<text>'. */
  value?: string
  short?: string
  description: string
}

export interface CommandContext {
  /** The arguments after the command name, untouched. */
  argv: string[]
  values: Record<string, string | boolean | undefined>
  positionals: string[]
  json: boolean
  colour: boolean
  /** Created on first use, so that help and serve work without a valid admin address. */
  client: () => AdminClient
  serve: (argv: string[]) => Promise<number>
  print: (text: string) => void
  printJson: (value: unknown) => void
}

export interface Command {
  name: string
  /** The arguments, as shown after the command name in usage lines. */
  synopsis: string
  summary: string
  /** Paragraphs printed by `switchyard <command> --help`. */
  description: string
  options: Record<string, OptionSpec>
  /** Names of the positional arguments, in order; all are required. */
  positionals: string[]
  /** Names of positional arguments that may follow the required ones, or be left out. */
  optionalPositionals?: string[]
  examples: string[]
  /** The command parses its own arguments (serve hands them to the gateway). */
  ownsArguments?: boolean
  run: (ctx: CommandContext) => Promise<number>
}
