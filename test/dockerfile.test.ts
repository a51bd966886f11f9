// k8s/Dockerfile without a Docker engine: the file is parsed and checked against the repository (every COPY
// source is there and not left out by .dockerignore, every file a command names is in the built tree, the
// runtime stage has only production dependencies and still everything the programs import and read), its
// runtime stage runs as a numeric non-root user with a HEALTHCHECK, and its entrypoint, run here from the
// repository's root (the image's WORKDIR) with the image's environment and free ports, starts a gateway
// that answers /readyz, proxies to a test backend, passes the image's own health check, and exits 0 on
// SIGTERM.
import { execFile, spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, posix, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { within } from './helpers/poll.ts'
import { freePort } from './helpers/servers.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '..')
const DOCKERFILE = join(ROOT, 'k8s', 'Dockerfile')
const BASE_IMAGE = 'node:20-bookworm-slim'
/** Programs the image runs: the gateway (its entrypoint) and, in the cluster, the services, the job and the sync. */
const PROGRAMS = ['dist/gateway/bin/switchyard.js', 'dist/services/bin/switchyard-service.js', 'dist/services/migrate/bin/switchyard-migrate.js']
/** What those programs read at run time, besides their code and node_modules. */
const RUNTIME_FILES = ['package.json', 'flags/switchyard.yaml', 'flags/features.json', 'drizzle/legacy/migrations/meta/_journal.json', 'drizzle/unified/migrations/meta/_journal.json']

interface Instruction { keyword: string, args: string, line: number }
interface Stage { image: string, name: string | null, instructions: Instruction[] }

// -- parsing ----------------------------------------------------------------------------------------------

function parseDockerfile (text: string): { args: Map<string, string>, stages: Stage[] } {
  const instructions: Instruction[] = []
  let pending = ''
  let start = 0
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line.startsWith('#') || (line === '' && pending === '')) return
    if (pending === '') start = i + 1
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' '
      return
    }
    const full = (pending + line).trim()
    pending = ''
    if (full === '') return
    const m = /^(\S+)\s*(.*)$/s.exec(full)!
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start })
  })
  const args = new Map<string, string>()
  const stages: Stage[] = []
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name, value = ''] = ins.args.split('=', 2)
      args.set(name!, value)
    } else if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!
      stages.push({ image: substitute(m[1]!, args), name: m[2] ?? null, instructions: [] })
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(ins)
    }
  }
  return { args, stages }
}

function substitute (s: string, vars: Map<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? '')
}

/** The exec form (a JSON array) of CMD, ENTRYPOINT or HEALTHCHECK CMD; the shell form is refused. */
function execForm (args: string): string[] {
  const parsed = JSON.parse(args) as unknown
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`)
  return parsed
}

function words (args: string): string[] {
  return args.split(/\s+/).filter((w) => w !== '')
}

interface Copy { from: string | null, chown: string | null, sources: string[], dest: string, line: number }

function copies (stage: Stage): Copy[] {
  return stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD').map((i) => {
    const all = i.args.startsWith('[') ? execForm(i.args) : words(i.args)
    const flags = all.filter((w) => w.startsWith('--'))
    const paths = all.filter((w) => !w.startsWith('--'))
    const flag = (name: string) => flags.find((f) => f.startsWith(`--${name}=`))?.slice(name.length + 3) ?? null
    return { from: flag('from'), chown: flag('chown'), sources: paths.slice(0, -1), dest: paths.at(-1)!, line: i.line }
  })
}

/** ENV lines of a stage, KEY=value pairs (quotes removed) or the old KEY value form. */
function envOf (stage: Stage): Record<string, string> {
  const env: Record<string, string> = {}
  for (const i of stage.instructions.filter((x) => x.keyword === 'ENV')) {
    if (!/^\w+=/.test(i.args)) {
      const [key, ...rest] = words(i.args)
      env[key!] = rest.join(' ')
      continue
    }
    for (const m of i.args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
      env[m[1]!] = m[2]!.replace(/^["']|["']$/g, '')
    }
  }
  return env
}

function workdir (stage: Stage): string {
  return stage.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args ?? '/'
}

// -- .dockerignore ----------------------------------------------------------------------------------------

interface IgnoreRule { negated: boolean, pattern: RegExp, text: string }

/** Docker's .dockerignore: Go filepath.Match patterns plus **, ! exceptions, the last matching rule wins. */
function dockerignore (text: string): IgnoreRule[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((line) => {
    const negated = line.startsWith('!')
    const cleaned = posix.normalize(line.slice(negated ? 1 : 0).trim()).replace(/^\/+/, '').replace(/\/+$/, '')
    let re = ''
    for (let i = 0; i < cleaned.length; i++) {
      const c = cleaned[i]!
      if (c === '*' && cleaned[i + 1] === '*') {
        i++
        if (cleaned[i + 1] === '/') { i++; re += '(?:.*/)?' } else re += '.*'
      } else if (c === '*') re += '[^/]*'
      else if (c === '?') re += '[^/]'
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
    return { negated, pattern: new RegExp(`^${re}$`), text: line }
  })
}

function excluded (rules: IgnoreRule[], path: string): boolean {
  const parts = path.split('/')
  const candidates = parts.map((_p, i) => parts.slice(0, i + 1).join('/'))
  let out = false
  for (const rule of rules) {
    if (candidates.some((c) => rule.pattern.test(c))) out = !rule.negated
  }
  return out
}

function filesUnder (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...filesUnder(full))
    else out.push(full)
  }
  return out
}

// -- what the programs import -----------------------------------------------------------------------------

/** Bare module names reached from `entries` through their relative imports, static and dynamic. */
function bareImports (entries: string[]): Map<string, string> {
  const seen = new Set<string>()
  const bare = new Map<string, string>()
  const queue = [...entries]
  while (queue.length > 0) {
    const file = queue.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:^|[^\w.])(?:import|export)\s*(?:[^'"`;]*?\sfrom\s*)?\(?\s*['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec))
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!
        if (!bare.has(name)) bare.set(name, relative(ROOT, file))
      }
    }
  }
  return bare
}

