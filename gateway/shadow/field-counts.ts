// Counts by name with a bounded number of names: the mismatching fields of a route (and the reasons its
// shadows failed or were dropped). The first `limit` names seen keep their own count for good, and every
// later one counts as 'other'. Names are never evicted or re-admitted, because each one is also a
// Prometheus label: a counter that moved to 'other' and back would go backwards, which rate() reads as a
// reset.

export const DEFAULT_FIELD_LIMIT = 50
/** A field is 'status', 'header:<name>' or a JSON Pointer ('' or starting with '/'), so never this. */
export const OTHER = 'other'

export interface FieldCount { field: string, count: number }

export class FieldCounts {
  readonly limit: number
  readonly #counts = new Map<string, number>()
  #other = 0

  constructor (opts: { limit?: number } = {}) {
    this.limit = opts.limit ?? DEFAULT_FIELD_LIMIT
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new RangeError(`limit must be an integer of 1 or more, not ${this.limit}`)
  }

  /** Counts one more for `field` and returns the label it was counted under. */
  add (field: string): string {
    const count = this.#counts.get(field)
    if (count !== undefined) {
      this.#counts.set(field, count + 1)
      return field
    }
    if (field !== OTHER && this.#counts.size < this.limit) {
      this.#counts.set(field, 1)
      return field
    }
    this.#other++
    return OTHER
  }

  /** The field itself if it has its own count, else 'other'. */
  labelFor (field: string): string {
    return this.#counts.has(field) ? field : OTHER
  }

  /** The `n` largest counts, 'other' included, by count then by name, so that ties list the same way. */
  top (n = Infinity): FieldCount[] {
    const all = [...this.#counts].map(([field, count]) => ({ field, count }))
    if (this.#other > 0) all.push({ field: OTHER, count: this.#other })
    all.sort((a, b) => b.count - a.count || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0))
    return all.slice(0, n)
  }

  /** How many labels have a count: at most limit + 1 (with 'other'). */
  get size (): number {
    return this.#counts.size + (this.#other > 0 ? 1 : 0)
  }
}
