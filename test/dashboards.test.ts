// The dashboards and alert rules as committed: they are what the generator makes (and the check says so
// when they are not); every panel reads from the datasource variable and has a query; every metric they
// name is declared by the gateway or the sync; every alert has a severity, a summary, a description and a
// runbook anchor that exists in the README, and is unit-tested firing and not firing; the PrometheusRule
// holds exactly the rule file's groups; and promtool accepts the rules and passes their unit tests.
import { execFile } from 'node:child_process'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'
import { alertExpressions, dashboardExpressions } from '../dashboards/expressions.ts'
import { DASHBOARDS, renderOutputs, ROOT, RULES_FILE, RULES_TEST_FILE, staleOutputs } from '../dashboards/outputs.ts'
import { DATASOURCE } from '../dashboards/panels.ts'
import { RULE_LABELS } from '../dashboards/prometheus-rule.ts'
import { missing } from './helpers/servers.ts'

const run = promisify(execFile)
const read = (path: string) => readFile(join(ROOT, path), 'utf8')

interface Panel { type: string, title: string, id: number, datasource?: { type?: string, uid?: string }, targets?: Array<{ expr?: string, refId?: string, datasource?: { uid?: string } }>, gridPos: { x: number, w: number }, panels?: Panel[] }

t.test('the committed dashboards and PrometheusRule are what the generator makes', async (t) => {
  t.same(await staleOutputs(), [], 'nothing differs (if this fails: node --import tsx dashboards/generate.ts)')
  const check = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'dashboards', 'generate.ts'), '--check'], { cwd: ROOT })
  t.match(check.stdout, /up to date/, 'generate.ts --check agrees')

  // A copy of the tree where each output in turn no longer matches: the check names it.
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-dashboards-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const o of await renderOutputs()) {
    await cp(join(ROOT, o.path), join(dir, o.path), { recursive: true })
  }
  await cp(join(ROOT, RULES_FILE), join(dir, RULES_FILE))
  t.same(await staleOutputs(dir), [], 'an exact copy is up to date')
  await writeFile(join(dir, RULES_FILE), (await read(RULES_FILE)).replace('> 30', '> 60'))
  t.same(await staleOutputs(dir), ['k8s/base/prometheus-rule.yaml'], 'a changed rule file makes the PrometheusRule stale')
  const dashboard = Object.keys(DASHBOARDS)[0]!
  await writeFile(join(dir, dashboard), (await read(dashboard)).replace('"refresh": "30s"', '"refresh": "1m"'))
  t.same(await staleOutputs(dir), [dashboard, 'k8s/base/prometheus-rule.yaml'], 'an edited dashboard is stale')
})

t.test('every panel reads from the Prometheus datasource variable and has a query', async (t) => {
  for (const file of Object.keys(DASHBOARDS)) {
    const d = JSON.parse(await read(file)) as { uid: string, panels: Panel[], templating: { list: Array<{ name: string, type: string, datasource?: { uid?: string } }> }, annotations: { list?: Array<{ name: string, datasource?: { uid?: string }, expr?: string }> } }
    const all = d.panels.flatMap((p) => [p, ...(p.panels ?? [])])
    const panels = all.filter((p) => p.type !== 'row')
    t.ok(panels.length >= 8, `${file}: ${panels.length} panels`)
    t.same(new Set(all.map((p) => p.id)).size, all.length, `${file}: panel ids are unique`)
    t.same(d.templating.list.filter((v) => v.type === 'datasource').map((v) => v.name), ['datasource'], `${file}: a datasource variable`)
    const bad: string[] = []
    for (const p of panels) {
      if (p.datasource?.uid !== DATASOURCE.uid || p.datasource.type !== 'prometheus') bad.push(`${p.title}: datasource ${JSON.stringify(p.datasource)}`)
      if ((p.targets ?? []).length === 0) bad.push(`${p.title}: no query`)
      for (const target of p.targets ?? []) {
        if (typeof target.expr !== 'string' || target.expr.trim() === '') bad.push(`${p.title}: a target without an expression`)
        if (target.datasource?.uid !== DATASOURCE.uid) bad.push(`${p.title}: target ${target.refId} without the datasource`)
      }
      if (p.gridPos.x + p.gridPos.w > 24) bad.push(`${p.title}: wider than the grid`)
    }
    for (const v of d.templating.list.filter((v) => v.type === 'query')) {
      if (v.datasource?.uid !== DATASOURCE.uid) bad.push(`variable ${v.name}: datasource ${JSON.stringify(v.datasource)}`)
    }
    for (const a of d.annotations.list ?? []) {
      if (a.datasource?.uid !== DATASOURCE.uid || (a.expr ?? '') === '') bad.push(`annotation ${a.name}: a datasource and a query`)
    }
    t.same(bad, [], `${file}: ${panels.length} panels, each with the datasource and a query`)
  }
})

