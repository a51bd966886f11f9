// The rollout overview: per flag and route, the percentage against the share new actually serves, RED per
// backend, the services' own view of the same traffic, decision reasons (failovers among them), the
// rollback rules' verdicts, rollbacks and rollout steps as annotations, and whether the gateways and their
// dependencies are up.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import { built, countedIn, JOBS, labelVariable, newDashboard, promAnnotation, row, shareOf, statPanel, tablePanel, thresholds, timeSeries, UP_DOWN } from './panels.ts'

const R = 'route=~"$route"'
const F = 'flag=~"$flag"'
const RATE = '[$__rate_interval]'

const decisions = (labels: string) => `rate(switchyard_decisions_total{${R}${labels}}${RATE})`
const requests = (labels: string) => `rate(switchyard_requests_total{${R}${labels}}${RATE})`
const serviceRequests = (labels: string) => `rate(switchyard_service_http_requests_total{${labels}}${RATE})`
const quantile = (q: number) => `histogram_quantile(${q}, sum by (backend, le) (rate(switchyard_request_duration_seconds_bucket{${R}}${RATE})))`

export function rolloutOverview (): dashboard.Dashboard {
  return built(newDashboard({
    uid: 'switchyard-rollout',
    title: 'Switchyard: rollout overview',
    description: 'Each flag\'s percentage against the traffic new actually serves, both backends\' requests, errors and latency, the rollback rules and the health of the gateways.'
  })
    .withVariable(labelVariable('flag', 'flag', 'switchyard_rollout_percent', 'Flag'))
    .withVariable(labelVariable('route', 'route', 'switchyard_requests_total', 'Route'))
    .annotation(promAnnotation({
      name: 'Rollbacks',
      expr: `sum by (flag, rule) (${countedIn(`switchyard_rollbacks_total{${F}}`, '$__interval')}) > 0`,
      color: 'red',
      title: 'Rollback of {{flag}}',
      text: 'by rule {{rule}} ("manual": a person); resume with switchyard resume {{flag}}',
      tags: 'flag,rule'
    }))
    .annotation(promAnnotation({
      name: 'Rollout steps',
      expr: `max by (flag) (switchyard_rollout_percent{${F}}) and on (flag) max by (flag) (changes(switchyard_rollout_percent{${F}}[$__interval])) > 0`,
      color: 'blue',
      title: '{{flag}}: percentage changed',
      text: 'a step of its plan, a person\'s rollout, a rollback or a promotion (switchyard events --flag {{flag}})',
      tags: 'flag'
    }))

    .withRow(row('Rollout'))
    .withPanel(timeSeries({
      title: 'Rollout percentage',
      description: 'The share of users each flag sends to new (0 while rolled back), as the gateways report it. A step plan shows as steps; the annotations mark each change and each rollback. The plan itself, and what its next step waits for: GET /admin/plans.',
      unit: 'percent',
      min: 0,
      max: 100,
      steps: true,
      queries: [{ expr: `max by (flag) (switchyard_rollout_percent{${F}})`, legend: '{{flag}}' }]
    }))
    .withPanel(timeSeries({
      title: 'Share of requests served by new, per route',
      description: 'What new actually answered: requests decided for new (by the flag or a v2 version) less those that failed over to legacy, over all requests. Compare with the percentage: version-pinned clients and failovers move it.',
      unit: 'percentunit',
      min: 0,
      max: 1,
      queries: [{
        expr: `(sum by (route) (${decisions(',backend="new"')}) - (sum by (route) (${decisions(',reason="failover"')}) or sum by (route) (${decisions(',backend="new"')}) * 0)) / sum by (route) (${decisions(',reason!="failover"')})`,
        legend: '{{route}}'
      }]
    }))
    .withPanel(timeSeries({
      title: 'Traffic served by each backend',
      description: 'Requests answered by legacy and by new on the selected routes, stacked as a share of all. A GET that new failed and legacy answered counts for legacy.',
      unit: 'reqps',
      stack: 'percent',
      queries: [
        { expr: `sum(${decisions(',backend="new"')}) - (sum(${decisions(',reason="failover"')}) or vector(0))`, legend: 'new' },
        { expr: `sum(${decisions(',backend="legacy"')})`, legend: 'legacy' }
      ]
    }))
    .withPanel(timeSeries({
      title: 'Decisions by reason',
      description: 'Why each request went where it went: version (an explicit /v1, /v2 or Accept-Version), override (the flag is rolled back), flag, default (no flag, or no route), failover (new failed a safe request and legacy answered).',
      unit: 'reqps',
      stack: 'normal',
      queries: [{ expr: `sum by (reason, backend) (${decisions('')})`, legend: '{{reason}} → {{backend}}' }]
    }))

    .withRow(row('Requests, errors and latency per backend'))
    .withPanel(timeSeries({
      title: 'Requests per second',
      description: 'Answers by backend on the selected routes. A failover counts once for each backend tried.',
      unit: 'reqps',
      width: 8,
      queries: [{ expr: `sum by (backend) (${requests('')})`, legend: '{{backend}}' }]
    }))
    .withPanel(timeSeries({
      title: 'Errors per second',
      description: '5xx answers (the backend\'s own, and the gateway\'s 502/504 when the backend could not answer), and transport failures by kind (switchyard_upstream_errors_total: refused, reset, timeouts...), which include failures after the answer had started.',
      unit: 'reqps',
      width: 8,
      queries: [
        { expr: `sum by (backend) (${requests(',code=~"5.."')})`, legend: '{{backend}}: 5xx answers' },
        { expr: `sum by (backend, kind) (rate(switchyard_upstream_errors_total{${R}}${RATE}))`, legend: '{{backend}}: {{kind}}' }
      ]
    }))
    .withPanel(timeSeries({
      title: 'Error ratio',
      description: 'The share of each backend\'s answers that were 5xx. The alert SwitchyardNewBackendErrorRateHigh fires above 5 % of new\'s answers on a route over 5 minutes.',
      unit: 'percentunit',
      min: 0,
      width: 8,
      queries: [{
        expr: shareOf('backend', requests(',code=~"5.."'), requests('')),
        legend: '{{backend}}'
      }]
    }))
    .withPanel(timeSeries({
      title: 'Latency: p50, p95 and p99',
      description: 'From the request reaching the gateway to the end of the backend\'s answer (switchyard_request_duration_seconds). The alert SwitchyardNewBackendLatencyHigh fires when new\'s p99 on a route is over 1 s for 5 minutes.',
      unit: 's',
      width: 16,
      height: 9,
      queries: [
        { expr: quantile(0.5), legend: '{{backend}} p50' },
        { expr: quantile(0.95), legend: '{{backend}} p95' },
        { expr: quantile(0.99), legend: '{{backend}} p99' }
      ]
    }))
    .withPanel(timeSeries({
      title: 'New\'s error ratio by route',
      description: 'What the error alert and the error_rate rules read: new\'s 5xx answers over its answers, per route.',
      unit: 'percentunit',
      min: 0,
      width: 8,
      height: 9,
      queries: [{
        expr: shareOf('route', requests(',backend="new",code=~"5.."'), requests(',backend="new"')),
        legend: '{{route}}'
      }]
    }))

    .withRow(row('The backends, as they measure themselves'))
    .withPanel(timeSeries({
      title: 'Requests per second per service',
      description: 'What each service answered, by status code, from its own /metrics (switchyard_service_http_requests_total; jobs switchyard-legacy and switchyard-unified). Traffic that reaches a service other than through the gateway (the shadow copies among it) shows here and not above.',
      unit: 'reqps',
      width: 8,
      queries: [{ expr: `sum by (service, code) (rate(switchyard_service_http_requests_total${RATE}))`, legend: '{{service}} {{code}}' }]
    }))
    .withPanel(timeSeries({
      title: 'Error ratio per service',
      description: 'The share of each service\'s answers that were 5xx, as the service counts them. Higher at the gateway than here: the gateway also counts the backend\'s transport failures and timeouts, which the service never answered.',
      unit: 'percentunit',
      min: 0,
      width: 8,
      queries: [{
        expr: shareOf('service', serviceRequests('code=~"5.."'), serviceRequests('')),
        legend: '{{service}}'
      }]
    }))
    .withPanel(timeSeries({
      title: 'p99 per service and endpoint',
      description: 'The service\'s own time per endpoint (its route pattern, such as /garments/:id), from the request to the end of its answer. Against the gateway\'s p99 for the same backend above, the difference is the network and the gateway.',
      unit: 's',
      width: 8,
      queries: [{ expr: 'histogram_quantile(0.99, sum by (service, route, le) (rate(switchyard_service_http_request_duration_seconds_bucket[$__rate_interval])))', legend: '{{service}} {{route}}' }]
    }))

    .withRow(row('Rollback rules'))
    .withPanel(timeSeries({
      title: 'Rule verdicts',
      description: 'Evaluations per second by rule and verdict: pass, fail, or inconclusive (fewer samples than the rule\'s min_requests in its window). A rule that fails its consecutive count rolls the flag back. The last verdict and its reason: GET /admin/rules.',
      unit: 'ops',
      stack: 'normal',
      width: 16,
      queries: [{ expr: `sum by (rule, verdict) (rate(switchyard_rule_evaluations_total{${F}}${RATE}))`, legend: '{{rule}}: {{verdict}}' }]
    }).overrideByRegexp('.*: fail$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
      .overrideByRegexp('.*: pass$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'green' } }])
      .overrideByRegexp('.*: inconclusive$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'yellow' } }]))
    .withPanel(tablePanel({
      title: 'Rollbacks in the time range',
      description: 'Rollbacks by flag and rule ("manual": a person). Who and why: switchyard events --flag <flag>.',
      valueTitle: 'rollbacks',
      width: 8,
      queries: [{ expr: `sum by (flag, rule) (${countedIn(`switchyard_rollbacks_total{${F}}`, '$__range')})` }]
    }))

    .withRow(row('Gateways and dependencies'))
    .withPanel(statPanel({
      title: 'Gateways',
      description: 'Gateways Prometheus scrapes, and those that answered the last scrape (job switchyard-gateway).',
      width: 6,
      queries: [
        { expr: `sum(up{job="${JOBS.gateway}"})`, legend: 'up', instant: true },
        { expr: `count(up{job="${JOBS.gateway}"})`, legend: 'scraped', instant: true }
      ]
    }))
    .withPanel(statPanel({
      title: 'Dependencies',
      description: 'Whether every gateway reaches Redis, Unleash and Prometheus (down when any gateway does not). Only the dependencies a gateway is configured with (REDIS_URL, UNLEASH_URL, PROMETHEUS_URL) appear; none configured is no data.',
      width: 6,
      mappings: UP_DOWN,
      thresholds: [{ value: null, color: 'red' }, { value: 1, color: 'green' }],
      queries: [{ expr: 'min by (dependency) (switchyard_dependency_up)', legend: '{{dependency}}', instant: true }]
    }))
    .withPanel(statPanel({
      title: 'Rule evaluators',
      description: 'Gateways evaluating the rollback rules now. With REDIS_URL it must be exactly 1 (one replica holds the lease); without, each replica evaluates its own traffic. 0: no rule can roll back and no plan advances.',
      width: 6,
      thresholds: [{ value: null, color: 'red' }, { value: 1, color: 'green' }],
      queries: [{ expr: 'sum(switchyard_rule_evaluator_leader)', legend: 'evaluating', instant: true }]
    }))
    .withPanel(timeSeries({
      title: 'Dependencies per gateway',
      description: '1 while the gateway reaches the dependency, 0 while it does not (it routes on the last state it knew meanwhile).',
      width: 6,
      height: 5,
      min: 0,
      max: 1,
      steps: true,
      queries: [{ expr: 'min by (instance, dependency) (switchyard_dependency_up)', legend: '{{instance}} {{dependency}}' }]
    }).thresholds(thresholds([{ value: null, color: 'red' }, { value: 1, color: 'green' }]))))
}
