// Step 2 of the request path: which backend answers, and why. First match wins:
// version (an explicit API version) → override (the flag is rolled back) → flag (sticky percentage) → default.
// Pure: the flag evaluator and the override view are passed in, so tests pin them.
import type { BackendId } from '../config/schema.ts'
import type { Reason } from '../metrics/metrics.ts'
import type { Route } from './route-table.ts'
import type { VersionPin } from './versions.ts'

export interface Decision {
  readonly backend: BackendId
  readonly reason: Reason
}

export interface FlagEvaluator {
  isEnabled (flag: string, stickyKey: string): boolean
}

export interface OverrideView {
  /** True when the flag's routes must go to legacy whatever the percentage (rolled back, killed). */
  isOverridden (flag: string): boolean
}

const decisions = {
  legacy: { version: { backend: 'legacy', reason: 'version' }, default: { backend: 'legacy', reason: 'default' } },
  new: { version: { backend: 'new', reason: 'version' } },
  override: { backend: 'legacy', reason: 'override' },
  flagNew: { backend: 'new', reason: 'flag' },
  flagLegacy: { backend: 'legacy', reason: 'flag' }
} as const

export function decide (
  route: Route,
  pin: VersionPin | null,
  overrides: OverrideView,
  flags: FlagEvaluator,
  stickyKey: () => string
): Decision {
  if (pin !== null) return pin.backend === 'new' ? decisions.new.version : decisions.legacy.version
  const flag = route.flag
  if (flag === null) return decisions.legacy.default
  if (overrides.isOverridden(flag)) return decisions.override
  return flags.isEnabled(flag, stickyKey()) ? decisions.flagNew : decisions.flagLegacy
}
