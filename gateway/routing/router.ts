// The parts of the decision, built once from the configuration and shared by the HTTP and WebSocket paths.
import type { GatewayConfig } from '../config/load.ts'
import type { FlagEvaluator, OverrideView } from './decide.ts'
import { RouteTable } from './route-table.ts'
import { StickyKey } from './sticky-key.ts'
import { VersionResolver } from './versions.ts'

export interface Router {
  readonly versions: VersionResolver
  readonly table: RouteTable
  readonly sticky: StickyKey
  readonly flags: FlagEvaluator
  readonly states: OverrideView
}

export function buildRouter (config: GatewayConfig, flags: FlagEvaluator, states: OverrideView): Router {
  return Object.freeze({
    versions: new VersionResolver(config.versions, config.version_header),
    table: new RouteTable(config.routes),
    sticky: new StickyKey(config.sticky),
    flags,
    states
  })
}
