// The embedded flag source: a file in Unleash's client-features format ({ "version": 2, "features": [...] }),
// validated when read and replaced atomically when written, so a crash leaves the old file or the new one.
import { readFile } from 'node:fs/promises'
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { ClientFeaturesResponse, FeatureInterface } from 'unleash-client/lib/feature.js'
import { errors } from '../errors.ts'
import { dotted } from '../config/load.ts'
import { writeJsonAtomic } from '../state/atomic-file.ts'

const Strategy = Type.Object({
  name: Type.String({ minLength: 1 }),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
  constraints: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true })))
}, { additionalProperties: true })

const FeaturesFileSchema = Type.Object({
  version: Type.Integer({ minimum: 1 }),
  features: Type.Array(Type.Object({
    name: Type.String({ minLength: 1 }),
    enabled: Type.Boolean(),
    strategies: Type.Optional(Type.Array(Strategy))
  }, { additionalProperties: true })),
  segments: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true })))
}, { additionalProperties: true })

const check = TypeCompiler.Compile(FeaturesFileSchema)

export async function readFeaturesFile (file: string): Promise<ClientFeaturesResponse> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw Object.assign(errors.FLAGS_INVALID(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`), { cause: err })
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (err) {
    throw Object.assign(errors.FLAGS_INVALID(file, `not valid JSON (${(err as Error).message})`), { cause: err })
  }
  if (!check.Check(data)) {
    const first = [...check.Errors(data)].slice(0, 5).map((e) => `${dotted(e.path)}: ${e.message.toLowerCase()}`)
    throw errors.FLAGS_INVALID(file, `not in Unleash's client-features format ({ "version": 2, "features": [...] }): ${first.join('; ')}`)
  }
  const names = new Set<string>()
  for (const f of data.features) {
    if (names.has(f.name)) throw errors.FLAGS_INVALID(file, `the flag ${f.name} is defined twice`)
    names.add(f.name)
    for (const s of f.strategies ?? []) {
      if (s.name !== 'flexibleRollout') continue
      const pct = Number(s.parameters?.rollout)
      if (!Number.isInteger(pct) || pct < 0 || pct > 100) {
        throw errors.FLAGS_INVALID(file, `${f.name}: the flexibleRollout rollout must be an integer from 0 to 100, got ${JSON.stringify(s.parameters?.rollout)}`)
      }
    }
  }
  return data as unknown as ClientFeaturesResponse
}

export async function writeFeaturesFile (file: string, data: ClientFeaturesResponse): Promise<void> {
  await writeJsonAtomic(file, data)
}

/** The percentage a feature sends to new: its flexibleRollout, 100 for an unconditional "default" strategy. */
export function rolloutPercent (feature: FeatureInterface | undefined): number {
  if (feature === undefined || !feature.enabled) return 0
  const strategies = feature.strategies ?? []
  const flexible = strategies.find((s) => s.name === 'flexibleRollout')
  if (flexible !== undefined) return Number(flexible.parameters?.rollout ?? 0)
  return strategies.length === 0 || strategies.some((s) => s.name === 'default' && (s.constraints ?? []).length === 0) ? 100 : 0
}

/** A copy of `feature` whose flexibleRollout strategy is at `percent` (one is added if it has none). */
export function withRolloutPercent (feature: FeatureInterface, percent: number): FeatureInterface {
  const copy = structuredClone(feature)
  copy.enabled = true
  const strategies = copy.strategies ?? []
  const flexible = strategies.find((s) => s.name === 'flexibleRollout')
  if (flexible !== undefined) {
    flexible.parameters = { ...flexible.parameters, rollout: String(percent) }
  } else {
    // A "default" strategy would keep the flag on for everyone; the rollout replaces it.
    copy.strategies = [
      ...strategies.filter((s) => s.name !== 'default'),
      { name: 'flexibleRollout', parameters: { rollout: String(percent), stickiness: 'default', groupId: feature.name }, constraints: [] }
    ]
  }
  return copy
}
