// Shadow comparison: per route, how often the other backend answers the same, which fields differ most, the
// noise learned, and what became of the shadows that were not compared (errors, drops by reason).
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { built, countedIn, labelVariable, newDashboard, row, shareOf, statPanel, tablePanel, timeSeries } from './panels.ts'

const R = 'route=~"$route"'
const RATE = '[$__rate_interval]'

const shadows = (labels: string, window: string) => `rate(switchyard_shadow_total{${R}${labels}}${window})`
const matchRate = (window: string) => shareOf('route', shadows(',result="match"', window), shadows(',result=~"match|mismatch"', window))
const shadowQuantile = (q: number) => `histogram_quantile(${q}, sum by (backend, le) (rate(switchyard_shadow_duration_seconds_bucket{${R}}${RATE})))`

export function shadowComparison (): dashboard.Dashboard {
  return built(newDashboard({
    uid: 'switchyard-shadow',
    title: 'Switchyard: shadow comparison',
    description: 'How often the backend that did not serve the client answers the same, which fields differ, the noise, and the shadows that were not compared.'
  })
    .withVariable(labelVariable('route', 'route', 'switchyard_shadow_total', 'Route'))

    .withRow(row('Comparisons'))
    .withPanel(timeSeries({
      title: 'Match rate by route',
      description: 'Matches over comparisons (matches and mismatches, after normalisation; differences learned as noise do not count). The alert SwitchyardShadowMismatchRateHigh fires when over 2 % mismatch on a route for 10 minutes.',
      unit: 'percentunit',
      min: 0,
      max: 1,
      width: 16,
      queries: [{ expr: matchRate(RATE), legend: '{{route}}' }]
    }))
    .withPanel(statPanel({
      title: 'Match rate over the time range',
      description: 'The same over the whole time range picked.',
      unit: 'percentunit',
      width: 8,
      height: 8,
      thresholds: [{ value: null, color: 'red' }, { value: 0.95, color: 'orange' }, { value: 0.98, color: 'green' }],
      queries: [{ expr: matchRate('[$__range]'), legend: '{{route}}', instant: true }]
    }))
    .withPanel(timeSeries({
      title: 'Shadows by result',
      description: 'Shadowed requests per second: match, mismatch, error (the shadow request failed), dropped (not compared; see drops by reason).',
      unit: 'reqps',
      stack: 'normal',
      width: 24,
      queries: [{ expr: `sum by (route, result) (${shadows('', RATE)})`, legend: '{{route}}: {{result}}' }]
    }))

    .withRow(row('Fields'))
    .withPanel(tablePanel({
      title: 'Top mismatching fields in the time range',
      description: 'The fields that differed most: JSON Pointers with array indexes as * (/items/*/price), status, or header:<name>; past the configured number of fields per route, "other". The exact differences: switchyard diffs <route>.',
      valueTitle: 'mismatches',
      queries: [{ expr: `topk(20, sum by (route, field) (${countedIn(`switchyard_shadow_fields_total{${R},class="mismatch"}`, '$__range')}))` }]
    }))
    .withPanel(timeSeries({
      title: 'Mismatching fields over time',
      description: 'The ten fields differing most often right now, per second.',
      unit: 'short',
      queries: [{ expr: `topk(10, sum by (route, field) (rate(switchyard_shadow_fields_total{${R},class="mismatch"}${RATE})))`, legend: '{{route}} {{field}}' }]
    }))
    .withPanel(tablePanel({
      title: 'Noise in the time range',
      description: 'Fields that differ between two answers of the same backend (a timestamp, a request id) were learned as noise: they are reported here, not as mismatches. When each was learned: switchyard diffs <route>.',
      valueTitle: 'differences seen as noise',
      width: 24,
      height: 6,
      queries: [{ expr: `sum by (route, field) (${countedIn(`switchyard_shadow_fields_total{${R},class="noise"}`, '$__range')})` }]
    }))

    .withRow(row('Errors, drops and latency'))
    .withPanel(timeSeries({
      title: 'Shadow errors by kind',
      description: 'Shadow requests that failed (timeout, refused, reset...). They change nothing for the client.',
      unit: 'reqps',
      width: 8,
      queries: [{ expr: `sum by (route, kind) (rate(switchyard_shadow_errors_total{${R}}${RATE}))`, legend: '{{route}}: {{kind}}' }]
    }))
    .withPanel(timeSeries({
      title: 'Drops by reason',
      description: 'Shadows not compared: concurrency (over the route\'s limit), buffer_budget, too_large, client_aborted, primary_failed, failover, shutdown. A drop is never waited for.',
      unit: 'reqps',
      width: 8,
      queries: [{ expr: `sum by (route, reason) (rate(switchyard_shadow_dropped_total{${R}}${RATE}))`, legend: '{{route}}: {{reason}}' }]
    }))
    .withPanel(timeSeries({
      title: 'Shadow request latency',
      description: 'How long shadow requests took, body included, by the backend they went to. Off the client\'s path, but a slow shadow holds a concurrency slot.',
      unit: 's',
      width: 8,
      queries: [
        { expr: shadowQuantile(0.5), legend: '{{backend}} p50' },
        { expr: shadowQuantile(0.99), legend: '{{backend}} p99' }
      ]
    })))
}
