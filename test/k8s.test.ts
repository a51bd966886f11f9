// The Kubernetes manifests: each overlay of k8s/ rendered with `kubectl kustomize` (the kustomize built into
// kubectl; CI's is Debian's kubectl 1.20, and SWITCHYARD_TEST_KUBECTL may name more binaries, separated by
// ":", whose renders must agree), every object validated against the Kubernetes schemas (kubernetes-models,
// and @kubernetes-models/prometheus-operator for ServiceMonitor and PrometheusRule), then what no schema
// sees: objects that name each other (selectors, ports, ConfigMaps, Secrets, probes), the gateway's config
// as the gateway itself loads it, the security settings, the images' tags, and the commands the manifests
// run, started on real Postgres with the manifests' environment.
import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import type { IContainer, IPodTemplateSpec, IProbe, IService, IConfigMap, ISecret } from 'kubernetes-models/v1'
import type { IDeployment, IStatefulSet } from 'kubernetes-models/apps/v1'
import type { IJob } from 'kubernetes-models/batch/v1'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1'
import type { IServiceMonitor, IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import { loadConfigFile, type GatewayConfig } from '../gateway/config/load.ts'
import { postgresMissing, testDatabase } from './helpers/db.ts'
import { within } from './helpers/poll.ts'
import { freePort, missing } from './helpers/servers.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..')
const K8S = join(ROOT, 'k8s')
const OVERLAYS = ['staging', 'production'] as const
const SECRET_EXAMPLE = join(K8S, 'secret.example.yaml')
/** The project's own image, as the base names it; each overlay gives it a registry and a tag. */
const OWN_IMAGE = 'switchyard'
/** Keys of the gateway's config that say where things are in the cluster; every other key must equal flags/. */
const DEPLOYMENT_KEYS = ['listen', 'admin', 'backends', 'flags', 'state', 'shutdown', 'logging', 'source', 'flagsFile', 'stateDir', 'secrets']
const SECRET_NAME = /TOKEN|PASSWORD|SECRET|DSN|DATABASE_URL|KEY/

