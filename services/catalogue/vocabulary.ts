// The words the synthetic catalogue is made of. Weights are relative shares, chosen to look like a
// second-hand fashion marketplace: tops and denim are common, coats and bags rarer, most items are used.

export type Sizing = 'letter' | 'letter-or-uk' | 'waist' | 'waist-or-letter' | 'shoe' | 'one-size'

export interface Category {
  readonly name: string
  /** Garments worn alike look alike: a photo of a shirt is closer to a T-shirt than to a boot. */
  readonly family: string
  readonly weight: number
  readonly nouns: readonly string[]
  readonly materials: readonly string[]
  readonly sizing: Sizing
  /** Typical asking price in AUD for a mid-range brand in excellent used condition. */
  readonly basePrice: number
}

export const CATEGORIES: readonly Category[] = [
  { name: 'tops', family: 'upper', weight: 13, sizing: 'letter', basePrice: 22, nouns: ['Crop Top', 'Tank Top', 'Blouse', 'Cami Top', 'Corset Top', 'Halter Top', 'Long Sleeve Top', 'Bodysuit'], materials: ['cotton', 'satin', 'ribbed knit', 'mesh', 'linen'] },
  { name: 't-shirts', family: 'upper', weight: 12, sizing: 'letter', basePrice: 20, nouns: ['T-Shirt', 'Graphic Tee', 'Band Tee', 'Baby Tee', 'Ringer Tee', 'Oversized Tee'], materials: ['cotton', 'heavyweight cotton', 'jersey', 'organic cotton'] },
  { name: 'shirts', family: 'upper', weight: 7, sizing: 'letter', basePrice: 28, nouns: ['Button-Up Shirt', 'Flannel Shirt', 'Oxford Shirt', 'Denim Shirt', 'Hawaiian Shirt', 'Polo Shirt'], materials: ['cotton', 'flannel', 'linen', 'chambray', 'viscose'] },
  { name: 'jumpers', family: 'upper', weight: 10, sizing: 'letter', basePrice: 35, nouns: ['Jumper', 'Knit Sweater', 'Hoodie', 'Sweatshirt', 'Cardigan', 'Quarter-Zip', 'Fleece'], materials: ['wool', 'cotton fleece', 'merino', 'cable knit', 'mohair blend'] },
  { name: 'jackets', family: 'outerwear', weight: 9, sizing: 'letter', basePrice: 55, nouns: ['Denim Jacket', 'Bomber Jacket', 'Track Jacket', 'Leather Jacket', 'Windbreaker', 'Puffer Jacket', 'Chore Jacket', 'Varsity Jacket'], materials: ['denim', 'leather', 'nylon', 'cotton canvas', 'suede'] },
  { name: 'coats', family: 'outerwear', weight: 4, sizing: 'letter', basePrice: 75, nouns: ['Trench Coat', 'Wool Coat', 'Parka', 'Peacoat', 'Faux Fur Coat', 'Duffle Coat'], materials: ['wool', 'gabardine', 'faux fur', 'cotton twill', 'tweed'] },
  { name: 'jeans', family: 'lower', weight: 10, sizing: 'waist', basePrice: 40, nouns: ['Straight Leg Jeans', 'Baggy Jeans', 'Mom Jeans', 'Flared Jeans', 'Skinny Jeans', 'Carpenter Jeans', 'Low Rise Jeans'], materials: ['rigid denim', 'stretch denim', 'washed denim', 'selvedge denim'] },
  { name: 'trousers', family: 'lower', weight: 7, sizing: 'waist-or-letter', basePrice: 35, nouns: ['Cargo Trousers', 'Tailored Trousers', 'Track Pants', 'Wide Leg Trousers', 'Chinos', 'Parachute Pants', 'Corduroy Trousers'], materials: ['cotton twill', 'corduroy', 'nylon', 'wool blend', 'linen'] },
  { name: 'skirts', family: 'lower', weight: 6, sizing: 'letter-or-uk', basePrice: 25, nouns: ['Mini Skirt', 'Midi Skirt', 'Maxi Skirt', 'Pleated Skirt', 'Denim Skirt', 'Slip Skirt'], materials: ['satin', 'denim', 'cotton', 'tartan wool', 'chiffon'] },
  { name: 'dresses', family: 'dresses', weight: 9, sizing: 'letter-or-uk', basePrice: 40, nouns: ['Slip Dress', 'Midi Dress', 'Maxi Dress', 'Mini Dress', 'Sundress', 'Knit Dress', 'Shirt Dress'], materials: ['satin', 'linen', 'cotton', 'chiffon', 'knit'] },
  { name: 'shoes', family: 'shoes', weight: 8, sizing: 'shoe', basePrice: 60, nouns: ['Trainers', 'Boots', 'Loafers', 'Platform Sneakers', 'Mary Janes', 'Sandals', 'Knee High Boots', 'Skate Shoes'], materials: ['leather', 'suede', 'canvas', 'patent leather', 'mesh'] },
  { name: 'accessories', family: 'accessories', weight: 5, sizing: 'one-size', basePrice: 25, nouns: ['Tote Bag', 'Shoulder Bag', 'Crossbody Bag', 'Backpack', 'Baseball Cap', 'Beanie', 'Belt', 'Scarf', 'Sunglasses'], materials: ['leather', 'canvas', 'nylon', 'wool', 'faux leather'] }
]

