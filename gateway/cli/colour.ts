// Colour only helps a person at a terminal: never in pipes or files, and never when NO_COLOR is set
// (https://no-color.org: any non-empty value turns it off). A command that takes --color or --no-color
// lets the person override both, as no-color.org asks of command-line flags.

export type Tone = 'plain' | 'strong' | 'bad' | 'warn' | 'good' | 'dim'

const SGR: Record<Exclude<Tone, 'plain'>, [number, number]> = {
  strong: [1, 22],
  bad: [31, 39],
  warn: [33, 39],
  good: [32, 39],
  dim: [2, 22]
}

export function wantsColour (
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined>,
  override?: boolean
): boolean {
  if (override !== undefined) return override
  const noColour = env.NO_COLOR
  return stream.isTTY === true && (noColour === undefined || noColour === '')
}

export function paint (text: string, tone: Tone, enabled: boolean): string {
  if (!enabled || tone === 'plain' || text === '') return text
  const [on, off] = SGR[tone]
  return `\u001b[${on}m${text}\u001b[${off}m`
}
