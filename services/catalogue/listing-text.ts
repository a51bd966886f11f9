// Titles and descriptions written the way sellers write them: a title of brand, style and garment, and two
// or three sentences of description, sometimes followed by a line of hashtags.
import type { Prng } from './prng.ts'
import type { Condition, Style } from './vocabulary.ts'

export interface ListingWords {
  readonly brand: string | null
  readonly style: Style
  readonly colour: string
  readonly noun: string
  readonly material: string
  readonly condition: Condition
  readonly size: string | null
}

export function listingTitle (rng: Prng, w: ListingWords): string {
  const brand = w.brand ?? ''
  switch (rng.int(4)) {
    case 0: return join([brand, w.style.label, w.noun])
    case 1: return join([brand, w.style.label, w.colour, w.noun])
    case 2: return join([w.style.label, brand, w.noun, `in ${w.colour}`])
    default: return join([w.style.label, w.colour, brand, w.noun])
  }
}

const OPENERS: ReadonlyArray<(w: ListingWords, made: string) => string> = [
  (w, made) => `${w.style.label} ${lower(w.colour)} ${lower(w.noun)}${made}, in ${w.material}.`,
  (w, made) => `Gorgeous ${lower(w.colour)} ${lower(w.noun)}${made} with a real ${lower(w.style.label)} feel.`,
  (w, made) => `Selling my ${lower(w.noun)}${made}, ${lower(w.colour)} ${w.material}, perfect for a ${lower(w.style.label)} look.`,
  (w, made) => `Super cute ${lower(w.style.label)} ${lower(w.noun)}${made} ✨ ${capital(w.material)}, ${lower(w.colour)}.`,
  (w, made) => `${capital(w.material)} ${lower(w.noun)}${made} in ${lower(w.colour)}, such a ${lower(w.style.label)} staple.`
]

const FITS: ReadonlyArray<(size: string) => string> = [
  (size) => `Fits true to size ${size}.`,
  (size) => `Labelled ${size} but fits a little oversized.`,
  (size) => `Size ${size}, measurements on request.`,
  (size) => `Would suit size ${size}, model is 170 cm.`
]

const CLOSERS = [
  'Bundle to save on postage!',
  'Open to reasonable offers.',
  'Fast shipping from Melbourne, usually next day.',
  'No returns, so please ask any questions before buying.',
  'From a smoke-free and pet-free home.',
  'Check out my other listings for more 🖤'
]

export function listingDescription (rng: Prng, w: ListingWords): string {
  const made = w.brand === null ? '' : ` by ${w.brand}`
  const sentences = [rng.pick(OPENERS)(w, made), rng.pick(w.condition.phrases)]
  if (rng.chance(0.6)) sentences.push(w.size !== null && rng.chance(0.5) ? rng.pick(FITS)(w.size) : rng.pick(CLOSERS))
  let text = sentences.join(' ')
  if (rng.chance(0.35)) {
    const tags = [w.style.name, rng.pick(w.style.tags), ...(w.brand === null ? [] : [w.brand])]
    text += '\n\n' + [...new Set(tags.map(hashtag))].join(' ')
  }
  return text
}

function hashtag (word: string): string {
  return '#' + word.normalize('NFD').toLowerCase().replace(/[^a-z0-9]/g, '')
}

function join (parts: string[]): string {
  return parts.filter((p) => p !== '').join(' ')
}

function lower (s: string): string {
  // Acronyms such as Y2K stay as they are.
  return s === s.toUpperCase() ? s : s.toLowerCase()
}

function capital (s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