interface Meta { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
interface K8sObject { apiVersion: string, kind: string, metadata: Meta, [key: string]: unknown }
interface Workload { kind: string, name: string, replicas: number | undefined, template: IPodTemplateSpec }
interface Rendered { overlay: string, namespace: string, objects: K8sObject[] }
type Selector = { matchLabels?: Record<string, string>, matchExpressions?: Array<{ key: string, operator: string, values?: string[] }> }

const skip = missing('kubectl') ?? false
const kubectls = ['kubectl', ...(process.env.SWITCHYARD_TEST_KUBECTL ?? '').split(':').filter((s) => s !== '')]

// -- rendering --------------------------------------------------------------------------------------------

async function render (kubectl: string, overlay: string): Promise<K8sObject[]> {
  let stdout: string
  try {
    ({ stdout } = await run(kubectl, ['kustomize', join(K8S, 'overlays', overlay)], { maxBuffer: 64 * 1024 * 1024 }))
  } catch (err) {
    throw new Error(`${kubectl} kustomize k8s/overlays/${overlay} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err })
  }
  return parseAllDocuments(stdout).map((d) => d.toJSON() as K8sObject | null).filter((o): o is K8sObject => o !== null)
}

/** The same objects whatever kustomize made them: generated names lose their hash, named lists are sorted by name. */
function normalised (objects: K8sObject[]): string[] {
  const named = (i: unknown): i is { name: string } => typeof i === 'object' && i !== null && typeof (i as { name?: unknown }).name === 'string'
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(sortKeys)
      return items.length > 0 && items.every(named) ? items.sort((a, b) => a.name.localeCompare(b.name)) : items
    }
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]))
    return v
  }
  return objects.map((o) => JSON.stringify(sortKeys(o)).replace(/(switchyard-gateway-config)-[a-z0-9]{10}/g, '$1')).sort()
}

function overlayKustomization (overlay: string): { namespace: string, images: Array<{ name: string, newName?: string, newTag?: string }> } {
  return parse(readFileSync(join(K8S, 'overlays', overlay, 'kustomization.yaml'), 'utf8'))
}

// -- lookups ----------------------------------------------------------------------------------------------

const ofKind = <T>(objects: K8sObject[], kind: string): Array<T & K8sObject> => objects.filter((o) => o.kind === kind) as Array<T & K8sObject>

function workloads (objects: K8sObject[]): Workload[] {
  return [
    ...ofKind<IDeployment>(objects, 'Deployment').map((d) => ({ kind: 'Deployment', name: d.metadata.name, replicas: d.spec?.replicas, template: d.spec!.template })),
    ...ofKind<IStatefulSet>(objects, 'StatefulSet').map((s) => ({ kind: 'StatefulSet', name: s.metadata.name, replicas: s.spec?.replicas, template: s.spec!.template })),
    ...ofKind<IJob>(objects, 'Job').map((j) => ({ kind: 'Job', name: j.metadata.name, replicas: undefined, template: j.spec!.template }))
  ]
}

function workload (objects: K8sObject[], name: string): Workload {
  const w = workloads(objects).find((x) => x.name === name)
  if (w === undefined) throw new Error(`no workload named ${name}`)
  return w
}

function containers (w: Workload): IContainer[] {
  return [...(w.template.spec?.initContainers ?? []), ...(w.template.spec?.containers ?? [])]
}

function podLabels (w: Workload): Record<string, string> {
  return w.template.metadata?.labels ?? {}
}

function selects (selector: Selector | Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return false
  const s: Selector = 'matchLabels' in selector || 'matchExpressions' in selector ? selector as Selector : { matchLabels: selector as Record<string, string> }
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (labels[k] !== v) return false
  for (const e of s.matchExpressions ?? []) {
    const has = e.key in labels
    const value = labels[e.key]
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(value!))) return false
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(value!)) return false
    if (e.operator === 'Exists' && !has) return false
    if (e.operator === 'DoesNotExist' && has) return false
  }
  return true
}

function portNames (w: Workload): Map<string, number> {
  return new Map(containers(w).flatMap((c) => (c.ports ?? []).filter((p) => p.name !== undefined).map((p) => [p.name!, p.containerPort] as const)))
}

function envValue (c: IContainer, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value
}

function imageOf (c: IContainer): { name: string, tag: string | null } {
  const m = /^(.+?)(?::([^:/]+))?(@sha256:[0-9a-f]+)?$/.exec(c.image ?? '')
  return { name: m?.[1] ?? '', tag: m?.[2] ?? null }
}

function isOwnImage (c: IContainer, overlay: string): boolean {
  const own = overlayKustomization(overlay).images.find((i) => i.name === OWN_IMAGE)
  return imageOf(c).name === (own?.newName ?? OWN_IMAGE)
}

function probes (c: IContainer): Array<[string, IProbe]> {
  return (['startupProbe', 'readinessProbe', 'livenessProbe'] as const).filter((k) => c[k] !== undefined).map((k) => [k, c[k]!])
}

/** The gateway's config and flag file from its ConfigMap, written to a folder and loaded as the gateway would. */
async function gatewayConfig (t: Test, objects: K8sObject[]): Promise<{ config: GatewayConfig, configMap: IConfigMap, file: string }> {
  const gateway = workload(objects, 'switchyard-gateway')
  const container = gateway.template.spec!.containers[0]!
  const args = container.args ?? []
  const file = args[args.indexOf('--config') + 1] ?? ''
  const mount = container.volumeMounts?.find((m) => m.mountPath === dirname(file))
  const volume = gateway.template.spec?.volumes?.find((v) => v.name === mount?.name)
  const configMap = ofKind<IConfigMap>(objects, 'ConfigMap').find((c) => c.metadata.name === volume?.configMap?.name)
  if (configMap === undefined) throw new Error(`the gateway's --config ${file} is not in a mounted ConfigMap`)
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-k8s-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const [key, text] of Object.entries(configMap.data ?? {})) await writeFile(join(dir, key), text)
  // The environment the container gets, with stand-ins for the Secret's values.
  const env: Record<string, string> = {}
  for (const e of container.env ?? []) {
    env[e.name] = e.value ?? (e.name === 'SENTRY_DSN' ? 'https://key@o0.ingest.sentry.io/1' : `stand-in-for-${e.valueFrom?.secretKeyRef?.key ?? 'value'}-0123456789`)
  }
  const config = loadConfigFile(join(dir, basename(file)), env)
  return { config, configMap, file }
}

// -- the tests --------------------------------------------------------------------------------------------

t.test('the overlays render, with every kubectl given, to the same objects', { skip }, async (t) => {
  for (const overlay of OVERLAYS) {
    const renders = await Promise.all(kubectls.map((k) => render(k, overlay)))
    t.ok(renders[0]!.length > 10, `${overlay}: ${renders[0]!.length} objects`)
    for (let i = 1; i < renders.length; i++) {
      t.same(normalised(renders[i]!), normalised(renders[0]!), `${overlay}: ${kubectls[i]} renders what ${kubectls[0]} renders`)
    }
  }
})

for (const overlay of OVERLAYS) {
  t.test(`k8s/overlays/${overlay}`, { skip }, async (t) => {
    const objects = await render('kubectl', overlay)
    const { namespace } = overlayKustomization(overlay)
    const rendered: Rendered = { overlay, namespace, objects }

    t.test('every object is valid against its schema', async (t) => {
      for (const o of objects) {
        const Model = await modelFor(o.apiVersion, o.kind)
        if (Model === undefined) {
          t.fail(`${o.kind} ${o.metadata.name}: no schema for ${o.apiVersion} ${o.kind}`)
          continue
        }
        try {
          new Model(o).validate()
          t.pass(`${o.kind} ${o.metadata.name}`)
        } catch (err) {
          t.fail(`${o.kind} ${o.metadata.name}: ${(err as Error).message}`)
        }
      }
    })

    t.test('everything is in the overlay\'s namespace, which the overlay creates', async (t) => {
      t.ok(ofKind(objects, 'Namespace').some((n) => n.metadata.name === namespace), `Namespace ${namespace}`)
      for (const o of objects.filter((x) => x.kind !== 'Namespace')) t.equal(o.metadata.namespace, namespace, `${o.kind} ${o.metadata.name}`)
      t.same(ofKind(objects, 'Secret'), [], 'no Secret is applied: the overlays only refer to one')
    })

    t.test('Services select pods and name their ports', async (t) => {
      for (const s of ofKind<IService>(objects, 'Service')) {
        const matched = workloads(objects).filter((w) => w.kind !== 'Job' && selects(s.spec?.selector, podLabels(w)))
        t.ok(matched.length > 0, `Service ${s.metadata.name} selects the pods of ${matched.map((w) => w.name).join(', ') || 'nothing'}`)
        for (const p of s.spec?.ports ?? []) {
          t.type(p.targetPort, 'string', `Service ${s.metadata.name} port ${p.name}: targetPort names a container port`)
          for (const w of matched) t.ok(portNames(w).has(String(p.targetPort)), `Service ${s.metadata.name} → ${w.name} has a container port named ${p.targetPort}`)
        }
      }
    })

    t.test('every pod: probes on declared ports, resources, and no privileges', async (t) => checkPods(t, rendered))
    t.test('the gateway', async (t) => checkGateway(t, rendered))
    t.test('the gateway\'s config', async (t) => checkGatewayConfig(t, rendered))
    t.test('ConfigMaps and Secrets referred to', async (t) => checkReferences(t, rendered))
    t.test('NetworkPolicies', async (t) => checkNetworkPolicies(t, rendered))
    t.test('the services, the migration Job and the sync', async (t) => checkDataLayer(t, rendered))
    t.test('ServiceMonitors select Services and name their ports', async (t) => checkServiceMonitors(t, rendered))
    t.test('images carry the overlay\'s tags', async (t) => checkImages(t, rendered))
    t.test('the PrometheusRule', async (t) => checkRules(t, rendered))
  })
}

t.test('the overlays differ where environments do', { skip }, async (t) => {
  const [staging, production] = await Promise.all(OVERLAYS.map((o) => render('kubectl', o)))
  const gateway = (objects: K8sObject[]) => workload(objects, 'switchyard-gateway')
  const container = (objects: K8sObject[]) => gateway(objects).template.spec!.containers[0]!
  t.not(overlayKustomization('staging').namespace, overlayKustomization('production').namespace, 'namespaces')
  t.not(container(staging!).image, container(production!).image, 'image tags')
  t.equal(envValue(container(staging!), 'SENTRY_ENVIRONMENT'), 'staging')
  t.equal(envValue(container(production!), 'SENTRY_ENVIRONMENT'), 'production')
  t.ok(gateway(production!).replicas! >= 3, 'production runs three gateway replicas at least')
  t.ok(gateway(production!).replicas! >= gateway(staging!).replicas!, 'production runs no fewer gateway replicas than staging')
  const memory = (objects: K8sObject[]) => bytes(String(container(objects).resources?.limits?.memory))
  t.ok(memory(production!) > memory(staging!), 'production\'s gateway pods are larger')
})

t.test('the copies under k8s/ agree with flags/', async (t) => {
  t.same(JSON.parse(readFileSync(join(K8S, 'base', 'gateway', 'features.json'), 'utf8')), JSON.parse(readFileSync(join(ROOT, 'flags', 'features.json'), 'utf8')),
    'k8s/base/gateway/features.json is flags/features.json')
  const cluster = loadConfigFile(join(K8S, 'base', 'gateway', 'switchyard.yaml'), {})
  const repository = loadConfigFile(join(ROOT, 'flags', 'switchyard.yaml'), {})
  const keys = new Set([...Object.keys(cluster), ...Object.keys(repository)].filter((k) => !DEPLOYMENT_KEYS.includes(k)))
  t.ok(keys.has('routes') && keys.has('rules') && keys.has('versions'), 'routes, rules and versions are compared')
  for (const key of keys) {
    t.same((cluster as unknown as Record<string, unknown>)[key], (repository as unknown as Record<string, unknown>)[key], `${key} in k8s/base/gateway/switchyard.yaml is as in flags/switchyard.yaml`)
  }
})

t.test('the example Secret documents every key the manifests read', async (t) => {
  const example = parse(readFileSync(SECRET_EXAMPLE, 'utf8')) as ISecret & K8sObject
  const Model = await modelFor(example.apiVersion, example.kind)
  t.doesNotThrow(() => new Model!(example).validate(), 'it is a valid Secret')
  t.notOk(existsSync(join(K8S, 'base', 'secret.example.yaml')), 'it is outside the base')
  for (const overlay of OVERLAYS) {
    const kustomization = readFileSync(join(K8S, 'overlays', overlay, 'kustomization.yaml'), 'utf8')
    t.notMatch(kustomization, /secret\.example/, `${overlay} does not apply it`)
  }
})

const noPostgres = postgresMissing('the services run on Postgres') ?? false

t.test('the commands the manifests run start, answer their probes and stop on SIGTERM', { skip: skip || noPostgres }, async (t) => {
  if (!existsSync(join(ROOT, 'dist', 'services', 'bin', 'switchyard-service.js'))) {
    // tsc writes dist/ even when another part of the tree has a type error; the commands below say what matters.
    await run('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).catch(() => {})
  }
  const objects = await render('kubectl', 'production')
  const legacyDb = await testDatabase(t)
  const unifiedDb = await testDatabase(t)
  if (legacyDb.url === null || unifiedDb.url === null) throw new Error('testDatabase gave a PGlite database; the services need Postgres')
  const secrets: Record<string, string> = { 'legacy-database-url': legacyDb.url, 'database-url': unifiedDb.url }

  const job = containers(workload(objects, 'switchyard-migrate'))[0]!
  const migrated = await runContainer(t, job, secrets)
  t.equal(await migrated.exited, 0, `${[...job.command!, ...job.args!].join(' ')} exits 0:\n${migrated.output()}`)

  for (const name of ['switchyard-legacy', 'switchyard-unified', 'switchyard-sync']) {
    const w = workload(objects, name)
    const c = containers(w)[0]!
    const child = await runContainer(t, c, secrets)
    for (const [kind, probe] of probes(c).filter(([, p]) => p.httpGet !== undefined)) {
      const port = child.ports.get(String(probe.httpGet!.port))!
      const url = `http://127.0.0.1:${port}${probe.httpGet!.path}`
      await within(20_000, `${name}: ${kind} ${url} answers 200 (${child.output()})`, async () => {
        const res = await fetch(url).catch(() => null)
        await res?.arrayBuffer()
        return res?.status === 200 ? true : undefined
      })
      t.pass(`${name}: ${kind} ${probe.httpGet!.path} on ${probe.httpGet!.port} answers 200`)
    }
    const metricsPort = child.ports.get(name === 'switchyard-sync' ? 'metrics' : 'http')!
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    t.match(metrics, name === 'switchyard-sync' ? /switchyard_sync_lag_seconds/ : /switchyard_service_http_requests_total\{[^}]*route="\/readyz"[^}]*code="200"/, `${name}: /metrics`)
    if (name !== 'switchyard-sync') t.match(metrics, /process_cpu_seconds_total/, `${name}: process metrics`)
    child.kill('SIGTERM')
    t.equal(await child.exited, 0, `${name} exits 0 on SIGTERM`)
  }
})

// -- checks -----------------------------------------------------------------------------------------------

async function checkPods (t: Test, { objects, overlay }: Rendered): Promise<void> {
  for (const w of workloads(objects)) {
    const pod = w.template.spec!
    t.equal(pod.enableServiceLinks, false, `${w.name}: no service links (they would set variables such as SWITCHYARD_GATEWAY_ADMIN_PORT)`)
    t.equal(pod.automountServiceAccountToken, false, `${w.name}: no service account token`)
    t.equal(pod.securityContext?.runAsNonRoot, true, `${w.name}: runAsNonRoot`)
    t.ok(Number.isInteger(pod.securityContext?.runAsUser) && pod.securityContext!.runAsUser! > 0, `${w.name}: a numeric user other than root`)
    const ports = portNames(w)
    for (const c of containers(w)) {
      const where = `${w.name}/${c.name}`
      const sc = c.securityContext ?? {}
      t.equal(sc.allowPrivilegeEscalation, false, `${where}: no privilege escalation`)
      t.equal(sc.readOnlyRootFilesystem, true, `${where}: read-only root filesystem`)
      t.ok(sc.capabilities?.drop?.includes('ALL'), `${where}: every capability dropped`)
      t.same(sc.capabilities?.add ?? [], [], `${where}: no capability added`)
      t.equal(sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp RuntimeDefault`)
      t.not(sc.runAsUser, 0, `${where}: not root`)
      t.notOk(sc.privileged, `${where}: not privileged`)
      for (const r of ['cpu', 'memory']) {
        t.ok(c.resources?.requests?.[r] !== undefined, `${where}: requests ${r}`)
        t.ok(c.resources?.limits?.[r] !== undefined, `${where}: limits ${r}`)
      }
      if (c.resources?.requests?.memory !== undefined && c.resources.limits?.memory !== undefined) {
        t.ok(bytes(String(c.resources.requests.memory)) <= bytes(String(c.resources.limits.memory)), `${where}: memory request within the limit`)
      }
      if (w.kind !== 'Job') t.ok(c.readinessProbe !== undefined && c.livenessProbe !== undefined, `${where}: readiness and liveness probes`)
      for (const [kind, probe] of probes(c)) {
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port
        if (port === undefined) continue
        t.ok(typeof port === 'string' && ports.has(port), `${where}: ${kind} on the declared port ${port}`)
      }
      if (isOwnImage(c, overlay) && w.kind !== 'Job') {
        t.equal(c.livenessProbe?.httpGet?.path, '/healthz', `${where}: liveness on /healthz`)
        // The sync serves /healthz and /metrics only; everything else has a /readyz that checks what it needs.
        t.equal(c.readinessProbe?.httpGet?.path, w.name === 'switchyard-sync' ? '/healthz' : '/readyz', `${where}: readiness path`)
      }
      // A read-only root needs somewhere to write: /tmp at least, for every process of the project's image.
      if (isOwnImage(c, overlay)) {
        const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp')
        t.ok(tmp !== undefined && pod.volumes?.some((v) => v.name === tmp.name && v.emptyDir !== undefined), `${where}: an emptyDir at /tmp`)
      }
      for (const e of c.env ?? []) {
        if (SECRET_NAME.test(e.name)) t.ok(e.value === undefined && e.valueFrom?.secretKeyRef !== undefined, `${where}: ${e.name} comes from a Secret, never from the manifest`)
      }
    }
  }
}

async function checkGateway (t: Test, { objects, overlay }: Rendered): Promise<void> {
  const gateway = workload(objects, 'switchyard-gateway')
  const pod = gateway.template.spec!
  const container = pod.containers.find((c) => c.name === 'gateway')!
  const ports = portNames(gateway)
  t.ok(ports.has('proxy') && ports.has('admin'), 'the proxy and admin ports are declared')
  t.equal(container.readinessProbe?.httpGet?.port, 'admin', 'readiness on the admin port')
  t.equal(container.readinessProbe?.httpGet?.path, '/readyz')
  t.equal(container.livenessProbe?.httpGet?.port, 'admin', 'liveness on the admin port')
  t.equal(container.livenessProbe?.httpGet?.path, '/healthz')
  t.ok(gateway.replicas! >= 2, `${gateway.replicas} replicas`)

  // Shutdown: the preStop sleep, then the gateway's own unready delay and drain, all within the grace period.
  const { config } = await gatewayConfig(t, objects)
  const preStop = container.lifecycle?.preStop?.exec?.command ?? []
  t.equal(preStop[0], 'sleep', 'preStop sleeps while the endpoints forget the pod')
  const sleepSeconds = Number(preStop[1])
  t.ok(sleepSeconds >= 1, `preStop sleep ${sleepSeconds} s`)
  t.ok(config.shutdown.unready_delay_ms > 0, 'the gateway waits after /readyz turns 503')
  const needed = sleepSeconds + (config.shutdown.unready_delay_ms + config.shutdown.drain_timeout_ms) / 1000
  t.ok(pod.terminationGracePeriodSeconds! > needed,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop ${sleepSeconds} s + unready ${config.shutdown.unready_delay_ms} ms + drain ${config.shutdown.drain_timeout_ms} ms`)

  // Writable places of a read-only root: the state directory and /tmp, both emptyDirs.
  const emptyDirs = new Set((pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name))
  const mountedAt = (path: string) => container.volumeMounts?.find((m) => m.mountPath === path)
  t.equal(envValue(container, 'SWITCHYARD_STATE_DIR'), config.stateDir, 'SWITCHYARD_STATE_DIR is the config\'s state dir')
  t.ok(emptyDirs.has(mountedAt(config.stateDir)?.name ?? ''), `an emptyDir at the state directory ${config.stateDir}`)
  t.ok(emptyDirs.has(mountedAt('/tmp')?.name ?? ''), 'an emptyDir at /tmp')

  // Secrets by reference.
  for (const name of ['SWITCHYARD_ADMIN_TOKEN', 'UNLEASH_API_TOKEN', 'UNLEASH_ADMIN_TOKEN', 'SENTRY_DSN']) {
    const e = container.env?.find((x) => x.name === name)
    t.ok(e?.valueFrom?.secretKeyRef !== undefined, `${name} from a secretKeyRef`)
  }
  t.notOk(container.env?.find((x) => x.name === 'SWITCHYARD_ADMIN_TOKEN')?.valueFrom?.secretKeyRef?.optional, 'the admin token is required: the admin port is not on loopback')
  t.equal(envValue(container, 'SENTRY_ENVIRONMENT'), overlay, 'SENTRY_ENVIRONMENT is the overlay')

  // UNLEASH_URL and REDIS_URL point at Services of this namespace that select the right pods.
  pointsAt(t, objects, 'UNLEASH_URL', envValue(container, 'UNLEASH_URL'), 'switchyard-unleash')
  pointsAt(t, objects, 'REDIS_URL', envValue(container, 'REDIS_URL'), 'switchyard-redis')
  t.match(envValue(container, 'UNLEASH_URL'), /\/api$/, 'UNLEASH_URL ends in /api')

  // The Services: clients on the proxy port, the admin port on a Service of its own.
  const services = ofKind<IService>(objects, 'Service').filter((s) => selects(s.spec?.selector, podLabels(gateway)))
  const targets = (s: IService) => (s.spec?.ports ?? []).map((p) => String(p.targetPort))
  t.ok(services.some((s) => targets(s).join() === 'proxy'), 'a Service for the proxy port alone')
  t.ok(services.some((s) => targets(s).join() === 'admin'), 'a Service for the admin port alone')

  const hpa = ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler')
  t.equal(hpa.length, 1, 'one HorizontalPodAutoscaler')
  t.equal(hpa[0]?.apiVersion, 'autoscaling/v2')
  t.same(hpa[0]?.spec?.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'switchyard-gateway' }, 'it scales the gateway')
  t.equal(hpa[0]?.spec?.minReplicas, gateway.replicas, 'its minimum is the Deployment\'s replicas')
  t.ok(hpa[0]!.spec!.maxReplicas > hpa[0]!.spec!.minReplicas!, 'room to grow')
  t.ok(hpa[0]?.spec?.metrics?.some((m) => m.resource?.name === 'cpu'), 'on CPU, for which the pods request CPU')

  const pdbs = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget')
  t.equal(pdbs.length, 1, 'one PodDisruptionBudget')
  t.ok(selects(pdbs[0]?.spec?.selector as Selector, podLabels(gateway)), 'it selects the gateway\'s pods')
  t.same(workloads(objects).filter((w) => selects(pdbs[0]?.spec?.selector as Selector, podLabels(w))).map((w) => w.name), ['switchyard-gateway'], 'and no other')
  const budget = pdbs[0]?.spec?.maxUnavailable ?? (gateway.replicas! - Number(pdbs[0]?.spec?.minAvailable))
  t.ok(Number(budget) >= 1 && Number(budget) < gateway.replicas!, `it lets ${budget} of ${gateway.replicas} go at once`)
}

async function checkGatewayConfig (t: Test, { objects }: Rendered): Promise<void> {
  const gateway = workload(objects, 'switchyard-gateway')
  const container = gateway.template.spec!.containers[0]!
  const { config, configMap, file } = await gatewayConfig(t, objects)
  t.pass(`${file} from ConfigMap ${configMap.metadata!.name} loads as the gateway loads it`)
  for (const v of ['SWITCHYARD_PORT', 'SWITCHYARD_ADMIN_PORT', 'SWITCHYARD_HOST', 'SWITCHYARD_ADMIN_HOST', 'SWITCHYARD_LEGACY_URL', 'SWITCHYARD_NEW_URL']) {
    t.equal(envValue(container, v), undefined, `${v} is not set: the ConfigMap says it`)
  }
  const ports = portNames(gateway)
  t.equal(config.listen.port, ports.get('proxy'), 'listen.port is the container port proxy')
  t.equal(config.admin.port, ports.get('admin'), 'admin.port is the container port admin')
  t.equal(config.listen.host, '0.0.0.0')
  t.equal(config.admin.host, '0.0.0.0', 'the admin listener is reachable by the kubelet and Prometheus')
  pointsAt(t, objects, 'backends.legacy.url', config.backends.legacy.url, 'switchyard-legacy')
  pointsAt(t, objects, 'backends.new.url', config.backends.new.url, 'switchyard-unified')
  t.same(JSON.parse(configMap.data!['features.json']!), JSON.parse(readFileSync(join(ROOT, 'flags', 'features.json'), 'utf8')), 'the flags are flags/features.json')
}

async function checkReferences (t: Test, { objects }: Rendered): Promise<void> {
  const configMaps = new Map(ofKind<IConfigMap>(objects, 'ConfigMap').map((c) => [c.metadata.name, c]))
  const example = parse(readFileSync(SECRET_EXAMPLE, 'utf8')) as ISecret & K8sObject
  const exampleKeys = new Set([...Object.keys(example.stringData ?? {}), ...Object.keys(example.data ?? {})])
  const used = new Set<string>()
  for (const w of workloads(objects)) {
    const pod = w.template.spec!
    for (const v of pod.volumes ?? []) {
      if (v.configMap !== undefined) {
        const cm = configMaps.get(v.configMap.name ?? '')
        t.ok(cm !== undefined, `${w.name}: volume ${v.name} → ConfigMap ${v.configMap.name}`)
        for (const item of v.configMap.items ?? []) t.ok(cm?.data?.[item.key] !== undefined, `${w.name}: volume ${v.name} → key ${item.key}`)
      }
      if (v.secret !== undefined) t.equal(v.secret.secretName, example.metadata.name, `${w.name}: volume ${v.name} → the Secret ${example.metadata.name}`)
    }
    for (const c of containers(w)) {
      for (const e of c.env ?? []) {
        const cmRef = e.valueFrom?.configMapKeyRef
        if (cmRef !== undefined) t.ok(configMaps.get(cmRef.name ?? '')?.data?.[cmRef.key] !== undefined, `${w.name}/${c.name}: ${e.name} → ConfigMap ${cmRef.name} key ${cmRef.key}`)
        const ref = e.valueFrom?.secretKeyRef
        if (ref !== undefined) {
          used.add(ref.key)
          t.equal(ref.name, example.metadata.name, `${w.name}/${c.name}: ${e.name} → Secret ${ref.name}, the one k8s/secret.example.yaml describes`)
          t.ok(exampleKeys.has(ref.key), `${w.name}/${c.name}: ${e.name} → key ${ref.key}, documented in the example`)
        }
      }
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef !== undefined) t.ok(configMaps.has(from.configMapRef.name ?? ''), `${w.name}/${c.name}: envFrom ConfigMap ${from.configMapRef.name}`)
        if (from.secretRef !== undefined) t.equal(from.secretRef.name, example.metadata.name, `${w.name}/${c.name}: envFrom Secret ${from.secretRef.name}`)
      }
    }
  }
  t.same([...exampleKeys].filter((k) => !used.has(k)), [], 'every key of the example Secret is read by something')
}

async function checkNetworkPolicies (t: Test, { objects }: Rendered): Promise<void> {
  const gateway = workload(objects, 'switchyard-gateway')
  const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
  for (const p of policies) {
    const targets = workloads(objects).filter((w) => selects(p.spec?.podSelector as Selector, podLabels(w)))
    t.ok(targets.length > 0, `${p.metadata.name} selects ${targets.map((w) => w.name).join(', ') || 'nothing'}`)
    for (const rule of p.spec?.ingress ?? []) {
      for (const port of rule.ports ?? []) {
        for (const w of targets) t.ok(typeof port.port === 'string' && portNames(w).has(port.port), `${p.metadata.name}: ${w.name} has a port named ${port.port}`)
      }
    }
  }
  const policy = policies.find((p) => selects(p.spec?.podSelector as Selector, podLabels(gateway)))
  t.ok(policy !== undefined, 'a NetworkPolicy selects the gateway\'s pods')
  t.ok(policy?.spec?.policyTypes?.includes('Ingress'), 'it restricts ingress')
  const rules = policy?.spec?.ingress ?? []
  const names = (r: typeof rules[number]) => (r.ports ?? []).map((p) => String(p.port))
  t.ok(rules.some((r) => r.from === undefined && names(r).includes('proxy')), 'the proxy port is open to anyone')
  const adminRules = rules.filter((r) => names(r).includes('admin') || r.ports === undefined)
  t.ok(adminRules.length > 0, 'a rule names the admin port')
  for (const r of adminRules) {
    t.ok(r.from !== undefined && r.from.length > 0, 'the admin port is open only to the peers named')
    for (const peer of r.from ?? []) {
      t.equal(peer.ipBlock, undefined, 'no address block reaches the admin port')
      const inNamespace = peer.namespaceSelector === undefined && peer.podSelector !== undefined
      const monitoring = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring'
      t.ok(inNamespace || monitoring, `admin port peer ${JSON.stringify(peer)}: this namespace's pods or the monitoring namespace`)
    }
  }
}

async function checkDataLayer (t: Test, { objects }: Rendered): Promise<void> {
  for (const [name, service, variable] of [['switchyard-legacy', 'legacy', 'LEGACY_DATABASE_URL'], ['switchyard-unified', 'unified', 'DATABASE_URL']] as const) {
    const c = containers(workload(objects, name))[0]!
    t.same(c.command, ['node', 'dist/services/bin/switchyard-service.js'], `${name}: runs switchyard-service`)
    t.same(c.args, [service], `${name}: ${service}`)
    t.ok(existsSync(join(ROOT, 'services', 'bin', 'switchyard-service.ts')), 'the command\'s source exists (dist/ is built from it)')
    t.equal(envValue(c, 'PORT'), String(portNames(workload(objects, name)).get('http')), `${name}: PORT is the container port http`)
    t.ok(c.env?.some((e) => e.name === variable && e.valueFrom?.secretKeyRef !== undefined), `${name}: ${variable} from the Secret`)
    const grace = workload(objects, name).template.spec!.terminationGracePeriodSeconds!
    const sleep = Number(c.lifecycle?.preStop?.exec?.command?.[1] ?? 0)
    t.ok(grace > sleep + Number(envValue(c, 'DRAIN_TIMEOUT_MS')) / 1000, `${name}: the grace period covers preStop and the drain`)
  }

  const job = workload(objects, 'switchyard-migrate')
  t.equal(job.kind, 'Job')
  const jc = containers(job)[0]!
  t.same([...(jc.command ?? []), ...(jc.args ?? [])], ['node', 'dist/services/migrate/bin/switchyard-migrate.js', 'up'], 'the Job runs switchyard-migrate up')
  t.equal(job.template.spec?.restartPolicy, 'Never')

  const sync = ofKind<IDeployment>(objects, 'Deployment').find((d) => d.metadata.name === 'switchyard-sync')!
  t.equal(sync.spec?.replicas, 1, 'one sync')
  t.equal(sync.spec?.strategy?.type, 'Recreate', 'never two syncs at once, even during a rollout')
  const sc = sync.spec!.template.spec!.containers[0]!
  t.same(sc.command, ['node', 'dist/services/migrate/bin/switchyard-migrate.js'])
  const args = sc.args ?? []
  t.same(args.slice(0, 2), ['sync', '--follow'], 'sync --follow')
  t.equal(Number(args[args.indexOf('--metrics-port') + 1]), sc.ports?.find((p) => p.name === 'metrics')?.containerPort, '--metrics-port is the container port metrics')
  for (const c of [jc, sc]) {
    for (const v of ['LEGACY_DATABASE_URL', 'DATABASE_URL']) t.ok(c.env?.some((e) => e.name === v && e.valueFrom?.secretKeyRef !== undefined), `${c.name}: ${v} from the Secret`)
  }

  const unleash = containers(workload(objects, 'switchyard-unleash'))[0]!
  t.ok(unleash.env?.some((e) => e.name === 'DATABASE_URL' && e.valueFrom?.secretKeyRef !== undefined), 'Unleash: its DATABASE_URL from the Secret')
  const gatewayEnv = workload(objects, 'switchyard-gateway').template.spec!.containers[0]!.env ?? []
  const keyOf = (env: typeof gatewayEnv, name: string) => env.find((e) => e.name === name)?.valueFrom?.secretKeyRef?.key
  t.equal(keyOf(unleash.env ?? [], 'INIT_BACKEND_API_TOKENS'), keyOf(gatewayEnv, 'UNLEASH_API_TOKEN'), 'Unleash creates the client token the gateway reads with')
  t.equal(keyOf(unleash.env ?? [], 'INIT_ADMIN_API_TOKENS'), keyOf(gatewayEnv, 'UNLEASH_ADMIN_TOKEN'), 'and the admin token it writes with')

  const redis = workload(objects, 'switchyard-redis')
  t.equal(redis.replicas, 1, 'one Redis')
}

async function checkServiceMonitors (t: Test, { objects }: Rendered): Promise<void> {
  const services = ofKind<IService>(objects, 'Service')
  const scraped = new Map<string, string>()
  for (const m of ofKind<IServiceMonitor>(objects, 'ServiceMonitor')) {
    t.equal(m.spec.namespaceSelector, undefined, `${m.metadata.name}: its own namespace`)
    const selected = services.filter((s) => selects(m.spec.selector as Selector, s.metadata?.labels ?? {}))
    t.ok(selected.length > 0, `${m.metadata.name} selects ${selected.map((s) => s.metadata!.name).join(', ') || 'no Service'}`)
    for (const e of m.spec.endpoints ?? []) {
      t.equal(e.path, '/metrics', `${m.metadata.name}: /metrics`)
      for (const s of selected) {
        t.ok(s.spec?.ports?.some((p) => p.name === e.port), `${m.metadata.name}: Service ${s.metadata!.name} has a port named ${e.port}`)
        scraped.set(s.metadata!.name!, e.port!)
      }
    }
    if (m.spec.jobLabel !== undefined) for (const s of selected) t.ok(s.metadata?.labels?.[m.spec.jobLabel] !== undefined, `${m.metadata.name}: Service ${s.metadata!.name} has the job label`)
  }
  // What is scraped: the gateway's admin port, both services and the sync, each where its /metrics is.
  const expect: Array<[string, string]> = [['switchyard-gateway', 'admin'], ['switchyard-legacy', 'http'], ['switchyard-unified', 'http'], ['switchyard-sync', 'metrics']]
  for (const [name, port] of expect) {
    const s = [...scraped].find(([svc, p]) => p === port && selects(services.find((x) => x.metadata!.name === svc)?.spec?.selector, podLabels(workload(objects, name))))
    t.ok(s !== undefined, `${name}: scraped on its ${port} port`)
  }
}

async function checkImages (t: Test, { objects, overlay }: Rendered): Promise<void> {
  const { images } = overlayKustomization(overlay)
  const own = images.find((i) => i.name === OWN_IMAGE)
  t.ok(own?.newTag !== undefined, `the overlay tags ${OWN_IMAGE}`)
  let ownCount = 0
  for (const w of workloads(objects)) {
    for (const c of containers(w)) {
      const { name, tag } = imageOf(c)
      const pinned = images.find((i) => (i.newName ?? i.name) === name)
      t.ok(pinned !== undefined, `${w.name}/${c.name}: ${c.image} is pinned by the overlay`)
      t.ok(tag !== null && tag !== 'latest', `${w.name}/${c.name}: ${c.image} has a tag`)
      t.equal(tag, pinned?.newTag, `${w.name}/${c.name}: ${c.image} has the overlay's tag`)
      if (name === (own?.newName ?? OWN_IMAGE)) ownCount++
    }
  }
  t.ok(ownCount >= 5, `the project's image runs the gateway, both services, the Job and the sync (${ownCount} containers)`)
}

async function checkRules (t: Test, { objects, namespace }: Rendered): Promise<void> {
  const rules = ofKind<IPrometheusRule>(objects, 'PrometheusRule')
  t.ok(rules.length > 0, 'a PrometheusRule is rendered')
  for (const r of rules) {
    t.equal(r.metadata.namespace, namespace)
    t.equal(r.metadata.labels?.['app.kubernetes.io/part-of'], 'switchyard', `${r.metadata.name}: labelled as Switchyard's`)
    for (const m of ofKind<IServiceMonitor>(objects, 'ServiceMonitor')) {
      t.equal(m.metadata.labels?.prometheus, r.metadata.labels?.prometheus, `${m.metadata.name}: the same prometheus label as ${r.metadata.name}, so one Prometheus selects both`)
    }
    const groups = r.spec.groups ?? []
    t.ok(groups.length > 0, `${r.metadata.name}: has groups`)
    for (const g of groups) {
      t.ok((g.rules ?? []).length > 0, `${r.metadata.name}/${g.name}: has rules`)
      for (const rule of g.rules ?? []) t.ok((rule.alert ?? rule.record) !== undefined && String(rule.expr).trim() !== '', `${g.name}: ${rule.alert ?? rule.record} has an expression`)
    }
  }
}

// -- helpers ----------------------------------------------------------------------------------------------

/** A URL such as http://switchyard-legacy:8001 names a Service of the namespace, a port of it, and the pods of `workloadName`. */
function pointsAt (t: Test, objects: K8sObject[], what: string, url: string | undefined, workloadName: string): void {
  const u = new URL(url ?? 'invalid://')
  const service = ofKind<IService>(objects, 'Service').find((s) => s.metadata!.name === u.hostname)
  t.ok(service !== undefined, `${what} ${url}: the Service ${u.hostname} exists`)
  t.ok(service?.spec?.ports?.some((p) => p.port === Number(u.port)), `${what}: the Service has port ${u.port}`)
  t.ok(selects(service?.spec?.selector, podLabels(workload(objects, workloadName))), `${what}: the Service selects ${workloadName}`)
}

type ModelClass = new (data: unknown) => { validate (): void }

async function modelFor (apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const path = apiVersion.startsWith('monitoring.coreos.com/')
    ? `@kubernetes-models/prometheus-operator/${apiVersion}`
    : `kubernetes-models/${apiVersion}`
  try {
    return ((await import(path)) as Record<string, ModelClass | undefined>)[kind]
  } catch {
    return undefined
  }
}

function bytes (quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]i?)?$/.exec(quantity)
  if (m === null) return NaN
  const units: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }
  return Number(m[1]) * (m[2] === undefined ? 1 : units[m[2]]!)
}

