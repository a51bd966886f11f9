// The bytes all shadows in flight may buffer together: the copy of the primary's answer, the shadow's own
// answer and, for a shadowed request with a body, that body. A shadow that cannot reserve what it needs is
// dropped, so a burst of large answers costs comparisons, never the gateway's memory.
export class ByteBudget {
  readonly limit: number
  #used = 0

  constructor (limit: number) {
    this.limit = limit
  }

  get used (): number {
    return this.#used
  }

  tryReserve (bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false
    this.#used += bytes
    return true
  }

  release (bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes)
  }
}
