// Command-line flags, with BENCH_* environment variables as defaults: --duration, --rounds, --connections,
// --quick, --json <file> and --cases.
import { parseArgs } from 'node:util'

export const CASE_IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'] as const
export type CaseId = typeof CASE_IDS[number]

export interface Options {
  seconds: number
  rounds: number
  connections: number
  warmupSeconds: number
  quick: boolean
  json: string | null
  cases: CaseId[]
}

export const USAGE = `usage: npm run bench -- [--duration 10] [--rounds 3] [--connections 50] [--quick] [--json file] [--cases a,b,c,d,e,f,g,h]
  --duration     seconds per run (env BENCH_DURATION), default 10
  --rounds       rounds over all cases, medians are reported (env BENCH_ROUNDS), default 3
  --connections  wrk connections (env BENCH_CONNECTIONS), default 50
  --quick        smoke run: 3 s, 1 round, 1 s warm-up
  --json         also write the results to this file (env BENCH_JSON)
  --cases        a subset of a (backend), b (@fastify/http-proxy), c (Switchyard), d (undici pass-through), e (nginx),
                 f, g, h (Switchyard with 1,000 users, shadowing 0 %, 10 % and 100 % of GETs)`

export function parseOptions (argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parse(argv)
  if (values.help) throw new UsageError('')
  const quick = values.quick ?? false
  const seconds = integer('--duration', (values.duration ?? env.BENCH_DURATION)?.replace(/s$/, ''), quick ? 3 : 10, 1)
  const cases = (values.cases ?? CASE_IDS.join(',')).split(',').map((c) => c.trim())
  for (const c of cases) {
    if (!(CASE_IDS as readonly string[]).includes(c)) throw new UsageError(`--cases: unknown case ${JSON.stringify(c)}; use letters a to h`)
  }
  return {
    seconds,
    rounds: integer('--rounds', values.rounds ?? env.BENCH_ROUNDS, quick ? 1 : 3, 1),
    connections: integer('--connections', values.connections ?? env.BENCH_CONNECTIONS, 50, 1),
    warmupSeconds: quick ? 1 : Math.min(2, seconds),
    quick,
    json: values.json ?? env.BENCH_JSON ?? null,
    cases: CASE_IDS.filter((c) => cases.includes(c))
  }
}

export class UsageError extends Error {}

function parse (argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      options: {
        duration: { type: 'string' },
        rounds: { type: 'string' },
        connections: { type: 'string' },
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        cases: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false }
      }
    })
  } catch (err) {
    if (typeof (err as { code?: unknown }).code === 'string' && (err as { code: string }).code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((err as Error).message, { cause: err })
    }
    throw err
  }
}

function integer (flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < min) {
    throw new UsageError(`${flag}: expected a whole number of at least ${min}, got ${JSON.stringify(raw)}`)
  }
  return Number(raw)
}
