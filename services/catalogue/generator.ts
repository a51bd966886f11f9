// The deterministic synthetic catalogue that stands in for the real Depop data: item n is a function of the
// seed and n alone, so the same seed gives the same bytes, and a smaller catalogue is a prefix of a larger
// one. Items are made one at a time as they are iterated; nothing holds the whole catalogue.
import { BRANDS, type Brand, UNBRANDED_SHARE } from './brands.ts'
import { EmbeddingSpace } from './embedding-space.ts'
import { listingDescription, listingTitle, type ListingWords } from './listing-text.ts'
import { hashKey, Prng, STREAM, WeightedTable } from './prng.ts'
import { pickSize } from './sizes.ts'
import { CATALOGUE_END, CATALOGUE_START } from './timeline.ts'
import { catalogueUsers, type CatalogueUser } from './users.ts'
import { CATEGORIES, COLOURS, CONDITIONS, STYLES } from './vocabulary.ts'

export const DEFAULT_SEED = 20240501
export const DEFAULT_COUNT = 25_677

export interface CatalogueOptions {
  seed?: number
  count?: number
}

export interface CatalogueItem {
  /** 1-based position in the catalogue; the legacy id the loader gives it. */
  readonly id: number
  readonly depopId: string
  readonly sellerId: number
  readonly seller: CatalogueUser
  readonly title: string
  readonly description: string
  readonly category: string
  /** Not a legacy column: the style the title and the embedding were made from. */
  readonly style: string
  readonly condition: string
  readonly size: string | null
  readonly brand: string | null
  /** Numeric text with two decimals, as Postgres returns numeric(10, 2): "34.00". */
  readonly price: string
  readonly imageUrl: string
  readonly listingUrl: string
  /** 768 components, unit length, each an exact float32 value. */
  readonly embedding: number[]
  readonly createdAt: Date
  readonly updatedAt: Date
}

// The share of listings never edited after they were posted.
const NEVER_EDITED_SHARE = 0.55
// How unevenly listings fall on sellers: seller k's share falls off like k^(1/SKEW - 1).
const SELLER_SKEW = 1.5
const PRICE_SPREAD = 0.35
const UNBRANDED_TIER = 0.75

export function generateCatalogue ({ seed = DEFAULT_SEED, count = DEFAULT_COUNT }: CatalogueOptions = {}): Iterable<CatalogueItem> {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`the catalogue seed must be a safe integer, got ${seed}`)
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`the catalogue count must be a whole number ≥ 0, got ${count}`)
  const model = new CatalogueModel(seed)
  return {
    * [Symbol.iterator] () {
      for (let n = 1; n <= count; n++) yield model.item(n)
    }
  }
}

class CatalogueModel {
  private readonly users: CatalogueUser[]
  private readonly space: EmbeddingSpace
  private readonly tag: string
  private readonly categories = new WeightedTable(CATEGORIES.map((c, i) => [i, c.weight] as const))
  private readonly styles = new WeightedTable(STYLES.map((s, i) => [i, s.weight] as const))
  private readonly conditions = new WeightedTable(CONDITIONS.map((c) => [c, c.weight] as const))
  /** By category, then style: the brands that make the category, favouring those of the style. */
  private readonly brands: Array<Array<WeightedTable<Brand>>>

  constructor (private readonly seed: number) {
    this.users = catalogueUsers(seed)
    const families = [...new Set(CATEGORIES.map((c) => c.family))]
    this.space = new EmbeddingSpace(seed, {
      families: CATEGORIES.map((c) => families.indexOf(c.family)),
      nouns: CATEGORIES.map((c) => c.nouns.length),
      styles: STYLES.length
    })
    this.tag = hashKey([seed]).toString(36)
    this.brands = CATEGORIES.map((c) => STYLES.map((s) => new WeightedTable(
      BRANDS.filter((b) => b.only === undefined || b.only.includes(c.name))
        .map((b) => [b, b.styles.includes(s.name) ? 10 : 1] as const)
    )))
  }

  item (n: number): CatalogueItem {
    const rng = new Prng(this.seed, STREAM.items, n)
    const c = this.categories.pick(rng)
    const s = this.styles.pick(rng)
    const category = CATEGORIES[c]!
    const style = STYLES[s]!
    const noun = rng.int(category.nouns.length)
    const brand = rng.chance(UNBRANDED_SHARE) ? null : this.brands[c]![s]!.pick(rng)
    const condition = this.conditions.pick(rng)
    const words: ListingWords = {
      brand: brand?.name ?? null,
      style,
      colour: rng.chance(0.7) ? rng.pick(style.colours) : rng.pick(COLOURS),
      noun: category.nouns[noun]!,
      material: rng.pick(category.materials),
      condition,
      size: pickSize(rng, category.sizing)
    }
    const seller = this.users[Math.floor(this.users.length * rng.float() ** SELLER_SKEW)]!
    const from = Math.max(CATALOGUE_START, seller.createdAt.getTime())
    const created = from + rng.int(CATALOGUE_END - from)
    const updated = rng.chance(NEVER_EDITED_SHARE) ? created : created + rng.int(CATALOGUE_END - created + 1)
    const raw = category.basePrice * (brand?.tier ?? UNBRANDED_TIER) * condition.priceFactor * Math.exp(PRICE_SPREAD * rng.gaussian())
    const title = listingTitle(rng, words)
    const depopId = `dp-${this.tag}-${n}`
    const slug = `${seller.username.replace(/_/g, '-')}-${slugOf(title)}-${rng.uint32().toString(16).padStart(8, '0').slice(0, 4)}`
    return {
      id: n,
      depopId,
      sellerId: seller.id,
      seller,
      title,
      description: listingDescription(rng, words),
      category: category.name,
      style: style.name,
      condition: condition.name,
      size: words.size,
      brand: words.brand,
      price: priceText(rng, raw),
      imageUrl: `https://example-cdn.test/depop/${depopId}/P0.jpg`,
      listingUrl: `https://www.depop.com/products/${slug}/`,
      embedding: this.space.embed(rng, c, noun, s),
      createdAt: new Date(created),
      updatedAt: new Date(updated)
    }
  }
}

/** Sellers ask whole dollars, sometimes .50, sometimes just under a round number. */
function priceText (rng: Prng, raw: number): string {
  const dollars = Math.max(5, Math.round(raw))
  const ending = rng.float()
  if (ending < 0.1) return `${dollars - 1}.99`
  if (ending < 0.2) return `${dollars}.50`
  return `${dollars}.00`
}

function slugOf (text: string): string {
  return text.normalize('NFD').toLowerCase().replace(/[\u0300-\u036f']/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')
}
