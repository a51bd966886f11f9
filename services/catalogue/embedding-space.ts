// Image embeddings that behave like CLIP's: every photo of a garment shares a common direction, items of a
// category sit around that category's centroid, garment types and styles pull them further apart, and
// every item has its own noise, so neighbours are close but never identical and approximate search has
// something to get wrong.
//
// An item's vector is a weighted sum of unit directions (global, family of categories, category, garment
// type, style, style within the category) plus Gaussian noise, normalised. Random directions in 768
// dimensions are nearly orthogonal, so the expected cosine of two items is the sum of the squared weights they
// share: about 0.72 for the same garment type and style, 0.5 within a category, 0.3 between categories of
// one family (tops and shirts), 0.2 otherwise, and 0.07 more in the same style.
import { Prng, STREAM } from './prng.ts'

export const DIMENSIONS = 768

const SHARE = { global: 0.2, family: 0.1, category: 0.2, noun: 0.08, style: 0.07, categoryStyle: 0.07, noise: 0.28 }
const W = {
  global: Math.sqrt(SHARE.global),
  family: Math.sqrt(SHARE.family),
  category: Math.sqrt(SHARE.category),
  noun: Math.sqrt(SHARE.noun),
  style: Math.sqrt(SHARE.style),
  categoryStyle: Math.sqrt(SHARE.categoryStyle),
  // The noise has unit expected length once scaled by 1/sqrt(dimensions).
  noise: Math.sqrt(SHARE.noise / DIMENSIONS)
}
const KIND = { global: 1, category: 2, noun: 3, style: 4, categoryStyle: 5, family: 6 } as const

export interface SpaceShape {
  /** The family of each category, as a number. */
  readonly families: readonly number[]
  /** The number of garment types of each category. */
  readonly nouns: readonly number[]
  readonly styles: number
}

export class EmbeddingSpace {
  private readonly global: Float64Array
  /** By category: its family's direction. */
  private readonly families: Float64Array[]
  private readonly categories: Float64Array[]
  private readonly nouns: Float64Array[][]
  private readonly styles: Float64Array[]
  private readonly categoryStyles: Float64Array[][]
  private readonly sum = new Float64Array(DIMENSIONS)

  constructor (seed: number, shape: SpaceShape) {
    const dir = (...key: number[]) => direction(new Prng(seed, STREAM.space, ...key))
    this.global = dir(KIND.global)
    this.families = shape.families.map((f) => dir(KIND.family, f))
    this.categories = shape.nouns.map((_, c) => dir(KIND.category, c))
    this.nouns = shape.nouns.map((n, c) => Array.from({ length: n }, (_, k) => dir(KIND.noun, c, k)))
    this.styles = Array.from({ length: shape.styles }, (_, s) => dir(KIND.style, s))
    this.categoryStyles = shape.nouns.map((_, c) => Array.from({ length: shape.styles }, (_, s) => dir(KIND.categoryStyle, c, s)))
  }

  /** A unit vector whose components are exact float32 values, drawing its noise from rng. */
  embed (rng: Prng, category: number, noun: number, style: number): number[] {
    const g = this.global
    const f = this.families[category]
    const c = this.categories[category]
    const n = this.nouns[category]?.[noun]
    const s = this.styles[style]
    const cs = this.categoryStyles[category]?.[style]
    if (f === undefined || c === undefined || n === undefined || s === undefined || cs === undefined) {
      throw new RangeError(`no direction for category ${category}, garment type ${noun}, style ${style}`)
    }
    const v = this.sum
    let norm = 0
    for (let i = 0; i < DIMENSIONS; i++) {
      const x = W.global * (g[i] as number) + W.family * (f[i] as number) + W.category * (c[i] as number) + W.noun * (n[i] as number) +
        W.style * (s[i] as number) + W.categoryStyle * (cs[i] as number) + W.noise * rng.gaussian()
      v[i] = x
      norm += x * x
    }
    norm = Math.sqrt(norm)
    const out = new Array<number>(DIMENSIONS)
    for (let i = 0; i < DIMENSIONS; i++) out[i] = Math.fround((v[i] as number) / norm)
    return out
  }
}

function direction (rng: Prng): Float64Array {
  const v = new Float64Array(DIMENSIONS)
  let norm = 0
  for (let i = 0; i < DIMENSIONS; i++) {
    const x = rng.gaussian()
    v[i] = x
    norm += x * x
  }
  norm = Math.sqrt(norm)
  for (let i = 0; i < DIMENSIONS; i++) v[i] = (v[i] as number) / norm
  return v
}
