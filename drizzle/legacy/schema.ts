// The legacy (v2.0) tables: the Depop catalogue as the old system keeps it. In the example and the tests
// the reference legacy service serves them; in production they are the real legacy database's tables.
//
// Timestamps keep milliseconds (precision 3) so that a value survives a round trip through a JavaScript
// Date exactly; the backfill and the sync compare them.
import { bigint, bigserial, index, numeric, pgSchema, text, timestamp, vector } from 'drizzle-orm/pg-core'
import { syncTables } from '../sync-tables.ts'

export const EMBEDDING_DIMENSIONS = 768

export const legacy = pgSchema('legacy')

const stamp = (name: string) => timestamp(name, { precision: 3, withTimezone: true, mode: 'date' }).notNull().defaultNow()

export const users = legacy.table('users', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  username: text('username').notNull().unique(),
  email: text('email'),
  createdAt: stamp('created_at')
})

export const items = legacy.table('items', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  depopId: text('depop_id').notNull().unique(),
  sellerId: bigint('seller_id', { mode: 'number' }).references(() => users.id),
  title: text('title').notNull(),
  description: text('description').notNull().default(''),
  category: text('category').notNull(),
  condition: text('condition').notNull(),
  size: text('size'),
  brand: text('brand'),
  price: numeric('price', { precision: 10, scale: 2 }).notNull(),
  imageUrl: text('image_url'),
  listingUrl: text('listing_url'),
  embedding: vector('embedding', { dimensions: EMBEDDING_DIMENSIONS }),
  createdAt: stamp('created_at'),
  updatedAt: stamp('updated_at')
}, (t) => [
  index('items_category_id_idx').on(t.category, t.id),
  index('items_embedding_hnsw_idx').using('hnsw', t.embedding.op('vector_cosine_ops'))
])

// The sync tables of the legacy side; the unified → legacy direction keeps its position here.
export const { syncChanges, tombstones, syncPositions, syncDeadLetters } = syncTables(legacy, 'item_tombstones')

export type LegacyUser = typeof users.$inferSelect
export type LegacyItem = typeof items.$inferSelect
export type NewLegacyItem = typeof items.$inferInsert
