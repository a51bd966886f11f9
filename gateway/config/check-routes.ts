// The checks a schema cannot express: unique names and prefixes, path patterns that compile without
// two routes claiming the same pattern and method, and rules whose keys fit their metric.
import { RouteTable } from '../routing/route-table.ts'
import { placeholderProblems } from '../rules/prometheus-query.ts'
import type { Config } from './schema.ts'
import { acceptVersionOf } from '../routing/versions.ts'
import { checkCompareRules } from '../shadow/compare.ts'
import { checkRedactionRules } from '../shadow/redact.ts'

/** What the environment provides that the configuration may need; a key left out is not checked. */
export interface Provided {
  /** Whether PROMETHEUS_URL is set, which rules of metric promql need. */
  prometheus?: boolean
}

const PROMQL_ONLY = ['query', 'samples_query', 'fail_when', 'timeout_ms'] as const

export function checkRoutes (config: Config, provided: Provided = {}): string[] {
  const problems: string[] = []
  const names = new Map<string, number>()
  config.routes.forEach((r, i) => {
    const first = names.get(r.name)
    if (first !== undefined) problems.push(`routes[${i}].name: "${r.name}" is already the name of routes[${first}]; route names must be unique`)
    else names.set(r.name, i)
    if (r.name === 'unmatched') problems.push(`routes[${i}].name: "unmatched" is reserved for requests that match no route`)
    if (r.shadow !== undefined) {
      const unsafe = r.shadow.methods.filter((m) => m !== 'GET' && m !== 'HEAD')
      if (unsafe.length > 0 && !r.shadow.side_effect_free) {
        problems.push(`routes[${i}].shadow.methods: ${unsafe.join(', ')} may change data and would run twice; ` +
          'shadow only GET and HEAD, or set shadow.side_effect_free: true if this route\'s requests change nothing')
      }
      const methods = r.methods ?? null
      const never = methods === null ? [] : r.shadow.methods.filter((m) => m !== 'HEAD' && !methods.includes(m))
      if (never.length > 0) problems.push(`routes[${i}].shadow.methods: ${never.join(', ')} is not among the route's methods (${methods!.join(', ')})`)
      for (const p of checkCompareRules(r.shadow.compare)) problems.push(`routes[${i}].shadow.compare.${p}`)
      for (const p of checkRedactionRules(r.shadow.redact)) problems.push(`routes[${i}].shadow.${p}`)
    }
    r.paths.forEach((p, j) => {
      try {
        new RouteTable([{ ...r, paths: [p] }]) // eslint-disable-line no-new
      } catch (err) {
        problems.push(`routes[${i}].paths[${j}]: ${JSON.stringify(p)} is not a valid path pattern (${(err as Error).message})`)
      }
    })
  })
  if (problems.length === 0) {
    try {
      new RouteTable(config.routes) // eslint-disable-line no-new
    } catch (err) {
      problems.push(`routes: two routes claim the same path and method (${(err as Error).message}); give each pattern to one route`)
    }
  }
  const prefixes = new Map<string, number>()
  const accepts = new Map<string, number>()
  config.versions.forEach((v, i) => {
    const p = prefixes.get(v.prefix)
    if (p !== undefined) problems.push(`versions[${i}].prefix: ${v.prefix} is already used by versions[${p}]`)
    else prefixes.set(v.prefix, i)
    const accept = acceptVersionOf(v)
    const a = accepts.get(accept)
    if (a !== undefined) problems.push(`versions[${i}]: Accept-Version ${JSON.stringify(accept)} is already used by versions[${a}]; set accept_version`)
    else accepts.set(accept, i)
  })
  const flags = new Set(config.routes.flatMap((r) => r.flag === undefined ? [] : [r.flag]))
  const shadowed = new Set(config.routes.filter((r) => r.shadow !== undefined).map((r) => r.name))
  const ruleNames = new Map<string, number>()
  config.rules.list.forEach((rule, i) => {
    const first = ruleNames.get(rule.name)
    if (first !== undefined) problems.push(`rules.list[${i}].name: "${rule.name}" is already the name of rules.list[${first}]; rule names must be unique`)
    else ruleNames.set(rule.name, i)
    for (const f of rule.flags ?? []) {
      if (!flags.has(f)) problems.push(`rules.list[${i}].flags: no route uses the flag "${f}"; the routes' flags are ${[...flags].join(', ') || '(none)'}`)
    }
    if ((rule.metric === 'error_rate' || rule.metric === 'mismatch_rate') && rule.threshold > 1) {
      problems.push(`rules.list[${i}].threshold: ${rule.threshold} is a rate above 1; write 0.05 for 5 %`)
    }
    if (rule.metric === 'mismatch_rate' && shadowed.size === 0) {
      problems.push(`rules.list[${i}].metric: mismatch_rate needs a shadowed route (add shadow: to a route)`)
    }
    if (rule.metric === 'mismatch_rate' && rule.window_seconds > config.shadow.window_seconds) {
      problems.push(`rules.list[${i}].window_seconds: ${rule.window_seconds} is longer than shadow.window_seconds (${config.shadow.window_seconds}), the window mismatches are kept for`)
    }
    if (rule.metric !== 'promql') {
      for (const k of PROMQL_ONLY) {
        if (rule[k] !== undefined) problems.push(`rules.list[${i}].${k}: only a rule of metric promql takes ${k}; remove it, or set metric: promql`)
      }
      return
    }
    if (rule.query === undefined) {
      problems.push(`rules.list[${i}].query: missing; a promql rule needs a PromQL query whose answer is one number, such as ` +
        'sum(rate(switchyard_requests_total{route=~"{{routes}}",backend="new",code=~"5.."}[{{window}}]))')
    }
    for (const k of ['query', 'samples_query'] as const) {
      const text = rule[k]
      if (text !== undefined) for (const p of placeholderProblems(text)) problems.push(`rules.list[${i}].${k}: ${p}`)
    }
    if (provided.prometheus === false) {
      problems.push(`rules.list[${i}].metric: promql needs PROMETHEUS_URL, the Prometheus to query (such as http://prometheus:9090); set it, or remove the rule`)
    }
  })
  const planned = new Map<string, number>()
  config.plans.forEach((plan, i) => {
    const first = planned.get(plan.flag)
    if (first !== undefined) problems.push(`plans[${i}].flag: "${plan.flag}" already has plans[${first}]; a flag has one plan`)
    else planned.set(plan.flag, i)
    if (!flags.has(plan.flag)) problems.push(`plans[${i}].flag: no route uses the flag "${plan.flag}"; the routes' flags are ${[...flags].join(', ') || '(none)'}`)
    if (plan.steps.some((step, k) => k > 0 && step <= plan.steps[k - 1]!)) {
      problems.push(`plans[${i}].steps: ${JSON.stringify(plan.steps)} must rise step by step, such as [5, 25, 50, 100]`)
    }
  })
  if (config.listen.port !== 0 && config.listen.port === config.admin.port) {
    problems.push(`admin.port: ${config.admin.port} is also listen.port; the admin API needs its own port`)
  }
  return problems
}
