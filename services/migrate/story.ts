// Stories for garments that arrive without one. The generator is an interface so that an LLM-backed one
// can be plugged in by configuration; the default is deterministic (the same item always gets the same
// story), so a backfill can be re-run and verified.
import { createHash } from 'node:crypto'
import type { Story } from '../../drizzle/unified/schema.ts'

export interface StorySource {
  id: number
  title: string
  description: string
  category: string
  condition: string
  brand: string | null
}

export interface StoryGenerator {
  readonly name: string
  generate (item: StorySource): Story
}

const OPENINGS = [
  'Found its way here from a Depop wardrobe',
  'Already loved once, ready for a second chapter',
  'Picked for its character as much as its cut',
  'A piece with miles on it and plenty left'
]

export class TemplateStoryGenerator implements StoryGenerator {
  readonly name = 'template-v1'

  generate (item: StorySource): Story {
    const pick = createHash('sha256').update(String(item.id)).digest().readUInt32BE(0) % OPENINGS.length
    const brand = item.brand !== null && item.brand !== '' ? `${item.brand} ` : ''
    const first = item.description.split(/(?<=[.!?])\s+/)[0]?.trim() ?? ''
    return {
      headline: `${brand}${item.title}`.trim(),
      text: `${OPENINGS[pick]}: ${first === '' ? `a ${item.condition} ${item.category} piece.` : first}`,
      generatedBy: this.name
    }
  }
}
