// Counters in one-second slots over a sliding window: `width` counters per slot, a slot reused once its
// second has left the window, so memory is fixed by the window's length. The traffic window and the shadow
// mismatch window are both made of it; the clock is the caller's.
export class SlotCounters {
  readonly seconds: number
  readonly width: number
  readonly values: Uint32Array
  readonly #stamps: Float64Array

  constructor (seconds: number, width: number) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError(`a window must be a whole number of seconds, 1 or more, not ${seconds}`)
    this.seconds = seconds
    this.width = width
    this.values = new Uint32Array(seconds * width)
    this.#stamps = new Float64Array(seconds).fill(-1)
  }

  /** Where the current second's counters start in `values`; a slot left from an older second is cleared. */
  current (nowMs: number): number {
    const second = Math.floor(nowMs / 1000)
    const i = second % this.seconds
    if (this.#stamps[i] !== second) {
      this.#stamps[i] = second
      this.values.fill(0, i * this.width, (i + 1) * this.width)
    }
    return i * this.width
  }

  /** Calls `fn` with where each slot of the last `span` seconds starts, the current one included. */
  each (nowMs: number, span: number, fn: (base: number) => void): void {
    const within = Math.min(this.seconds, Math.max(1, Math.ceil(span)))
    const now = Math.floor(nowMs / 1000)
    for (let i = 0; i < this.seconds; i++) {
      const stamp = this.#stamps[i]!
      if (stamp >= 0 && now - stamp < within) fn(i * this.width)
    }
  }
}
