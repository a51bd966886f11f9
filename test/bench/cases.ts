// The ways of serving GET /items/42 that are compared, and how to start each one on the core under test: the
// backend alone, three proxies, nginx, and Switchyard shadowing none, a tenth and all of its GETs.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { startChild, type Child } from './children.ts'
import { nginxVersion, startNginx } from './nginx.ts'
import type { CaseId } from './options.ts'

export const PATH = '/items/42'
export const STICKY_HEADERS = { 'x-user-id': 'bench-user-42' }
/** The users the shadow cases cycle through: shadowing samples by user, so one user would be all or nothing. */
export const SHADOW_USERS = 1_000

export interface CaseContext {
  root: string
  tmp: string
  /** The core each process under test is pinned to, or null when unpinned. */
  core: number | null
  legacyUrl: string
  newUrl: string
}

export interface CaseDef {
  id: CaseId
  label: string
  /** Starts the process under test, or returns why the case is skipped. */
  start: (ctx: CaseContext) => Promise<Child | string>
  /** wrk varies x-user-id over this many users instead of sending the fixed one. */
  users?: number
  /** The share of GETs the gateway shadows, for the shadow cases. */
  shadowPercent?: number
}

function switchyard (ctx: CaseContext, shadowPercent?: number): Promise<Child | string> {
  if (!existsSync(join(ctx.root, 'gateway/app.ts'))) return Promise.resolve('skipped: gateway/app.ts does not exist yet')
  return nodeChild(ctx, 'Switchyard', 'switchyard.ts', [ctx.legacyUrl, ctx.newUrl, ...(shadowPercent === undefined ? [] : [String(shadowPercent)])])
}

function shadowCase (id: CaseId, percent: number): CaseDef {
  return { id, label: `Switchyard, shadow ${percent} %`, users: SHADOW_USERS, shadowPercent: percent, start: (ctx) => switchyard(ctx, percent) }
}

export function nodeChild (ctx: Pick<CaseContext, 'root' | 'core'>, name: string, file: string, args: string[]): Promise<Child> {
  return startChild(name, process.execPath, ['--import', 'tsx', join(ctx.root, 'test/bench/servers', file), ...args], {
    core: ctx.core,
    cwd: ctx.root,
    env: { ...process.env, NODE_ENV: 'production' },
    ready: 'announce'
  })
}

export const CASES: readonly CaseDef[] = [
  {
    id: 'a',
    label: 'backend direct (node:http)',
    start: (ctx) => nodeChild(ctx, 'backend under test', 'backend.ts', ['1'])
  },
  {
    id: 'b',
    label: '@fastify/http-proxy',
    start: (ctx) => nodeChild(ctx, '@fastify/http-proxy', 'fastify-proxy.ts', [ctx.legacyUrl])
  },
  {
    id: 'c',
    label: 'Switchyard',
    start: (ctx) => switchyard(ctx)
  },
  {
    id: 'd',
    label: 'undici pass-through',
    start: (ctx) => nodeChild(ctx, 'undici pass-through', 'undici-proxy.ts', [ctx.legacyUrl])
  },
  {
    id: 'e',
    label: 'nginx (upstream keepalive)',
    start: async (ctx) => {
      if (nginxVersion() === null) return 'skipped: nginx is not installed (apt-get install -y nginx)'
      return startNginx(join(ctx.tmp, 'nginx'), ctx.legacyUrl, ctx.core)
    }
  },
  shadowCase('f', 0),
  shadowCase('g', 10),
  shadowCase('h', 100)
]

export interface Probe { status: number, backend: string | null, bytes: number }

/** One request before the runs: the case must answer the backend's JSON, or its figures mean nothing. */
export async function probe (url: string): Promise<Probe> {
  const res = await fetch(new URL(PATH, url), { headers: STICKY_HEADERS })
  const text = await res.text()
  let id: unknown
  try {
    id = (JSON.parse(text) as { id?: unknown }).id
  } catch {
    id = undefined
  }
  if (res.status !== 200 || id !== 42) {
    throw new Error(`GET ${PATH} through ${url} answered ${res.status} ${text.slice(0, 200)}`)
  }
  return { status: res.status, backend: res.headers.get('x-switchyard-backend'), bytes: Buffer.byteLength(text) }
}
