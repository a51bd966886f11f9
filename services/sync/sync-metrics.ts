// The sync's metrics, declared once against an injected registry. switchyard_sync_lag_seconds is part of the
// public contract (DESIGN.md); dashboards and alert rules (dashboards/) read the rest by these names.
// Every series of a known direction, outcome and verify result starts at 0, so that rate() and increase()
// see the first change (a counter born at 1 looks unchanged to them) and the dashboards show a 0, not a gap.
import client, { type Registry } from 'prom-client'
import type { DirectionName } from './changes.ts'
import type { Resolution } from './resolve.ts'

export type VerifyResultLabel = 'ok' | 'differences' | 'error'
export type VerifyDifferenceKind = 'missing' | 'extra' | 'different'

export class SyncMetrics {
  readonly registry: Registry
  readonly lag: client.Gauge<'direction'>
  readonly applied: client.Counter<'direction'>
  readonly decisions: client.Counter<'direction' | 'outcome'>
  readonly deadLetters: client.Counter<'direction'>
  readonly errors: client.Counter<'direction'>
  readonly lastError: client.Gauge<'direction'>
  readonly verifyRuns: client.Counter<'result'>
  readonly verifyDifferences: client.Gauge<'kind'>
  readonly verifyLastRun: client.Gauge
  readonly verifyDuration: client.Gauge

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
    this.verifyRuns = new client.Counter({
      name: 'switchyard_sync_verify_runs_total',
      help: 'Periodic verify runs by result: ok (both sides hold the same rows), differences (rows still differ after the rechecks), error (the run failed).',
      labelNames: ['result'],
      registers
    })
    this.verifyDifferences = new client.Gauge({
      name: 'switchyard_sync_verify_differences',
      help: 'Rows the last completed verify found different, by kind: missing (in legacy, not in unified), extra (in unified, not in legacy), different (mapped fields or embedding). Absent until the first run.',
      labelNames: ['kind'],
      registers
    })
    this.verifyLastRun = new client.Gauge({ name: 'switchyard_sync_verify_last_run_timestamp_seconds', help: 'When the last verify run completed, ok or with differences (0: not yet).', registers })
    this.verifyDuration = new client.Gauge({ name: 'switchyard_sync_verify_duration_seconds', help: 'How long the last completed verify run took, rechecks included (0: not yet).', registers })

    for (const direction of SyncMetrics.directions) {
      this.applied.inc({ direction }, 0)
      this.deadLetters.inc({ direction }, 0)
      this.errors.inc({ direction }, 0)
      this.lastError.set({ direction }, 0)
      for (const outcome of OUTCOMES) this.decisions.inc({ direction, outcome }, 0)
    }
    for (const result of ['ok', 'differences', 'error'] as const) this.verifyRuns.inc({ result }, 0)
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
    for (const outcome of OUTCOMES) {
      if (outcomes[outcome] > 0) this.decisions.inc({ direction, outcome }, outcomes[outcome])
    }
  }

  /** A verify run that completed: its result, what it found, and when. */
  verified (found: Record<VerifyDifferenceKind, number>, seconds: number, at: number): void {
    const total = found.missing + found.extra + found.different
    this.verifyRuns.inc({ result: total === 0 ? 'ok' : 'differences' })
    for (const kind of ['missing', 'extra', 'different'] as const) this.verifyDifferences.set({ kind }, found[kind])
    this.verifyDuration.set(seconds)
    this.verifyLastRun.set(at / 1000)
  }

  /** A verify run that failed: what the last completed run found stays as it was. */
  verifyFailed (): void {
    this.verifyRuns.inc({ result: 'error' })
  }

  static directions: DirectionName[] = ['legacy_to_unified', 'unified_to_legacy']
}

const OUTCOMES = ['apply', 'same', 'keep_target'] as const satisfies readonly Resolution[]
