// The two-way sync: lag and rows per second in each direction, last-writer-wins decisions and conflicts,
// parked changes, failed batches, and what the periodic verify found.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { built, JOBS, labelVariable, newDashboard, row, statPanel, timeSeries, zeroAs } from './panels.ts'

const D = 'direction=~"$direction"'
const RATE = '[$__rate_interval]'

export function dataSync (): dashboard.Dashboard {
  return built(newDashboard({
    uid: 'switchyard-sync',
    title: 'Switchyard: data sync',
    description: 'The sync between the legacy and unified databases: lag, throughput, conflicts, parked changes, failures, and the periodic verify.'
  })
    .withVariable(labelVariable('direction', 'direction', 'switchyard_sync_lag_seconds', 'Direction'))

    .withRow(row('Flow'))
    .withPanel(timeSeries({
      title: 'Lag',
      description: 'The age of the oldest change not yet applied in each direction (0 when caught up). It grows while batches fail. The alert SwitchyardSyncLagHigh fires over 30 s for 2 minutes.',
      unit: 's',
      min: 0,
      width: 10,
      queries: [{ expr: `max by (direction) (switchyard_sync_lag_seconds{${D}})`, legend: '{{direction}}' }]
    }))
    .withPanel(timeSeries({
      title: 'Rows applied per second',
      description: 'Rows the sync wrote to the target, per direction.',
      unit: 'rowsps',
      min: 0,
      width: 10,
      queries: [{ expr: `sum by (direction) (rate(switchyard_sync_rows_applied_total{${D}}${RATE}))`, legend: '{{direction}}' }]
    }))
    .withPanel(statPanel({
      title: 'Followers',
      description: 'Sync followers Prometheus scrapes and that answered (job switchyard-sync). Exactly one should run.',
      width: 4,
      height: 8,
      thresholds: [{ value: null, color: 'red' }, { value: 1, color: 'green' }],
      queries: [{ expr: `sum(up{job="${JOBS.sync}"})`, legend: 'up', instant: true }]
    }))

    .withRow(row('Conflicts and failures'))
    .withPanel(timeSeries({
      title: 'Decisions per second',
      description: 'Last-writer-wins per row: apply (the incoming version is newer), same (nothing to do), keep_target (the target is newer: a conflict the target won).',
      unit: 'ops',
      stack: 'normal',
      queries: [{ expr: `sum by (direction, outcome) (rate(switchyard_sync_decisions_total{${D}}${RATE}))`, legend: '{{direction}}: {{outcome}}' }]
    }))
    .withPanel(timeSeries({
      title: 'Failed batches per second',
      description: 'Batches that failed (a database unreachable, a lost connection) and are retried with backoff; nothing is lost. The last error\'s text: switchyard-migrate sync status.',
      unit: 'ops',
      min: 0,
      queries: [{ expr: `sum by (direction) (rate(switchyard_sync_errors_total{${D}}${RATE}))`, legend: '{{direction}}' }]
    }))
    .withPanel(statPanel({
      title: 'Conflicts in the time range',
      description: 'Rows changed on both sides where the target\'s newer version won.',
      width: 8,
      queries: [{ expr: `sum by (direction) (increase(switchyard_sync_decisions_total{${D},outcome="keep_target"}[$__range]))`, legend: '{{direction}}', instant: true }]
    }))
    .withPanel(statPanel({
      title: 'Parked changes in the time range',
      description: 'Changes that could not be applied (a constraint violation) and were parked in sync_dead_letters. See switchyard-migrate sync status; once the cause is fixed, sync replay.',
      width: 8,
      thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
      queries: [{ expr: `sum by (direction) (increase(switchyard_sync_dead_letters_total{${D}}[$__range]))`, legend: '{{direction}}', instant: true }]
    }))
    .withPanel(statPanel({
      title: 'Last failed batch',
      description: 'When a batch last failed, per direction.',
      unit: 'dateTimeAsIso',
      width: 8,
      mappings: zeroAs('never'),
      queries: [{ expr: `max by (direction) (switchyard_sync_last_error_timestamp_seconds{${D}}) * 1000`, legend: '{{direction}}', instant: true }]
    }))

    .withRow(row('Verify'))
    .withPanel(statPanel({
      title: 'Differences found by the last verify',
      description: 'Rows still different after the rechecks, by kind: missing (in legacy, not in unified), extra (in unified, not in legacy), different. The alert SwitchyardSyncVerifyDifferences fires above 0. The ids: switchyard-migrate verify.',
      width: 8,
      thresholds: [{ value: null, color: 'green' }, { value: 1, color: 'red' }],
      queries: [{ expr: 'max by (kind) (switchyard_sync_verify_differences)', legend: '{{kind}}', instant: true }]
    }))
    .withPanel(statPanel({
      title: 'Verify runs in the time range',
      description: 'Periodic verify runs (sync --follow --verify-interval) by result: ok, differences, error.',
      width: 8,
      queries: [{ expr: 'sum by (result) (increase(switchyard_sync_verify_runs_total[$__range]))', legend: '{{result}}', instant: true }]
    }))
    .withPanel(statPanel({
      title: 'Last verify',
      description: 'When the last verify run completed, and how long it took (it reads each side at a bounded rate).',
      unit: 'dateTimeAsIso',
      width: 4,
      mappings: zeroAs('not yet'),
      queries: [{ expr: 'max(switchyard_sync_verify_last_run_timestamp_seconds) * 1000', legend: 'completed', instant: true }]
    }))
    .withPanel(statPanel({
      title: 'Last verify took',
      description: 'The duration of the last completed run, rechecks included.',
      unit: 's',
      width: 4,
      queries: [{ expr: 'max(switchyard_sync_verify_duration_seconds)', legend: 'duration', instant: true }]
    })))
}
