import type { AuditEvent } from '../admin-types.ts'

/** ' (event #12)', so that a change can be found again with `switchyard events`. */
export function eventRef (event: AuditEvent | null | undefined): string {
  return typeof event?.id === 'number' ? ` (event #${event.id})` : ''
}