// -- the tests --------------------------------------------------------------------------------------------

const { args, stages } = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'))
const runtime = stages.at(-1)!
const rules = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>, scripts: Record<string, string> }

async function built (): Promise<void> {
  if (PROGRAMS.every((p) => existsSync(join(ROOT, p)))) return
  await run('npm', ['run', 'build'], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }).catch(() => {
    // tsc still writes dist/ when another part of the tree has a type error; what matters is below.
  })
}

t.test('stages: a build with dev dependencies, then a runtime on node:20-bookworm-slim', async (t) => {
  t.ok(stages.length >= 2, `${stages.length} stages`)
  t.equal(args.get('NODE_IMAGE'), BASE_IMAGE, 'the base image is an ARG defaulting to node:20-bookworm-slim')
  for (const s of stages) t.equal(s.image, BASE_IMAGE, `stage ${s.name ?? '(unnamed)'} is based on ${BASE_IMAGE}`)
  const runs = (s: Stage) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args)
  const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)))
  t.ok(build !== undefined && build !== runtime, 'a build stage runs npm run build')
  t.ok(runs(build!).some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev|--production/.test(r)), 'with every dependency (npm ci)')
  t.ok(runs(runtime).some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'the runtime stage installs production dependencies only (npm ci --omit=dev)')
  for (const r of [...runs(build!), ...runs(runtime)]) {
    for (const m of r.matchAll(/\bnpm run (\S+)/g)) t.ok(pkg.scripts[m[1]!] !== undefined, `npm run ${m[1]}: the script exists`)
    // npm ci runs the package's own prepare script (a build); it must not run before the sources are copied.
    if (/\bnpm ci\b/.test(r) && pkg.scripts.prepare !== undefined) t.match(r, /--ignore-scripts/, `${r.slice(0, 40)}...: without the prepare script`)
  }
  t.notOk(copies(runtime).some((c) => c.from === null && c.sources.some((s) => /^(gateway|services|test)\b/.test(s))), 'no TypeScript sources in the runtime stage')
})

t.test('every COPY source is in the build context, and nothing under it is left out', async (t) => {
  for (const stage of stages) {
    for (const c of copies(stage).filter((x) => x.from === null)) {
      for (const source of c.sources) {
        const path = join(ROOT, source)
        t.ok(existsSync(path), `line ${c.line}: ${source} exists`)
        t.notOk(excluded(rules, posix.normalize(source)), `line ${c.line}: ${source} is not in .dockerignore`)
        if (existsSync(path) && statSync(path).isDirectory()) {
          const left = filesUnder(path).map((f) => relative(ROOT, f)).filter((f) => excluded(rules, f))
          t.same(left, [], `line ${c.line}: every file under ${source} is sent`)
        }
      }
    }
  }
  for (const kept of ['node_modules', 'dist', '.git', '.switchyard', '.tap']) {
    t.ok(excluded(rules, kept) && excluded(rules, `${kept}/some/file`), `.dockerignore leaves out ${kept}`)
  }
})

