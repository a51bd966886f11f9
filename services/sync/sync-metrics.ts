// The sync's metrics, declared once against an injected registry. switchyard_sync_lag_seconds is part of the
// public contract (DESIGN.md); dashboards and alert rules read the rest by these names.
import client, { type Registry } from 'prom-client'
import type { DirectionName } from './changes.ts'
import type { Resolution } from './resolve.ts'

export class SyncMetrics {
  readonly registry: Registry
  readonly lag: client.Gauge<'direction'>
  readonly applied: client.Counter<'direction'>
  readonly decisions: client.Counter<'direction' | 'outcome'>
  readonly deadLetters: client.Counter<'direction'>
  readonly errors: client.Counter<'direction'>
  readonly lastError: client.Gauge<'direction'>

  constructor (registry: Registry) {
    this.registry = registry
    const registers = [registry]
    const lags = this.lags
    this.lag = new client.Gauge({
      name: 'switchyard_sync_lag_seconds',
      help: 'Age of the oldest change not yet applied in this direction (0 when caught up); it keeps growing while batches fail.',
      labelNames: ['direction'],
      registers,
      collect () {
        const now = Date.now()
        for (const [direction, l] of lags) this.set({ direction }, l.seconds + (l.growing ? Math.max(0, now - l.at) / 1000 : 0))
      }
    })
    this.applied = new client.Counter({ name: 'switchyard_sync_rows_applied_total', help: 'Rows written to the target by the sync.', labelNames: ['direction'], registers })
    this.decisions = new client.Counter({ name: 'switchyard_sync_decisions_total', help: 'Last-writer-wins decisions per row: apply (the incoming version is newer), same (nothing to do), keep_target (the target is newer: a conflict the target won).', labelNames: ['direction', 'outcome'], registers })
    this.deadLetters = new client.Counter({ name: 'switchyard_sync_dead_letters_total', help: 'Changes that could not be applied and were parked in the dead-letter table.', labelNames: ['direction'], registers })
    this.errors = new client.Counter({ name: 'switchyard_sync_errors_total', help: 'Failed sync batches (a database unreachable, for one); the batch is retried with backoff.', labelNames: ['direction'], registers })
    this.lastError = new client.Gauge({ name: 'switchyard_sync_last_error_timestamp_seconds', help: 'When the last batch of this direction failed (0: never).', labelNames: ['direction'], registers })
  }

  private readonly lags = new Map<DirectionName, { seconds: number, at: number, growing: boolean }>()

  /** The lag measured after a committed batch. */
  setLag (direction: DirectionName, seconds: number): void {
    this.lags.set(direction, { seconds, at: Date.now(), growing: false })
  }

  /**
   * The lag as it was at `at` while batches fail: nothing is applied until one succeeds, so every scrape
   * reads it grown by the time since, not frozen at the last failed attempt.
   */
  setLagGrowing (direction: DirectionName, seconds: number, at: number): void {
    this.lags.set(direction, { seconds, at, growing: true })
  }

  record (direction: DirectionName, outcomes: Record<Resolution, number>, applied: number, parked: number): void {
    this.applied.inc({ direction }, applied)
    if (parked > 0) this.deadLetters.inc({ direction }, parked)
    for (const outcome of ['apply', 'same', 'keep_target'] as const) {
      if (outcomes[outcome] > 0) this.decisions.inc({ direction, outcome }, outcomes[outcome])
    }
  }

  static directions: DirectionName[] = ['legacy_to_unified', 'unified_to_legacy']
}
