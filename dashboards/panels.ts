// The building blocks the three dashboards share: the Prometheus datasource variable every panel and query
// names, the scrape jobs, PromQL helpers, and panel builders with this project's defaults (a unit, a legend
// as a table, a description that says how to read the panel).
import * as common from '@grafana/grafana-foundation-sdk/common'
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus'
import * as stat from '@grafana/grafana-foundation-sdk/stat'
import * as table from '@grafana/grafana-foundation-sdk/table'
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries'

/** Every panel, query, variable and annotation reads from the Prometheus the dashboard's user picks. */
// eslint-disable-next-line no-template-curly-in-string -- Grafana's syntax for the variable, not a template
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' }

/** The scrape jobs the dashboards and dashboards/alerts.rules.yml expect. */
export const JOBS = { gateway: 'switchyard-gateway', sync: 'switchyard-sync' } as const

export const TAGS = ['switchyard']

export function datasourceVariable (): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus')
}

/** A multi-value variable over a label's values, with All as `.*`, for selectors written `label=~"$name"`. */
export function labelVariable (name: string, label: string, metric: string, title: string): dashboard.QueryVariableBuilder {
  const query = `label_values(${metric}, ${label})`
  return new dashboard.QueryVariableBuilder(name)
    .label(title)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ text: 'All', value: '$__all', selected: true })
}

/**
 * How many times a counter went up over `window`, by its labels. A series born within the window counts
 * whole (its value is all it has counted): increase() alone sees a counter born at 1 as unchanged.
 */
export function countedIn (selector: string, window: string): string {
  return `(${selector} unless ${selector} offset ${window}) or increase(${selector}[${window}])`
}

export interface Query { expr: string, legend?: string, instant?: boolean }

function target (q: Query, i: number): DataqueryBuilder {
  const b = new DataqueryBuilder()
    .datasource(DATASOURCE)
    .refId(String.fromCharCode(65 + i))
    .expr(q.expr)
    .legendFormat(q.legend ?? '__auto')
  return q.instant === true ? b.instant() : b.range()
}

export interface PanelOptions {
  title: string
  description: string
  queries: Query[]
  unit?: string
  width?: number
  height?: number
  min?: number
  max?: number
}

/** The settings every panel builder of the SDK has, under the same names. */
interface Basics<B> {
  title: (s: string) => B
  description: (s: string) => B
  datasource: (d: typeof DATASOURCE) => B
  span: (n: number) => B
  height: (n: number) => B
  unit: (s: string) => B
}

/** Title, description, datasource, size (the options', or the kind's default) and unit. */
function basics<B extends Basics<B>> (b: B, o: PanelOptions, size: { width: number, height: number }): B {
  return b.title(o.title).description(o.description).datasource(DATASOURCE).span(o.width ?? size.width).height(o.height ?? size.height).unit(o.unit ?? 'short')
}

/** `part` over `whole`, summed by `by`: 0 (not no data) where `whole` has series and `part` has none. */
export function shareOf (by: string, part: string, whole: string): string {
  return `(sum by (${by}) (${part}) or sum by (${by}) (${whole}) * 0) / sum by (${by}) (${whole})`
}

export function timeSeries (o: PanelOptions & { stack?: 'normal' | 'percent', steps?: boolean, bars?: boolean }): timeseries.PanelBuilder {
  const b = basics(new timeseries.PanelBuilder(), o, { width: 12, height: 8 })
    .fillOpacity(o.stack === undefined ? 10 : 40)
    .lineInterpolation(o.steps === true ? common.LineInterpolation.StepAfter : common.LineInterpolation.Linear)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder()
      .showLegend(true)
      .displayMode(common.LegendDisplayMode.Table)
      .placement(common.LegendPlacement.Bottom)
      .calcs(['lastNotNull', 'max']))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
  if (o.stack !== undefined) b.stacking(new common.StackingConfigBuilder().mode(o.stack === 'percent' ? common.StackingMode.Percent : common.StackingMode.Normal))
  if (o.bars === true) b.drawStyle(common.GraphDrawStyle.Bars)
  if (o.min !== undefined) b.min(o.min)
  if (o.max !== undefined) b.max(o.max)
  o.queries.forEach((q, i) => b.withTarget(target(q, i)))
  return b
}

export interface Threshold { value: number | null, color: string }

export function statPanel (o: PanelOptions & { thresholds?: Threshold[], mappings?: dashboard.ValueMapping[], graph?: boolean }): stat.PanelBuilder {
  const b = basics(new stat.PanelBuilder(), o, { width: 6, height: 5 })
    .graphMode(o.graph === true ? common.BigValueGraphMode.Area : common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .textMode(common.BigValueTextMode.ValueAndName)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .thresholds(thresholds(o.thresholds ?? [{ value: null, color: 'green' }]))
  if (o.mappings !== undefined) b.mappings(o.mappings)
  if (o.min !== undefined) b.min(o.min)
  if (o.max !== undefined) b.max(o.max)
  o.queries.forEach((q, i) => b.withTarget(target(q, i)))
  return b
}

/** A table of an instant query's series: a column per label, one row per series, sorted by value. */
export function tablePanel (o: PanelOptions & { valueTitle: string }): table.PanelBuilder {
  const b = basics(new table.PanelBuilder(), o, { width: 12, height: 8 })
    .sortBy([new common.TableSortByFieldStateBuilder().displayName(o.valueTitle).desc(true)])
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: o.valueTitle } } })
  o.queries.forEach((q, i) => b.withTarget(target({ ...q, instant: true }, i).format(PromQueryFormat.Table)))
  return b
}

export function thresholds (steps: Threshold[]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps)
}

/** 1 as up (green) and 0 as down (red). */
export const UP_DOWN: dashboard.ValueMapping[] = [{
  type: dashboard.MappingType.ValueToText,
  options: { 0: { text: 'down', color: 'red', index: 0 }, 1: { text: 'up', color: 'green', index: 1 } }
}]

/** 0 as the given word (for timestamps whose 0 means "never"). */
export function zeroAs (text: string): dashboard.ValueMapping[] {
  return [{ type: dashboard.MappingType.ValueToText, options: { 0: { text, color: 'text', index: 0 } } }]
}

export function row (title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title)
}

/** An annotation from a PromQL query: each series with a value is an event while it has one. */
export function promAnnotation (o: { name: string, expr: string, color: string, title: string, text: string, tags: string }): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name(o.name)
    .datasource(DATASOURCE)
    .enable(true)
    .iconColor(o.color)
    .expr(o.expr)
    .titleFormat(o.title)
    .textFormat(o.text)
    .tagKeys(o.tags)
    .step('30s')
}

export interface DashboardOptions {
  uid: string
  title: string
  description: string
}

export function newDashboard (o: DashboardOptions): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(o.title)
    .uid(o.uid)
    .description(o.description)
    .tags(TAGS)
    .editable()
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable())
}

/** The dashboard as Grafana stores it: panels numbered from 1 in order, rows included, and an annotation list. */
export function built (b: dashboard.DashboardBuilder): dashboard.Dashboard {
  const d = b.build()
  d.annotations = { list: d.annotations?.list ?? [] }
  let id = 0
  for (const p of d.panels ?? []) {
    p.id = ++id
    for (const inner of (p as dashboard.RowPanel).panels ?? []) inner.id = ++id
  }
  return d
}
