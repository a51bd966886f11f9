// The evidence a rule may use about a flag starts when a person last resumed it: the requests that made
// it roll back, still in the window, must not roll it back again the moment it is resumed. Every rule,
// in-process or PromQL, reads its window cut to the time since the resume, so until enough new requests
// arrive the verdict is inconclusive (min_requests), not a failure on old evidence.
import type { FlagState } from '../state/flag-states.ts'

/** When a resume cut the rule's window short (the resume, in ms), or null when the whole window counts. */
function cutAt (state: FlagState, windowSeconds: number, nowMs: number): number | null {
  if (state.state !== 'running' || state.since === null) return null
  const at = Date.parse(state.since)
  return nowMs - at < windowSeconds * 1000 ? at : null
}

/**
 * The seconds of a rule's window it may read about a flag in `state` at `nowMs`: the whole window, or, for
 * a flag resumed (running with a date; a flag never changed has none) less than a window ago, the time
 * since the resume, a millisecond at least.
 */
export function evidenceSeconds (state: FlagState, windowSeconds: number, nowMs: number): number {
  const at = cutAt(state, windowSeconds, nowMs)
  return at === null ? windowSeconds : Math.max(0.001, Math.floor(nowMs - at) / 1000)
}

/**
 * The one-second slots of the traffic windows, the current one included, that hold what happened since the
 * cut of evidenceSeconds: back to the slot the resume fell in, which a count of seconds rounded up misses
 * whenever the resume fell later in its second than now does in its own.
 */
export function evidenceSlots (state: FlagState, windowSeconds: number, nowMs: number): number {
  const at = cutAt(state, windowSeconds, nowMs)
  return at === null ? windowSeconds : Math.max(1, Math.min(windowSeconds, Math.floor(nowMs / 1000) - Math.floor(at / 1000) + 1))
}
