// Turns a command's arguments into values and positionals with node:util parseArgs, and reports every
// mistake as a sentence with the command's usage line.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { usageError } from './cli-error.ts'
import type { OptionSpec } from './command.ts'

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: "Print the admin API's JSON answer instead of a table" },
  help: { type: 'boolean', short: 'h', description: 'Show this help' }
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>
  positionals: string[]
  help: boolean
}

// parseArgs takes '-1' for a short option, but here it is a (wrong) percent that deserves its own message.
// A NUL byte hides the dash from parseArgs; no real argument can contain one, so nothing else is mistaken.
const NEGATIVE_NUMBER = /^-\.?\d/
const HIDDEN = '\u0000'

function hide (arg: string): string {
  return NEGATIVE_NUMBER.test(arg) ? HIDDEN + arg : arg
}

function unhide (arg: string): string {
  return arg.startsWith(HIDDEN) ? arg.slice(1) : arg
}

export function parseCommandArgs (
  args: string[],
  spec: { options: Record<string, OptionSpec>, positionals: string[], optionalPositionals?: string[], usage: string }
): ParsedArgs {
  const options = { ...spec.options, ...COMMON_OPTIONS }
  const config: NonNullable<ParseArgsConfig['options']> = {}
  for (const [name, o] of Object.entries(options)) {
    config[name] = o.short === undefined ? { type: o.type } : { type: o.type, short: o.short }
  }
  // strict: false hands every token back, so each mistake gets a sentence of ours rather than Node's.
  const { tokens } = parseArgs({ args: args.map(hide), options: config, strict: false, allowPositionals: true, tokens: true })

  const values: Record<string, string | boolean | undefined> = {}
  const positionals: string[] = []
  const problems: string[] = []
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(unhide(token.value))
    } else if (token.kind === 'option') {
      const o = options[token.name]
      if (o === undefined) {
        problems.push(`Unknown option ${token.rawName}.`)
      } else if (o.type === 'boolean') {
        if (token.value !== undefined) problems.push(`${token.rawName} takes no value.`)
        values[token.name] = true
      } else if (token.value === undefined) {
        problems.push(`${token.rawName} needs a value, as in ${token.rawName} ${o.value ?? '<value>'}.`)
      } else if (!token.inlineValue && token.value.startsWith('-')) {
        problems.push(`${token.rawName} needs a value, but ${token.value} looks like an option. ` +
          `To pass a value that starts with a dash, write ${token.rawName}=${token.value}.`)
      } else if (values[token.name] !== undefined) {
        problems.push(`${token.rawName} was given more than once.`)
      } else {
        values[token.name] = unhide(token.value)
      }
    }
  }

  const help = values.help === true
  if (help) return { values, positionals, help }

  const most = spec.positionals.length + (spec.optionalPositionals?.length ?? 0)
  if (positionals.length < spec.positionals.length) {
    const missing = spec.positionals.slice(positionals.length).map((name) => `<${name}>`)
    problems.unshift(`Missing ${missing.join(' and ')}.`)
  } else if (positionals.length > most) {
    const extra = positionals.slice(most).map((p) => JSON.stringify(p))
    problems.push(`Unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(', ')}.`)
  }
  if (problems.length > 0) throw usageError(problems.join(' '), { usage: spec.usage })
  return { values, positionals, help }
}
