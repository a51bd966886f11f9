// node --import tsx dashboards/generate.ts [--check]
// Writes the Grafana dashboards (dashboards/*.json) and k8s/base/prometheus-rule.yaml (from
// dashboards/alerts.rules.yml). With --check it writes nothing and exits 1 naming the files that differ
// from what it would write.
import { staleOutputs, writeOutputs } from './outputs.ts'

const check = process.argv.slice(2).includes('--check')
if (check) {
  const stale = await staleOutputs()
  if (stale.length > 0) {
    process.stderr.write(`Out of date: ${stale.join(', ')}.\nRun node --import tsx dashboards/generate.ts and commit the result.\n`)
    process.exitCode = 1
  } else {
    process.stdout.write('The dashboards and the PrometheusRule are up to date.\n')
  }
} else {
  for (const o of await writeOutputs()) process.stdout.write(`wrote ${o.path}\n`)
}
