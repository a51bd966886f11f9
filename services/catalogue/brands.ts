// Brands of the synthetic catalogue. A brand sells in some categories only (nobody lists Dr. Martens
// jeans), leans towards some styles, and sets a price level relative to a mid-range label.

export interface Brand {
  readonly name: string
  /** Price level: 1 is mid-range high street. */
  readonly tier: number
  readonly styles: readonly string[]
  /** The categories it makes, or every category when absent. */
  readonly only?: readonly string[]
}

const ATHLETIC = ['tops', 't-shirts', 'jumpers', 'jackets', 'trousers', 'shoes', 'accessories']
const DENIM = ['jeans', 'jackets', 'shirts', 't-shirts', 'skirts']
const SKATE = ['t-shirts', 'jumpers', 'jackets', 'trousers', 'shirts', 'accessories']
const OUTDOOR = ['jackets', 'coats', 'jumpers', 'accessories']
const DRESSY = ['tops', 'dresses', 'skirts', 'jumpers']

export const BRANDS: readonly Brand[] = [
  { name: 'Nike', tier: 1.1, styles: ['sporty', 'streetwear'], only: ATHLETIC },
  { name: 'Adidas', tier: 1, styles: ['sporty', 'streetwear', 'y2k'], only: ATHLETIC },
  { name: 'Fila', tier: 0.8, styles: ['sporty', 'y2k'], only: ['t-shirts', 'jumpers', 'shoes', 'jackets'] },
  { name: 'Champion', tier: 0.9, styles: ['sporty', 'vintage', 'streetwear'], only: ['t-shirts', 'jumpers', 'trousers'] },
  { name: 'Lululemon', tier: 1.3, styles: ['sporty', 'minimalist'], only: ['tops', 'trousers', 'jumpers', 'jackets'] },
  { name: 'New Balance', tier: 1.2, styles: ['sporty', 'minimalist'], only: ['shoes'] },
  { name: 'Carhartt', tier: 1.3, styles: ['workwear', 'streetwear'], only: ['t-shirts', 'shirts', 'jumpers', 'jackets', 'coats', 'jeans', 'trousers', 'accessories'] },
  { name: 'Dickies', tier: 0.9, styles: ['workwear', 'streetwear'], only: ['t-shirts', 'shirts', 'jackets', 'trousers', 'jeans'] },
  { name: 'Levi\'s', tier: 1.1, styles: ['vintage', 'workwear'], only: DENIM },
  { name: 'Wrangler', tier: 0.9, styles: ['vintage', 'workwear'], only: DENIM },
  { name: 'Lee', tier: 0.85, styles: ['vintage'], only: DENIM },
  { name: 'R.M. Williams', tier: 2.2, styles: ['workwear', 'preppy'], only: ['shoes', 'shirts', 'jeans'] },
  { name: 'Barbour', tier: 2, styles: ['workwear', 'preppy'], only: ['jackets', 'coats'] },
  { name: 'The North Face', tier: 1.4, styles: ['streetwear', 'sporty', 'workwear'], only: OUTDOOR },
  { name: 'Patagonia', tier: 1.5, styles: ['workwear', 'sporty', 'minimalist'], only: OUTDOOR },
  { name: 'Kathmandu', tier: 0.9, styles: ['sporty', 'workwear'], only: OUTDOOR },
  { name: 'Ralph Lauren', tier: 1.4, styles: ['preppy', 'vintage'], only: ['shirts', 'jumpers', 't-shirts', 'jackets', 'trousers', 'tops'] },
  { name: 'Tommy Hilfiger', tier: 1.1, styles: ['preppy', 'vintage', 'sporty'], only: ['shirts', 'jumpers', 't-shirts', 'jackets', 'trousers', 'accessories'] },
  { name: 'Lacoste', tier: 1.2, styles: ['preppy', 'sporty'], only: ['shirts', 't-shirts', 'jumpers', 'jackets', 'shoes'] },
  { name: 'Country Road', tier: 0.9, styles: ['preppy', 'minimalist'] },
  { name: 'Burberry', tier: 3.5, styles: ['preppy', 'vintage'], only: ['coats', 'accessories', 'shirts'] },
  { name: 'Stüssy', tier: 1.4, styles: ['streetwear'], only: SKATE },
  { name: 'Supreme', tier: 1.8, styles: ['streetwear'], only: ['t-shirts', 'jumpers', 'jackets', 'accessories'] },
  { name: 'Palace', tier: 1.6, styles: ['streetwear'], only: ['t-shirts', 'jumpers', 'jackets', 'trousers'] },
  { name: 'Vans', tier: 0.9, styles: ['streetwear', 'vintage'], only: ['shoes', 't-shirts', 'accessories'] },
  { name: 'Converse', tier: 0.9, styles: ['vintage', 'streetwear'], only: ['shoes'] },
  { name: 'Dr. Martens', tier: 1.5, styles: ['vintage', 'streetwear'], only: ['shoes'] },
  { name: 'Diesel', tier: 1.3, styles: ['y2k', 'streetwear'], only: ['jeans', 'jackets', 't-shirts', 'accessories'] },
  { name: 'Ed Hardy', tier: 0.9, styles: ['y2k'], only: ['t-shirts', 'tops', 'jumpers', 'accessories'] },
  { name: 'Juicy Couture', tier: 1, styles: ['y2k'], only: ['trousers', 'jumpers', 'tops', 'accessories'] },
  { name: 'Miu Miu', tier: 4, styles: ['y2k', 'preppy'], only: ['skirts', 'tops', 'accessories', 'shoes'] },
  { name: 'Brandy Melville', tier: 0.7, styles: ['y2k', 'minimalist'], only: ['tops', 't-shirts', 'skirts', 'jumpers', 'dresses'] },
  { name: 'Princess Polly', tier: 0.7, styles: ['y2k', 'boho'], only: DRESSY },
  { name: 'Urban Outfitters', tier: 0.8, styles: ['y2k', 'vintage', 'boho'] },
  { name: 'Free People', tier: 1.2, styles: ['boho'], only: ['tops', 'dresses', 'skirts', 'jumpers', 'jeans'] },
  { name: 'Spell', tier: 1.5, styles: ['boho'], only: DRESSY },
  { name: 'Gorman', tier: 1, styles: ['boho'], only: DRESSY },
  { name: 'Zimmermann', tier: 3, styles: ['boho', 'preppy'], only: ['dresses', 'skirts', 'tops'] },
  { name: 'Zara', tier: 0.7, styles: ['minimalist', 'y2k'] },
  { name: 'H&M', tier: 0.5, styles: ['minimalist'] },
  { name: 'Uniqlo', tier: 0.6, styles: ['minimalist'] },
  { name: 'COS', tier: 1, styles: ['minimalist'] },
  { name: 'Arket', tier: 1, styles: ['minimalist', 'workwear'] },
  { name: 'Acne Studios', tier: 2.5, styles: ['minimalist'], only: ['jeans', 'jumpers', 'jackets', 'coats', 't-shirts', 'accessories'] }
]

/** The share of listings that name no brand. */
export const UNBRANDED_SHARE = 0.16
