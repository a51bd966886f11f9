// The evidence a rule may use about a flag starts when a person last resumed it: the requests that made
// it roll back, still in the window, must not roll it back again the moment it is resumed. Each window a
// rule reads is cut to the seconds since the resume (at least one), so until enough new requests arrive
// the verdict is inconclusive (min_requests), not a failure on old evidence.
import type { Route } from '../routing/route-table.ts'
import type { FlagStates } from '../state/flag-states.ts'
import type { RuleWindows, ShadowWindows } from './rule-evaluator.ts'

export function sinceResume (opts: { traffic: RuleWindows, shadowing: ShadowWindows | null, routes: readonly Route[], states: FlagStates, now?: () => number }): { traffic: RuleWindows, shadowing: ShadowWindows | null } {
  const now = opts.now ?? Date.now
  const flagOf = new Map(opts.routes.map((r) => [r.name, r.flag]))
  const cut = (route: string, seconds: number | undefined): number | undefined => {
    const flag = flagOf.get(route)
    if (flag === null || flag === undefined || seconds === undefined) return seconds
    const s = opts.states.get(flag)
    // A state of running with a date is a resume (a flag never changed has none).
    if (s.state !== 'running' || s.since === null) return seconds
    const age = Math.max(1, Math.ceil((now() - Date.parse(s.since)) / 1000))
    return Math.min(seconds, age)
  }
  const { traffic, shadowing } = opts
  return {
    traffic: {
      totals: (route, seconds) => traffic.totals(route, cut(route, seconds)),
      latencies: (route, backend, seconds) => traffic.latencies(route, backend, cut(route, seconds))
    },
    shadowing: shadowing === null ? null : { mismatchRate: (route, seconds) => shadowing.mismatchRate(route, cut(route, seconds)) }
  }
}
