// The two directions between a legacy and a unified database (possibly the same database).
import type { DatabaseHandle } from '../db/database.ts'
import type { Direction } from './sync-batch.ts'

export function directionsBetween (legacy: DatabaseHandle, unified: DatabaseHandle): [Direction, Direction] {
  return [
    { name: 'legacy_to_unified', from: 'legacy', to: 'unified', source: legacy, target: unified },
    { name: 'unified_to_legacy', from: 'unified', to: 'legacy', source: unified, target: legacy }
  ]
}
