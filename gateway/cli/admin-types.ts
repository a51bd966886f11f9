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
  flag_source: { kind: string, location: string, healthy?: boolean | null, last_error?: string | null, pending_writes?: Array<{ flag: string, percent: number, since: string, attempts: number, last_error: string }> }
  window_seconds: number
  /** Rules failing now or unable to get a value; absent from an older gateway. */
  rule_alerts?: Array<{ rule: string, flag: string, status: string, failing: number, consecutive_required: number, summary: string, error: string | null }>
  /** Null (or absent, from an older gateway) for one replica. */
  replicas?: { redis: string, redis_up: boolean, leader: string | null, this_replica: string, pending_changes: number } | null
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
  /** With several replicas: the replica the change was made through. */
  replica?: string
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

export interface ShadowCounts {
  match: number
  mismatch: number
  error: number
  dropped: number
}

export interface ShadowNoiseField {
  field: string
  /** Comparisons of one backend with itself in which the field differed. */
  times_seen: number
  first_seen: string
  last_seen: string
  /** Comparisons of the two backends in which a difference there was counted as noise. */
  absorbed: number
}

export interface ShadowRouteSummary {
  route: string
  percent: number
  methods: string[]
  side_effect_free: boolean
  noise_percent: number
  inflight: number
  counts: ShadowCounts
  /** Matches over comparisons since the gateway started; null before the first. */
  match_rate: number | null
  matches_with_noise: number
  window: { seconds: number, compared: number, mismatched: number, mismatch_rate: number | null }
  /** Comparisons in which each field differed, most first; array indexes are written '*'. */
  top_fields: Array<{ field: string, count: number }>
  noise_fields: ShadowNoiseField[]
  noise_ignored_when_full: number
  drops: Record<string, number>
  errors: Record<string, number>
  samples_stored: { stored: number, bytes: number, oversize: number }
}

export interface ShadowListAnswer {
  routes: ShadowRouteSummary[]
}

export interface ShadowDifference {
  /** 'status', 'header:<name>', or a JSON Pointer into the body ('' is the whole body). */
  path: string
  field: string
  kind: 'status' | 'header' | 'changed' | 'type' | 'missing' | 'extra' | 'order' | 'body' | string
  /** Absent for 'extra'; for 'body', the SHA-256 of the primary's body. */
  primary?: unknown
  /** Absent for 'missing'; for 'body', the SHA-256 of the shadow's body. */
  shadow?: unknown
}

export interface ShadowSampleAnswer {
  backend: string
  status: number
  headers: Record<string, string | string[]>
  body: unknown
  body_format: string
  body_cut_bytes: number
}

export interface ShadowSample {
  time: string
  request: { method: string, path: string, request_id: string }
  /** The backend whose answer the client got. */
  primary: ShadowSampleAnswer
  shadow: ShadowSampleAnswer
  differences: ShadowDifference[]
  differences_omitted: number
  noise: string[]
  noise_omitted: number
}

export interface ShadowRouteAnswer extends ShadowRouteSummary {
  /** Newest first. */
  samples: ShadowSample[]
}

export interface AdminErrorBody {
  statusCode?: number
  code?: string
  error?: string
  message?: string
}
