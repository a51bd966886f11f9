// Medians over the rounds, the table, the ratios, and the JSON document of --json.
import type { Machine } from './machine.ts'
import type { Options } from './options.ts'
import type { WrkErrors } from './wrk.ts'

export interface Sample {
  round: number
  requests: number
  rps: number
  p50Us: number
  p99Us: number
  cpuUsPerRequest: number | null
  errors: WrkErrors
  loadCoreBusy: number | null
  proxyCoreBusy: number | null
  /** CPU time other processes were charged with on each core, in percent of the run. */
  loadCoreForeign: number | null
  proxyCoreForeign: number | null
}

export interface CaseResult {
  id: string
  label: string
  skipped: string | null
  samples: Sample[]
}

export interface Summary {
  rps: number
  rpsMin: number
  rpsMax: number
  p50Us: number
  p99Us: number
  cpuUsPerRequest: number | null
  errors: number
  loadCoreBusy: number | null
  proxyCoreBusy: number | null
  /** The highest share of each core that other processes took in any round. */
  loadCoreForeignMax: number | null
  proxyCoreForeignMax: number | null
}

export function median (values: number[]): number {
  const s = [...values].sort((x, y) => x - y)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

function medianOrNull (values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length === 0 ? null : median(known)
}

function maxOrNull (values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null)
  return known.length === 0 ? null : Math.max(...known)
}

export function summarize (r: CaseResult): Summary | null {
  if (r.samples.length === 0) return null
  const rps = r.samples.map((s) => s.rps)
  return {
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    p50Us: median(r.samples.map((s) => s.p50Us)),
    p99Us: median(r.samples.map((s) => s.p99Us)),
    cpuUsPerRequest: medianOrNull(r.samples.map((s) => s.cpuUsPerRequest)),
    errors: r.samples.reduce((n, s) => n + Object.values(s.errors).reduce((a, b) => a + b, 0), 0),
    loadCoreBusy: medianOrNull(r.samples.map((s) => s.loadCoreBusy)),
    proxyCoreBusy: medianOrNull(r.samples.map((s) => s.proxyCoreBusy)),
    loadCoreForeignMax: maxOrNull(r.samples.map((s) => s.loadCoreForeign)),
    proxyCoreForeignMax: maxOrNull(r.samples.map((s) => s.proxyCoreForeign))
  }
}

export interface Ratios { [name: string]: number | null }

export function ratios (results: CaseResult[]): Ratios {
  const s = new Map(results.map((r) => [r.id, summarize(r)]))
  const div = (x: number | null | undefined, y: number | null | undefined) =>
    x === null || x === undefined || y === null || y === undefined || y === 0 ? null : x / y
  return {
    'c/b req/s': div(s.get('c')?.rps, s.get('b')?.rps),
    'c/d req/s': div(s.get('c')?.rps, s.get('d')?.rps),
    'c/e req/s': div(s.get('c')?.rps, s.get('e')?.rps),
    'c/b p99': div(s.get('c')?.p99Us, s.get('b')?.p99Us),
    'c/b CPU per request': div(s.get('c')?.cpuUsPerRequest, s.get('b')?.cpuUsPerRequest),
    'g/f req/s': div(s.get('g')?.rps, s.get('f')?.rps),
    'g/f p99': div(s.get('g')?.p99Us, s.get('f')?.p99Us),
    'g/f CPU per request': div(s.get('g')?.cpuUsPerRequest, s.get('f')?.cpuUsPerRequest),
    'h/f req/s': div(s.get('h')?.rps, s.get('f')?.rps),
    'h/f p99': div(s.get('h')?.p99Us, s.get('f')?.p99Us),
    'h/f CPU per request': div(s.get('h')?.cpuUsPerRequest, s.get('f')?.cpuUsPerRequest)
  }
}

export interface Layout {
  loadCore: number | null
  proxyCore: number | null
  bodyBytes: number
  headers: Record<string, string>
  /** How busy each core was for a second before anything started, in percent. */
  busyBefore: Record<string, number | null>
}

const fmt = (v: number | null, digits: number) => v === null ? 'n/a' : v.toFixed(digits)
const ms = (us: number) => (us / 1000).toFixed(2)

