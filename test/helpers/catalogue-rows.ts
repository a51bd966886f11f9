// Catalogue items as rows of the legacy tables and, through the one mapping, of the unified tables, for the
// tests of the services that serve them; and a service listening on port 0 for as long as a test runs.
import type { FastifyInstance } from 'fastify'
import { items, type LegacyItem } from '../../drizzle/legacy/schema.ts'
import { garments } from '../../drizzle/unified/schema.ts'
import { generateCatalogue } from '../../services/catalogue/generator.ts'
import type { DatabaseHandle } from '../../services/db/database.ts'
import { garmentFromLegacyItem } from '../../services/migrate/mapping.ts'
import { TemplateStoryGenerator, type StoryGenerator } from '../../services/migrate/story.ts'

interface Teardown { teardown (fn: () => unknown): void }

const BATCH = 200

/** The first `count` items of the synthetic catalogue as legacy rows, without sellers. */
export function catalogueItems (count: number, seed?: number): LegacyItem[] {
  return [...generateCatalogue({ count, ...(seed !== undefined ? { seed } : {}) })].map((c) => ({
    id: c.id,
    depopId: c.depopId,
    sellerId: null,
    title: c.title,
    description: c.description,
    category: c.category,
    condition: c.condition,
    size: c.size,
    brand: c.brand,
    price: c.price,
    imageUrl: c.imageUrl,
    listingUrl: c.listingUrl,
    embedding: c.embedding,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt
  }))
}

/** Inserts the rows with their ids, and moves the id sequence past them, as a real load leaves it. */
export async function insertLegacyItems (handle: DatabaseHandle, rows: LegacyItem[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) await handle.db.insert(items).values(rows.slice(i, i + BATCH))
  await handle.query("SELECT setval(pg_get_serial_sequence('legacy.items', 'id'), (SELECT max(id) FROM legacy.items))")
}

/** The same rows as garments, mapped as the backfill maps them. */
export async function insertGarmentsOf (handle: DatabaseHandle, rows: LegacyItem[], stories: StoryGenerator = new TemplateStoryGenerator()): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    await handle.db.insert(garments).values(rows.slice(i, i + BATCH).map((row) => garmentFromLegacyItem(row, stories)))
  }
}

/** Listens on 127.0.0.1, port 0, until the test ends; returns the base URL. */
export async function listening (t: Teardown, app: FastifyInstance): Promise<string> {
  t.teardown(() => app.close())
  return app.listen({ host: '127.0.0.1', port: 0 })
}
