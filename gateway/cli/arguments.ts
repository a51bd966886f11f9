// Checks of argument values that the admin API would also refuse: caught here, before any request, with
// the fix in the message.
import { usageError } from './cli-error.ts'

export function parsePercent (raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) > 100) {
    throw usageError(`The percent must be a whole number from 0 to 100, got ${JSON.stringify(raw)}.`)
  }
  return Number(raw)
}

export function parseLimit (raw: string | boolean | undefined): number | undefined {
  if (typeof raw !== 'string') return undefined
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw usageError(`--limit must be a whole number of at least 1, got ${JSON.stringify(raw)}.`)
  }
  return Number(raw)
}

export function requireFlag (raw: string): string {
  if (raw.trim() === '') throw usageError('The flag name is empty. `switchyard status` lists the flags.')
  return raw
}

export function requireRoute (raw: string): string {
  if (raw.trim() === '') throw usageError('The route name is empty. `switchyard diffs` lists the shadowed routes.')
  return raw
}

/** Every change is recorded with the reason for it; a change without one is refused. */
export function requireReason (raw: string | boolean | undefined, flag: string): string {
  if (typeof raw !== 'string') {
    throw usageError(`--reason is required: say why you are changing ${flag}, and the audit log will keep it.`)
  }
  const reason = raw.trim()
  if (reason === '') {
    throw usageError(`--reason is empty: say why you are changing ${flag}, and the audit log will keep it.`)
  }
  return reason
}
