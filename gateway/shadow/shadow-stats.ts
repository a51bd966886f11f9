// The shadow results of one route, in memory and bounded: counts by result, the mismatch rate over a
// sliding window (what the rollback rules read), the fields that mismatch, the noise learned, and the latest
// mismatch samples. The clock is injected so that tests need no sleeps.
import { FieldCounts, type FieldCount } from './field-counts.ts'
import { NoiseSet, type NoiseField } from './noise-set.ts'
import { compileRedaction } from './redact.ts'
import { SampleRing, type Sample, type SampleInput } from './sample-ring.ts'
import type { Difference } from './types.ts'
import { SlotCounters } from '../metrics/slot-counters.ts'

export const DEFAULT_WINDOW_SECONDS = 60
/** Error and drop reasons are a small fixed set; this only guards against a caller passing free text. */
export const REASON_LIMIT = 20
const TOP_FIELDS = 10

export type ShadowOutcome =
  | { result: 'match' }
  | { result: 'mismatch', differences: readonly Difference[], sample: SampleInput }
  | { result: 'error', reason: string }
  | { result: 'dropped', reason: string }
export type ShadowResult = ShadowOutcome['result']

export interface ShadowStatsOptions {
  fieldLimit?: number
  noiseLimit?: number
  samples?: { capacity?: number, bodyBytes?: number, totalBytes?: number }
  /** The route's redaction rules (keys or JSON Pointer patterns) for the samples. */
  redact?: readonly string[]
  windowSeconds?: number
  now?: () => number
}

export interface Recorded {
  /** 'match' for a mismatch whose differences were all noise. */
  result: ShadowResult
  /** The bounded label of each distinct mismatching field, for the metrics: 'other' may repeat. */
  mismatchFields: string[]
  /** The distinct noise fields, bounded by the noise set's limit. */
  noiseFields: string[]
}

export interface MismatchRate { rate: number | null, compared: number, mismatched: number }

export interface ShadowSnapshot {
  counts: Record<ShadowResult, number>
  /** Matches over compared, since start; null before the first comparison. */
  matchRate: number | null
  /** Matches that had differences, all of them noise. */
  matchesWithNoise: number
  window: MismatchRate & { seconds: number }
  topFields: FieldCount[]
  /** `absorbed`: the comparisons in which this field's difference was counted as noise. */
  noiseFields: Array<NoiseField & { absorbed: number }>
  noiseIgnoredWhenFull: number
  drops: Record<string, number>
  errors: Record<string, number>
  samples: { stored: number, bytes: number, oversize: number }
}

export class ShadowStats {
  readonly #now: () => number
  readonly #window: CompareWindow
  readonly #fields: FieldCounts
  readonly #noise: NoiseSet
  readonly #absorbed = new Map<string, number>() // keys are noise set members, so bounded by it
  readonly #samples: SampleRing
  readonly #drops = new FieldCounts({ limit: REASON_LIMIT })
  readonly #errors = new FieldCounts({ limit: REASON_LIMIT })
  readonly #counts: Record<ShadowResult, number> = { match: 0, mismatch: 0, error: 0, dropped: 0 }
  #matchesWithNoise = 0

  constructor (opts: ShadowStatsOptions = {}) {
    this.#now = opts.now ?? Date.now
    this.#window = new CompareWindow(opts.windowSeconds ?? DEFAULT_WINDOW_SECONDS, this.#now)
    this.#fields = new FieldCounts({ limit: opts.fieldLimit })
    this.#noise = new NoiseSet({ limit: opts.noiseLimit })
    this.#samples = new SampleRing({ ...opts.samples, redactor: compileRedaction(opts.redact ?? []), now: this.#now })
  }

