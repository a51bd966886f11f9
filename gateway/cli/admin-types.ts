// The admin API's JSON, as the client reads it. The client keeps its own copy of these shapes: it talks to
// gateways of other versions over the wire and must not depend on the server's internals.

export type RolloutState = 'running' | 'paused' | 'rolled_back' | 'promoted'

export interface RouteTraffic {
  legacy: number
  new: number
  legacy_errors: number
  new_errors: number
  /** The share of the window's requests served by new, from 0 to 1; null when there were none. */
  new_share: number | null
}

export interface RouteStatus {
  name: string
  flag: string | null
  percent: number | null
  state: RolloutState | string
  state_reason: string | null
  state_since: string | null
  state_actor: string | null
  traffic: RouteTraffic
}

export interface RoutesAnswer {
  flag_source: { kind: string, location: string }
  window_seconds: number
  routes: RouteStatus[]
}

export interface AuditEvent {
  id: number
  at: string
  actor: string
  source: string
  action: string
  flag: string
  from: unknown
  to: unknown
  reason: string
}

export interface SetPercentAnswer {
  flag: string
  percent: number
  previous: number
  changed: boolean
  event: AuditEvent | null
}

export interface RollbackAnswer {
  flag: string
  state: string
  percent: number
  previous: number
  event: AuditEvent | null
}

export interface ResumeAnswer {
  flag: string
  state: string
  percent: number
  event: AuditEvent | null
}

export interface EventsAnswer {
  events: AuditEvent[]
}

export interface AdminErrorBody {
  statusCode?: number
  code?: string
  error?: string
  message?: string
}
