// Runs the command line in process, the way the bin entry does, with the streams captured.
import type tap from 'tap'
import { runCli, type CliIo } from '../../gateway/cli/main.ts'

/** The `t` of a tap subtest. */
export type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0]

export interface CliRun {
  code: number
  stdout: string
  stderr: string
  served: string[][]
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  tty?: boolean
  fetch?: typeof fetch
  serve?: (argv: string[]) => Promise<number>
}

export async function runSwitchyard (t: TapTest, argv: string[], opts: RunOptions = {}): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const served: string[][] = []
  const io: CliIo = {
    env: opts.env ?? {},
    stdout: { write: (s: string) => { stdout += s; return true }, isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => { stderr += s; return true }, isTTY: opts.tty ?? false },
    serve: opts.serve ?? (async (args) => { served.push(args); return 0 })
  }
  if (opts.fetch !== undefined) io.fetch = opts.fetch
  const code = await runCli(argv, io)
  // Whatever goes wrong, a person reads a sentence, never a stack trace.
  t.notMatch(stderr, /^ {4}at /m, 'no stack trace on stderr')
  t.notMatch(stdout, /^ {4}at /m, 'no stack trace on stdout')
  return { code, stdout, stderr, served }
}
