// The sellers of the synthetic catalogue: a fixed pool per seed, so that item n names the same seller
// however many items are generated.
import { Prng, STREAM } from './prng.ts'
import { CATALOGUE_END, CATALOGUE_START, DAY_MS } from './timeline.ts'

export const USER_COUNT = 2_000

export interface CatalogueUser {
  /** 1-based; the legacy id the loader gives it. */
  readonly id: number
  readonly username: string
  readonly email: string | null
  readonly createdAt: Date
}

const NAMES = ['mia', 'jess', 'liam', 'zoe', 'ruby', 'sam', 'noah', 'chloe', 'ella', 'josh', 'tom', 'grace', 'lucy', 'jack', 'ava', 'harry', 'isla', 'max', 'olivia', 'leo', 'sienna', 'kai', 'matilda', 'finn', 'georgia', 'ollie', 'tahlia', 'archie', 'indi', 'lachlan']
const WORDS = ['vintage', 'thrift', 'closet', 'wardrobe', 'archive', 'finds', 'rack', 'studio', 'store', 'depot', 'picks', 'preloved', 'threads', 'drops', 'edit', 'market']
const DOMAINS = ['example.com', 'example.net', 'example.org']
const NO_EMAIL_SHARE = 0.06
// Sellers joined from a year before the oldest listing until a month before the newest.
const JOINED_FROM = CATALOGUE_START - 365 * DAY_MS
const JOINED_UNTIL = CATALOGUE_END - 30 * DAY_MS

export function catalogueUsers (seed: number, count = USER_COUNT): CatalogueUser[] {
  const rng = new Prng(seed, STREAM.users)
  const taken = new Set<string>()
  const users: CatalogueUser[] = []
  for (let id = 1; id <= count; id++) {
    let username = candidate(rng)
    // A clash gets digits, as the marketplace's own sign-up suggests.
    while (taken.has(username)) username = `${username}${rng.int(10)}`
    taken.add(username)
    const email = rng.chance(NO_EMAIL_SHARE) ? null : `${username}@${rng.pick(DOMAINS)}`
    const joined = JOINED_FROM + rng.int(JOINED_UNTIL - JOINED_FROM)
    users.push(Object.freeze({ id, username, email, createdAt: new Date(joined) }))
  }
  return users
}

function candidate (rng: Prng): string {
  const name = rng.pick(NAMES)
  const word = rng.pick(WORDS)
  switch (rng.int(5)) {
    case 0: return `${name}${word}`
    case 1: return `${name}_${word}`
    case 2: return `${word}by${name}`
    case 3: return `${name}${rng.int(100)}`
    default: return `${name}s_${word}${rng.int(10)}`
  }
}
