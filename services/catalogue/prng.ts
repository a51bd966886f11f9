// Seeded randomness for the synthetic catalogue: xoshiro128** (Blackman and Vigna), seeded through a
// splitmix-style mixer. Every stream is keyed by a tuple of integers (the catalogue seed, what the stream is
// for, an item number...), so that item n draws from its own stream and is the same whatever else is made.
// The catalogue uses only 32-bit integer arithmetic, basic arithmetic and Math.sqrt, which IEEE 754 rounds the
// same everywhere, and Math.log and Math.exp, which V8 computes in software (a port of fdlibm) rather than
// with the platform's libm: a seed gives the same bytes on every machine.

const TWO_TO_32 = 4_294_967_296

/** What a stream is for: the second key of every stream the catalogue draws from. */
export const STREAM = { users: 1, space: 2, items: 3 } as const

// A step of the golden-ratio sequence through murmur3's 32-bit finaliser.
function mix32 (x: number): number {
  let z = (x + 0x9e3779b9) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** A 32-bit hash of a tuple of integers (each taken as up to 53 bits). */
export function hashKey (keys: readonly number[]): number {
  let h = 0x2545f491
  for (const k of keys) {
    h = mix32(h ^ (k >>> 0))
    h = mix32(h ^ Math.floor(k / TWO_TO_32))
  }
  return h
}

export class Prng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number
  private spare = Number.NaN

  constructor (...keys: number[]) {
    let h = hashKey(keys)
    h = mix32(h); this.s0 = h
    h = mix32(h); this.s1 = h
    h = mix32(h); this.s2 = h
    h = mix32(h); this.s3 = h | 1
  }

  uint32 (): number {
    const s1 = this.s1
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform in [0, 1). */
  float (): number {
    return this.uint32() / TWO_TO_32
  }

  /** Uniform integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.float() * n)
  }

  chance (p: number): boolean {
    return this.float() < p
  }

  pick<T> (xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T
  }

  /** Standard normal, by Marsaglia's polar method. */
  gaussian (): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare
      this.spare = Number.NaN
      return s
    }
    let u: number, v: number, r: number
    do {
      u = this.float() * 2 - 1
      v = this.float() * 2 - 1
      r = u * u + v * v
    } while (r >= 1 || r === 0)
    const f = Math.sqrt(-2 * Math.log(r) / r)
    this.spare = v * f
    return u * f
  }
}

function rotl (x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** A fixed discrete distribution, picked from in O(log n). */
export class WeightedTable<T> {
  private readonly values: readonly T[]
  private readonly cumulative: Float64Array

  constructor (entries: ReadonlyArray<readonly [T, number]>) {
    if (entries.length === 0) throw new Error('a weighted table needs at least one entry')
    this.values = entries.map(([v]) => v)
    this.cumulative = new Float64Array(entries.length)
    let sum = 0
    entries.forEach(([, w], i) => { sum += w; this.cumulative[i] = sum })
    if (!(sum > 0)) throw new Error('a weighted table needs a positive total weight')
  }

  pick (rng: Prng): T {
    const c = this.cumulative
    const x = rng.float() * (c[c.length - 1] as number)
    let lo = 0
    let hi = c.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (x < (c[mid] as number)) hi = mid
      else lo = mid + 1
    }
    return this.values[lo] as T
  }
}