  /** Splits differences by whether their field is learned noise. */
  classify (differences: readonly Difference[]): { mismatches: Difference[], noise: Difference[] } {
    const mismatches: Difference[] = []
    const noise: Difference[] = []
    for (const d of differences) (this.#noise.has(d.field) ? noise : mismatches).push(d)
    return { mismatches, noise }
  }

  /**
   * Learns as noise the fields that differed between two answers of the same backend. Not 'status': two
   * statuses of one backend that differ are a failure, and learning it would hide every status mismatch.
   */
  learnNoise (differences: readonly Difference[]): void {
    this.#noise.learn(differences.map((d) => d.field).filter((f) => f !== 'status'), this.#now())
  }

  record (outcome: ShadowOutcome): Recorded {
    const recorded: Recorded = { result: outcome.result, mismatchFields: [], noiseFields: [] }
    if (outcome.result === 'error' || outcome.result === 'dropped') {
      (outcome.result === 'error' ? this.#errors : this.#drops).add(outcome.reason)
    } else if (outcome.result === 'match') {
      this.#window.add(false)
    } else {
      const { mismatches, noise } = this.classify(outcome.differences)
      recorded.noiseFields = [...new Set(noise.map((d) => d.field))]
      for (const f of recorded.noiseFields) this.#absorbed.set(f, (this.#absorbed.get(f) ?? 0) + 1)
      if (mismatches.length === 0) {
        recorded.result = 'match'
        if (noise.length > 0) this.#matchesWithNoise++
      } else {
        // Each field counts once per comparison: "in how many comparisons did this field differ".
        recorded.mismatchFields = [...new Set(mismatches.map((d) => d.field))].map((f) => this.#fields.add(f))
        this.#samples.add(outcome.sample, mismatches, recorded.noiseFields)
      }
      this.#window.add(recorded.result === 'mismatch')
    }
    this.#counts[recorded.result]++
    return recorded
  }

  /** Over the last `windowSeconds` (at most the configured window); errors and drops are not compared. */
  mismatchRate (windowSeconds?: number): MismatchRate {
    const { compared, mismatched } = this.#window.totals(windowSeconds ?? this.#window.seconds)
    return { rate: compared === 0 ? null : mismatched / compared, compared, mismatched }
  }

  snapshot (): ShadowSnapshot {
    const compared = this.#counts.match + this.#counts.mismatch
    return {
      counts: { ...this.#counts },
      matchRate: compared === 0 ? null : this.#counts.match / compared,
      matchesWithNoise: this.#matchesWithNoise,
      window: { seconds: this.#window.seconds, ...this.mismatchRate() },
      topFields: this.#fields.top(TOP_FIELDS),
      noiseFields: this.#noise.list().map((n) => ({ ...n, absorbed: this.#absorbed.get(n.field) ?? 0 })),
      noiseIgnoredWhenFull: this.#noise.ignoredWhenFull,
      drops: Object.fromEntries(this.#drops.top().map((c) => [c.field, c.count])),
      errors: Object.fromEntries(this.#errors.top().map((c) => [c.field, c.count])),
      samples: { stored: this.#samples.length, bytes: this.#samples.bytes, oversize: this.#samples.oversize }
    }
  }

  /** Newest first. */
  samples (): Sample[] {
    return this.#samples.list()
  }

  /** The label a field is counted under in the metrics: itself, or 'other'. */
  fieldLabel (field: string): string {
    return this.#fields.labelFor(field)
  }
}

// Compared and mismatched counts per second (slot: compared, mismatched).
class CompareWindow {
  readonly seconds: number
  readonly #now: () => number
  readonly #slots: SlotCounters

  constructor (seconds: number, now: () => number) {
    this.seconds = seconds
    this.#now = now
    this.#slots = new SlotCounters(seconds, 2)
  }

  add (mismatch: boolean): void {
    const base = this.#slots.current(this.#now())
    this.#slots.values[base]!++
    if (mismatch) this.#slots.values[base + 1]!++
  }

  /** The last `seconds` seconds, the current one included; clamped to 1..the window (NaN: the window). */
  totals (seconds: number): { compared: number, mismatched: number } {
    let compared = 0
    let mismatched = 0
    this.#slots.each(this.#now(), Number.isNaN(seconds) ? this.seconds : seconds, (base) => {
      compared += this.#slots.values[base]!
      mismatched += this.#slots.values[base + 1]!
    })
    return { compared, mismatched }
  }
}