interface Child {
  readonly ports: Map<string, number>
  readonly exited: Promise<number | null>
  kill (signal: NodeJS.Signals): void
  output (): string
}

/**
 * Runs a container's command and arguments here, from the repository's root (the image's WORKDIR), with its
 * environment: literal values as written, Secret keys from `secrets`, and each container port moved to a
 * free one wherever the environment or the arguments name it.
 */
async function runContainer (t: Test, c: IContainer, secrets: Record<string, string>): Promise<Child> {
  const ports = new Map<string, number>()
  const moved = new Map<string, string>()
  for (const p of c.ports ?? []) {
    const free = await freePort()
    ports.set(p.name!, free)
    moved.set(String(p.containerPort), String(free))
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef
    if (ref !== undefined) {
      const value = secrets[ref.key]
      if (value === undefined && ref.optional !== true) throw new Error(`${c.name}: no test value for the Secret key ${ref.key}`)
      if (value !== undefined) env[e.name] = value
    } else if (e.value !== undefined) {
      env[e.name] = moved.get(e.value) ?? e.value
    }
  }
  const [command, ...commandArgs] = [...(c.command ?? []), ...(c.args ?? []).map((a) => moved.get(a) ?? a)]
  const child = spawn(command === 'node' ? process.execPath : command!, commandArgs, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const keep = (chunk: Buffer): void => { out = (out + chunk.toString()).slice(-8_000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { ports, exited, kill: (signal) => child.kill(signal), output: () => out }
}
