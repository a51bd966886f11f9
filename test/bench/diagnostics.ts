// The notes under the table that say how far the figures can be trusted.
import { summarize, type CaseResult } from './report.ts'
import { errorCount } from './wrk.ts'

// Above this share of a core taken by other processes, the figures are flagged as disturbed.
export const BUSY_MACHINE_PERCENT = 10
// Above this, the load core (wrk and the backend) rather than the proxy may be what limits req/s.
const LOAD_BOUND_PERCENT = 90

export function diagnose (results: CaseResult[]): string[] {
  const notes: string[] = []
  const ids = (rs: CaseResult[]) => rs.map((r) => r.id).join(', ')
  const withErrors = results.filter((r) => r.samples.some((s) => errorCount(s.errors) > 0))
  if (withErrors.length > 0) {
    notes.push(`runs of ${ids(withErrors)} had errors (non-2xx answers or socket errors): their figures are suspect`)
  }
  const disturbed = results.filter((r) => r.samples.some((s) =>
    Math.max(s.loadCoreForeign ?? 0, s.proxyCoreForeign ?? 0) > BUSY_MACHINE_PERCENT))
  if (disturbed.length > 0) {
    notes.push(`other processes took more than ${BUSY_MACHINE_PERCENT} % of a core during some runs of ` +
      `${ids(disturbed)} (other% l/p column): run again on a quiet machine`)
  }
  const loadBound = results.filter((r) => (summarize(r)?.loadCoreBusy ?? 0) > LOAD_BOUND_PERCENT)
  if (loadBound.length > 0) {
    notes.push(`the load core was above ${LOAD_BOUND_PERCENT} % busy for ${ids(loadBound)}: wrk and the backend, not ` +
      'only the process under test, may have limited req/s there; CPU µs/req does not depend on that')
  }
  notes.push('wrk is closed-loop: the latencies are those of a saturated server, not of a fixed request rate')
  notes.push('CPU µs/req is utime+stime of the process under test (all its threads) over the requests wrk ' +
    'completed; the kernel may account loopback softirq work to the core rather than to the process')
  return notes
}