t.test('the runtime stage has every program, what they read, and what they import', async (t) => {
  await built()
  const stageByName = new Map(stages.filter((s) => s.name !== null).map((s) => [s.name!, s]))
  const dir = workdir(runtime)
  // Where each path under the runtime stage's WORKDIR comes from in the repository, once built. COPY of a
  // folder copies its content into the destination; of files, into a destination ending in / (or the
  // destination itself, for one file).
  const provided: Array<{ dest: string, source: string, folder: boolean }> = []
  for (const c of copies(runtime)) {
    const fromStage = c.from === null ? null : stageByName.get(c.from)
    t.ok(c.from === null || fromStage !== undefined, `line ${c.line}: --from=${c.from} is a stage`)
    for (const source of c.sources) {
      // A path in a build stage's WORKDIR is the same path of the repository once built there.
      const repoPath = fromStage != null ? posix.relative(workdir(fromStage), source) : posix.normalize(source)
      t.ok(!repoPath.startsWith('..'), `line ${c.line}: ${source} is inside the build stage's WORKDIR`)
      const there = existsSync(join(ROOT, repoPath))
      t.ok(there, `line ${c.line}: ${source} exists in the built tree (${repoPath})`)
      const folder = there && statSync(join(ROOT, repoPath)).isDirectory()
      const into = !folder && (c.dest.endsWith('/') || c.sources.length > 1)
      const dest = posix.relative(dir, posix.resolve(dir, into ? posix.join(c.dest, posix.basename(repoPath)) : c.dest))
      provided.push({ dest, source: repoPath, folder })
    }
  }
  const inImage = (path: string): boolean => provided.some(({ dest, source, folder }) => folder
    ? (dest === '' || path.startsWith(dest + '/')) && existsSync(join(ROOT, source, posix.relative(dest, path)))
    : path === dest)
  for (const file of [...PROGRAMS, ...RUNTIME_FILES]) t.ok(inImage(file), `${file} is in the image`)

  const entrypoint = execForm(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args)
  const cmd = execForm(runtime.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]')
  const health = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')
  const healthCmd = health === undefined ? [] : execForm(health.args.replace(/^(?:--\S+\s+)*CMD\s+/, ''))
  const runWords = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN').flatMap((i) => words(i.args)))
  for (const word of runWords) {
    if (/^[\w.-]+(?:\/[\w.-]+)*\.(?:m?js|cjs|json|ya?ml|ts)$/.test(word)) t.ok(existsSync(join(ROOT, word)), `${word}, named by a RUN, exists in the repository`)
  }
  for (const word of [...entrypoint, ...cmd, ...healthCmd]) {
    if (/^[\w./-]+\.(?:m?js|cjs|json|ya?ml)$/.test(word)) {
      t.ok(existsSync(join(ROOT, word)), `${word}, named by a command, exists in the built tree`)
      t.ok(inImage(word), `${word} is in the image`)
    }
  }

  // npm ci --omit=dev installs the dependencies; every package the programs import must be one of them.
  const imported = bareImports(PROGRAMS.map((p) => join(ROOT, p)))
  t.ok(imported.size > 5, `the programs import ${[...imported.keys()].join(', ')}`)
  for (const [name, by] of imported) t.ok(pkg.dependencies[name] !== undefined, `${name} (imported by ${by}) is a production dependency`)
})