export function renderReport (machine: Machine, opts: Options, layout: Layout, results: CaseResult[], notes: string[]): string {
  const pinned = layout.loadCore !== null
  const header = [
    'Switchyard proxy benchmark',
    `machine:  ${machine.nproc} cores (nproc), ${machine.cpuModel}, Linux ${machine.kernel}, node ${machine.node}, ` +
      `${machine.wrk ?? 'wrk missing'}, nginx ${machine.nginx ?? 'not installed'}, CLK_TCK ${machine.clockTicks}`,
    `settings: ${opts.rounds} round(s) x ${opts.seconds} s per case, interleaved round-robin (the starting case rotates ` +
      `each round), ${opts.warmupSeconds} s warm-up per case first; medians reported`,
    `load:     wrk, 1 thread, ${opts.connections} keep-alive connections, GET /items/42 -> ${layout.bodyBytes} B of JSON, ` +
      `fixed header ${Object.entries(layout.headers).map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    pinned
      ? `cores:    wrk and the upstream backend on core ${layout.loadCore}; each process under test alone on core ` +
        `${layout.proxyCore}. The backend shares the load core so that it never takes cycles from the proxy; the ` +
        'load% column shows whether that core saturated. Case a is a second backend process on the proxy core, ' +
        'so it measures what one core of node:http serves in the slot each proxy gets.'
      : 'cores:    UNPINNED (fewer than 2 cores): wrk, backend and the process under test share the machine',
    'columns:  load% and proxy% = how busy the load and the proxy core were; other% l/p = the most CPU time ' +
      `that other processes took on each core in any round (machine busy before the runs: ${Object.entries(layout.busyBefore)
        .map(([core, v]) => `core ${core} ${fmt(v, 0)}%`).join(', ')})`,
    ''
  ]

  const rows = [['case', 'req/s', 'min-max', 'p50 ms', 'p99 ms', 'CPU µs/req', 'errors', 'load%', 'proxy%', 'other% l/p']]
  for (const r of results) {
    const s = summarize(r)
    if (s === null) {
      rows.push([`${r.id} ${r.label}`, r.skipped ?? 'no runs', '', '', '', '', '', '', '', ''])
      continue
    }
    rows.push([
      `${r.id} ${r.label}`,
      s.rps.toFixed(0),
      `${s.rpsMin.toFixed(0)}-${s.rpsMax.toFixed(0)}`,
      ms(s.p50Us),
      ms(s.p99Us),
      fmt(s.cpuUsPerRequest, 1),
      String(s.errors),
      fmt(s.loadCoreBusy, 0),
      fmt(s.proxyCoreBusy, 0),
      `${fmt(s.loadCoreForeignMax, 0)}/${fmt(s.proxyCoreForeignMax, 0)}`
    ])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const table = rows.map((row) => row.map((cell, i) => i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)).join('  '))

  const s = new Map(results.map((r) => [r.id, summarize(r)]))
  const q = ratios(results)
  const c = s.get('c')
  const b = s.get('b')
  const lines = [
    '',
    `c/b req/s: ${fmt(q['c/b req/s'] ?? null, 2)}   (Switchyard / bare @fastify/http-proxy)`,
    `c/d req/s: ${fmt(q['c/d req/s'] ?? null, 2)}   (Switchyard / undici pass-through)`,
    `c/e req/s: ${fmt(q['c/e req/s'] ?? null, 2)}   (Switchyard / nginx)`,
    c !== null && c !== undefined && b !== null && b !== undefined
      ? `p99 c vs b: ${ms(c.p99Us)} ms vs ${ms(b.p99Us)} ms (x${fmt(q['c/b p99'] ?? null, 2)}); ` +
        `CPU per request c vs b: x${fmt(q['c/b CPU per request'] ?? null, 2)}`
      : 'p99 c vs b: n/a',
    `shadow 10 % vs 0 % (g/f): req/s x${fmt(q['g/f req/s'] ?? null, 2)} (target >= 0.90), p99 x${fmt(q['g/f p99'] ?? null, 2)} (target <= 1.10), ` +
      `CPU per request x${fmt(q['g/f CPU per request'] ?? null, 2)}`,
    `shadow 100 % vs 0 % (h/f): req/s x${fmt(q['h/f req/s'] ?? null, 2)}, p99 x${fmt(q['h/f p99'] ?? null, 2)}, ` +
      `CPU per request x${fmt(q['h/f CPU per request'] ?? null, 2)} (target: no client error, bounded memory)`
  ]
  return [...header, ...table, ...lines, '', ...notes.map((n) => `note: ${n}`)].join('\n')
}

export function toJson (machine: Machine, opts: Options, layout: Layout, results: CaseResult[], notes: string[]) {
  return {
    machine,
    settings: { ...opts, threads: 1, path: '/items/42' },
    layout,
    cases: results.map((r) => ({ ...r, median: summarize(r) })),
    ratios: ratios(results),
    notes
  }
}
