// The one error type the command-line client reports. Its message is a sentence for a person; the exit
// code tells a script whether the command line was wrong (2) or the gateway could not do it (1).

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export class CliError extends Error {
  readonly exitCode: number
  /** A usage line printed under the message, for mistakes on the command line. */
  readonly usage: string | undefined

  constructor (message: string, exitCode: number, options: { cause?: unknown, usage?: string } = {}) {
    super(message, { cause: options.cause })
    this.name = 'CliError'
    this.exitCode = exitCode
    this.usage = options.usage
  }
}

export function usageError (message: string, options: { cause?: unknown, usage?: string } = {}): CliError {
  return new CliError(message, EXIT_USAGE, options)
}

export function failure (message: string, cause?: unknown): CliError {
  return new CliError(message, EXIT_FAILURE, { cause })
}