t.test('the runtime stage runs as a numeric user that is not root, with a health check', async (t) => {
  const users = runtime.instructions.filter((i) => i.keyword === 'USER')
  t.ok(users.length > 0, 'USER is set')
  const user = users.at(-1)!.args
  t.match(user, /^\d+(?::\d+)?$/, `USER ${user} is numeric, so Kubernetes can check runAsNonRoot`)
  t.not(Number(user.split(':')[0]), 0, 'not root')
  const entry = runtime.instructions.findIndex((i) => i.keyword === 'ENTRYPOINT')
  t.ok(runtime.instructions.findIndex((i) => i.keyword === 'USER') < entry, 'USER comes before the entrypoint')
  const health = runtime.instructions.filter((i) => i.keyword === 'HEALTHCHECK')
  t.equal(health.length, 1, 'one HEALTHCHECK')
  t.match(health[0]?.args, /\bCMD\s+\[\s*"node"/, 'run by node: the slim image has no curl')
  t.match(health[0]?.args, /\/healthz/, 'on /healthz')
  const config = parse(readFileSync(join(ROOT, 'flags', 'switchyard.yaml'), 'utf8')) as { listen: { port: number }, admin: { port: number } }
  const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => words(i.args)).map((p) => Number(p.split('/')[0]))
  t.same(exposed.sort(), [config.listen.port, config.admin.port].sort(), 'EXPOSE names the default config\'s proxy and admin ports')
})

t.test('the entrypoint starts the gateway: ready, proxying, healthy, and it exits 0 on SIGTERM', async (t) => {
  await built()
  const legacy = await startUpstream(t, namedJson('legacy'))
  const upstreamNew = await startUpstream(t, namedJson('new'))
  const state = await mkdtemp(join(tmpdir(), 'switchyard-image-state-'))
  t.teardown(() => rm(state, { recursive: true, force: true }))
  const proxyPort = await freePort()
  const adminPort = await freePort()

  // The image's environment, with the ports taken free and the state directory (a path of the image) moved
  // to a temporary one; the backends are what `docker run -e` would pass.
  const imageEnv = envOf(runtime)
  t.ok(imageEnv.SWITCHYARD_STATE_DIR !== undefined, 'the image sets SWITCHYARD_STATE_DIR')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...imageEnv,
    SWITCHYARD_STATE_DIR: state,
    SWITCHYARD_PORT: String(proxyPort),
    SWITCHYARD_ADMIN_PORT: String(adminPort),
    SWITCHYARD_LEGACY_URL: legacy.url,
    SWITCHYARD_NEW_URL: upstreamNew.url
  }
  const [command, ...commandArgs] = [
    ...execForm(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args),
    ...execForm(runtime.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]')
  ]
  t.equal(command, 'node', 'the entrypoint is node')
  const child = spawn(process.execPath, commandArgs, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer): void => { output = (output + chunk.toString()).slice(-8_000) }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })

  const admin = `http://127.0.0.1:${adminPort}`
  await within(20_000, `the gateway answers ${admin}/readyz with 200 (${output})`, async () => {
    if (child.exitCode !== null) throw new Error(`the entrypoint exited (${child.exitCode}):\n${output}`)
    const res = await fetch(`${admin}/readyz`).catch(() => null)
    await res?.arrayBuffer()
    return res?.status === 200 ? true : undefined
  }, 50)
  t.pass('/readyz answers 200')

  for (const [path, backend, upstream] of [['/v1/items/7', 'legacy', legacy], ['/v2/items/7', 'new', upstreamNew]] as const) {
    const res = await fetch(`http://127.0.0.1:${proxyPort}${path}`)
    const body = await res.json() as { backend: string, url: string }
    t.equal(res.status, 200, `${path} answers 200`)
    t.equal(res.headers.get('x-switchyard-backend'), backend, `${path} is served by ${backend}`)
    t.same(body, { backend, method: 'GET', url: '/items/7' }, `${path} reached the ${backend} test backend`)
    t.equal(upstream.seen.at(-1)?.url, '/items/7', `the ${backend} backend saw /items/7, the version prefix stripped`)
  }

  const health = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')!
  const [healthCommand, ...healthArgs] = execForm(health.args.replace(/^(?:--\S+\s+)*CMD\s+/, ''))
  const check = async (): Promise<number> => {
    const r = spawn(healthCommand === 'node' ? process.execPath : healthCommand!, healthArgs, { cwd: ROOT, env, stdio: 'ignore' })
    return await new Promise((resolve) => r.once('exit', (code) => resolve(code ?? -1)))
  }
  t.equal(await check(), 0, 'the image\'s HEALTHCHECK command succeeds against it')

  child.kill('SIGTERM')
  t.same(await exited, { code: 0, signal: null }, 'SIGTERM: it drains and exits 0', { output: output.slice(-2_000) })
  t.equal(await check(), 1, 'and the HEALTHCHECK fails once it is gone')
})