t.test('every metric the dashboards and alerts name is one the gateway, the sync or a service declares', async (t) => {
  const declared = new Set<string>(['up'])
  for (const source of ['gateway/metrics/metrics.ts', 'services/sync/sync-metrics.ts', 'services/bin/service-operations.ts']) {
    for (const m of (await read(source)).matchAll(/name: '(switchyard_\w+)'/g)) declared.add(m[1]!)
  }
  const exprs = [
    ...(await Promise.all(Object.keys(DASHBOARDS).map(async (f) => dashboardExpressions(f, JSON.parse(await read(f)))))).flat(),
    ...alertExpressions(await read(RULES_FILE)).map((a) => ({ where: a.alert, expr: a.expr }))
  ]
  const unknown: string[] = []
  for (const { where, expr } of exprs) {
    for (const [name] of expr.matchAll(/\bswitchyard_\w+/g)) {
      const base = name.replace(/_(bucket|count|sum)$/, '')
      if (!declared.has(name) && !declared.has(base)) unknown.push(`${where}: ${name}`)
    }
  }
  t.same(unknown, [], `${exprs.length} expressions name only declared metrics`)
})

/** GitHub's anchors for the README's headings. */
function anchors (markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    const m = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line)
    if (m === null) continue
    const slug = m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')
    const n = seen.get(slug) ?? 0
    seen.set(slug, n + 1)
    out.add(n === 0 ? slug : `${slug}-${n}`)
  }
  return out
}

t.test('every alert has a severity, a summary, a description and a runbook in the README, and is unit-tested', async (t) => {
  const rules = parse(await read(RULES_FILE)) as { groups: Array<{ rules: Array<{ alert: string, labels?: Record<string, string>, annotations?: Record<string, string> }> }> }
  const tests = parse(await read(RULES_TEST_FILE)) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string, exp_alerts?: unknown[] }> }> }
  const readme = anchors(await read('README.md'))
  const cases = tests.tests.flatMap((c) => c.alert_rule_test ?? [])
  const alerts = rules.groups.flatMap((g) => g.rules)
  t.ok(alerts.length >= 9, `${alerts.length} alerts`)
  for (const a of alerts) {
    const problems: string[] = []
    if (!['critical', 'warning'].includes(a.labels?.severity ?? '')) problems.push(`severity ${JSON.stringify(a.labels?.severity)}`)
    for (const key of ['summary', 'description']) if ((a.annotations?.[key] ?? '').trim() === '') problems.push(`no ${key}`)
    const runbook = /^README\.md#([\w-]+)$/.exec(a.annotations?.runbook_url ?? '')
    if (runbook === null) problems.push(`runbook_url ${JSON.stringify(a.annotations?.runbook_url)} is not README.md#<anchor>`)
    else if (!readme.has(runbook[1]!)) problems.push(`README.md has no heading with the anchor #${runbook[1]}`)
    const mine = cases.filter((c) => c.alertname === a.alert)
    if (!mine.some((c) => (c.exp_alerts ?? []).length > 0)) problems.push('no unit test where it fires')
    if (!mine.some((c) => (c.exp_alerts ?? []).length === 0)) problems.push('no unit test where it does not fire')
    t.same(problems, [], a.alert)
  }
})

t.test('the PrometheusRule holds exactly the rule file\'s groups', async (t) => {
  const resource = parse(await read('k8s/base/prometheus-rule.yaml')) as { apiVersion: string, kind: string, metadata: { name: string, labels: Record<string, string> }, spec: { groups: unknown } }
  t.match(resource, { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'switchyard', labels: RULE_LABELS } })
  t.same(resource.spec.groups, (parse(await read(RULES_FILE)) as { groups: unknown }).groups, 'the same groups, rules, labels and annotations')
  t.doesNotThrow(() => new PrometheusRule(resource as never).validate(), 'valid against the PrometheusRule schema')
})

t.test('promtool checks the rules and passes their unit tests', { skip: missing('promtool') ?? false }, async (t) => {
  const check = await run('promtool', ['check', 'rules', RULES_FILE], { cwd: ROOT })
  t.match(check.stdout, /SUCCESS: \d+ rules found/, `promtool check rules: ${check.stdout.trim().split('\n').pop()}`)
  const unit = await run('promtool', ['test', 'rules', RULES_TEST_FILE], { cwd: ROOT }).catch((err: { stdout: string, stderr: string }) => err)
  t.match(unit.stdout + unit.stderr, /SUCCESS/, `promtool test rules:\n${unit.stdout}${unit.stderr}`)
})
