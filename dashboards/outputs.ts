// Every file the generator owns, and how each is made: the dashboards as Grafana JSON, and the PrometheusRule
// from the alert rules. The generator writes them; its --check mode and test/dashboards.test.ts compare
// them with what is committed.
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { dataSync } from './data-sync.ts'
import { prometheusRule } from './prometheus-rule.ts'
import { rolloutOverview } from './rollout-overview.ts'
import { shadowComparison } from './shadow-comparison.ts'

export const ROOT = resolve(import.meta.dirname, '..')
export const RULES_FILE = 'dashboards/alerts.rules.yml'
export const RULES_TEST_FILE = 'dashboards/alerts.test.yml'

export const DASHBOARDS = {
  'dashboards/rollout-overview.json': rolloutOverview,
  'dashboards/shadow-comparison.json': shadowComparison,
  'dashboards/data-sync.json': dataSync
}

export interface Output { path: string, content: string }

/** What the generator would write, with paths relative to the repository's root. */
export async function renderOutputs (root = ROOT): Promise<Output[]> {
  const rules = await readFile(join(root, RULES_FILE), 'utf8')
  return [
    ...Object.entries(DASHBOARDS).map(([path, make]) => ({ path, content: JSON.stringify(make(), null, 2) + '\n' })),
    { path: 'k8s/base/prometheus-rule.yaml', content: prometheusRule(rules) }
  ]
}

export async function writeOutputs (root = ROOT): Promise<Output[]> {
  const outputs = await renderOutputs(root)
  for (const o of outputs) {
    await mkdir(dirname(join(root, o.path)), { recursive: true })
    await writeFile(join(root, o.path), o.content)
  }
  return outputs
}

/** The outputs whose file is missing or differs from what the generator makes. */
export async function staleOutputs (root = ROOT): Promise<string[]> {
  const stale: string[] = []
  for (const o of await renderOutputs(root)) {
    const committed = await readFile(join(root, o.path), 'utf8').catch(() => null)
    if (committed !== o.content) stale.push(o.path)
  }
  return stale
}
