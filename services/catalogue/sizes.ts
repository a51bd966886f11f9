// Sizes as sellers write them: letter sizes for most clothing, UK dress sizes, waist (and leg) for denim,
// UK or EU shoe sizes, and "One size" for bags and hats.
import { type Prng, WeightedTable } from './prng.ts'
import type { Sizing } from './vocabulary.ts'

const LETTER = new WeightedTable<string>([['XS', 8], ['S', 22], ['M', 30], ['L', 22], ['XL', 12], ['XXL', 6]])
const UK_DRESS = new WeightedTable<string>([['UK 6', 8], ['UK 8', 18], ['UK 10', 26], ['UK 12', 24], ['UK 14', 16], ['UK 16', 8]])
const WAIST = new WeightedTable<number>([[24, 5], [26, 12], [28, 18], [30, 20], [32, 18], [34, 14], [36, 8], [38, 5]])
const LEG = [30, 32, 34] as const
const UK_SHOE = new WeightedTable<number>([[3, 3], [4, 8], [5, 11], [6, 12], [7, 13], [8, 13], [9, 12], [10, 11], [11, 8], [12, 5]])

/** The share of listings that leave the size out. */
const NO_SIZE_SHARE = 0.02

export function pickSize (rng: Prng, sizing: Sizing): string | null {
  if (rng.chance(NO_SIZE_SHARE)) return null
  switch (sizing) {
    case 'letter':
      return LETTER.pick(rng)
    case 'letter-or-uk':
      return rng.chance(0.6) ? LETTER.pick(rng) : UK_DRESS.pick(rng)
    case 'waist-or-letter':
      if (rng.chance(0.3)) return LETTER.pick(rng)
      return waist(rng)
    case 'waist':
      return waist(rng)
    case 'shoe': {
      const uk = UK_SHOE.pick(rng) + (rng.chance(0.3) ? 0.5 : 0)
      // EU sizes run about 33 above UK ones; sellers round them to whole numbers.
      return rng.chance(0.6) ? `UK ${uk}` : `EU ${Math.round(uk + 33)}`
    }
    case 'one-size':
      return rng.chance(0.85) ? 'One size' : rng.pick(['S', 'M', 'L'])
  }
}

function waist (rng: Prng): string {
  const w = `W${WAIST.pick(rng)}`
  return rng.chance(0.5) ? `${w} L${rng.pick(LEG)}` : w
}