export interface Style {
  readonly name: string
  /** How the style reads in a title. */
  readonly label: string
  readonly weight: number
  readonly colours: readonly string[]
  readonly tags: readonly string[]
}

export const STYLES: readonly Style[] = [
  { name: 'vintage', label: 'Vintage', weight: 22, colours: ['Washed Black', 'Faded Blue', 'Burgundy', 'Mustard', 'Forest Green'], tags: ['vintage', '90s', 'retro', 'thrifted'] },
  { name: 'streetwear', label: 'Streetwear', weight: 18, colours: ['Black', 'Olive', 'Charcoal', 'Orange', 'Camo'], tags: ['streetwear', 'skate', 'oversized', 'hypebeast'] },
  { name: 'y2k', label: 'Y2K', weight: 15, colours: ['Baby Pink', 'Baby Blue', 'Silver', 'Lilac', 'Hot Pink'], tags: ['y2k', '2000s', 'mcbling', 'cybery2k'] },
  { name: 'minimalist', label: 'Minimalist', weight: 12, colours: ['Black', 'White', 'Grey', 'Beige', 'Navy'], tags: ['minimalist', 'capsulewardrobe', 'basics', 'scandi'] },
  { name: 'workwear', label: 'Workwear', weight: 8, colours: ['Brown', 'Tan', 'Khaki', 'Navy', 'Duck Canvas'], tags: ['workwear', 'utility', 'heritage', 'gorpcore'] },
  { name: 'boho', label: 'Boho', weight: 9, colours: ['Cream', 'Rust', 'Floral', 'Sage', 'Paisley'], tags: ['boho', 'festival', 'cottagecore', 'hippie'] },
  { name: 'sporty', label: 'Sporty', weight: 9, colours: ['Navy', 'Red', 'White', 'Royal Blue', 'Black'], tags: ['sporty', 'athleisure', 'gym', 'blokecore'] },
  { name: 'preppy', label: 'Preppy', weight: 7, colours: ['Navy', 'Cream', 'Bottle Green', 'Tartan', 'Pastel Yellow'], tags: ['preppy', 'oldmoney', 'collegiate', 'ivyleague'] }
]

/** Colours any style may use besides its own. */
export const COLOURS: readonly string[] = ['Black', 'White', 'Grey', 'Blue', 'Red', 'Green', 'Brown', 'Pink', 'Purple', 'Yellow', 'Cream', 'Denim Blue']

export interface Condition {
  readonly name: string
  readonly weight: number
  /** Asking price relative to excellent used condition. */
  readonly priceFactor: number
  readonly phrases: readonly string[]
}

export const CONDITIONS: readonly Condition[] = [
  { name: 'brand new', weight: 8, priceFactor: 1.3, phrases: ['Brand new with tags, never worn.', 'New without tags, it just never got worn.', 'Brand new, still in the original packaging.'] },
  { name: 'like new', weight: 20, priceFactor: 1.12, phrases: ['Worn once or twice, no signs of wear at all.', 'Like new, only tried on.', 'Barely worn and kept in perfect condition.'] },
  { name: 'used - excellent', weight: 37, priceFactor: 1, phrases: ['In excellent used condition with no flaws.', 'Gently worn, still in great shape.', 'Excellent condition, washed and ready to go.'] },
  { name: 'used - good', weight: 26, priceFactor: 0.82, phrases: ['Some light wear from use, see photos.', 'Good used condition, slight fading from washing.', 'Well loved but plenty of life left in it.'] },
  { name: 'used - fair', weight: 9, priceFactor: 0.62, phrases: ['Has a small mark on the front, priced to reflect.', 'Fair condition: some pilling and a loose thread, see the last photo.', 'Visible wear and fading, which suits the look.'] }
]

export const CONDITION_NAMES: readonly string[] = CONDITIONS.map((c) => c.name)
