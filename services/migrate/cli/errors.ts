// A mistake in how the command was called: exit code 2 and a sentence, never a stack trace.
export class MigrateUsageError extends Error {
  readonly exitCode = 2
}
