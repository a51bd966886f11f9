// The fields of a route that differ between two answers of the same backend (timestamps, request ids,
// random orderings): a difference there says nothing about the new backend, so it is noise, not a mismatch.
// Bounded: once full, new fields are not learned (and are counted), because what is already learned must
// stay stable for the mismatches and metrics built on it.

export const DEFAULT_NOISE_LIMIT = 200

export interface NoiseField {
  field: string
  /** Comparisons of one backend with itself in which this field differed. */
  timesSeen: number
  firstSeen: string
  lastSeen: string
}

export class NoiseSet {
  readonly limit: number
  readonly #fields = new Map<string, { timesSeen: number, firstSeen: number, lastSeen: number }>()
  #ignoredWhenFull = 0

  constructor (opts: { limit?: number } = {}) {
    this.limit = opts.limit ?? DEFAULT_NOISE_LIMIT
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new RangeError(`limit must be an integer of 1 or more, not ${this.limit}`)
  }

  /**
   * Learns the fields that differed in one comparison of a backend with itself, at `now` (epoch ms). A field
   * listed twice (two array elements) counts once.
   */
  learn (fields: readonly string[], now: number): void {
    for (const field of new Set(fields)) {
      const known = this.#fields.get(field)
      if (known !== undefined) {
        known.timesSeen++
        known.lastSeen = now
      } else if (this.#fields.size < this.limit) {
        this.#fields.set(field, { timesSeen: 1, firstSeen: now, lastSeen: now })
      } else {
        this.#ignoredWhenFull++
      }
    }
  }

  has (field: string): boolean {
    return this.#fields.has(field)
  }

  /** Most seen first, then by name. */
  list (): NoiseField[] {
    return [...this.#fields]
      .map(([field, f]) => ({
        field,
        timesSeen: f.timesSeen,
        firstSeen: new Date(f.firstSeen).toISOString(),
        lastSeen: new Date(f.lastSeen).toISOString()
      }))
      .sort((a, b) => b.timesSeen - a.timesSeen || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0))
  }

  get size (): number {
    return this.#fields.size
  }

  /** New fields not learned because the set was full: one per field per comparison. */
  get ignoredWhenFull (): number {
    return this.#ignoredWhenFull
  }
}
