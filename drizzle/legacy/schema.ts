// The legacy (v2.0) tables: the Depop catalogue as the old system keeps it. In the example and the tests
// the reference legacy service serves them; in production they are the real legacy database's tables.
//
// Timestamps keep milliseconds (precision 3) so that a value survives a round trip through a JavaScript
// Date exactly; the backfill and the sync compare them.
import { sql } from 'drizzle-orm'
import { bigint, bigserial, customType, doublePrecision, index, integer, jsonb, numeric, pgSchema, text, timestamp, vector } from 'drizzle-orm/pg-core'

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

// Change capture for the two-way sync: see the capture trigger migration for why the transaction id is kept.
export const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' })

export const syncChanges = legacy.table('sync_changes', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  xid: xid8('xid').notNull().default(sql`pg_current_xact_id()`),
  op: text('op').notNull(),
  rowId: bigint('row_id', { mode: 'number' }).notNull(),
  changedAt: timestamp('changed_at', { precision: 3, withTimezone: true, mode: 'date' }).notNull().default(sql`clock_timestamp()`)
}, (t) => [index('sync_changes_xid_seq_idx').on(t.xid, t.seq)])

export const tombstones = legacy.table('item_tombstones', {
  rowId: bigint('row_id', { mode: 'number' }).primaryKey(),
  deletedAt: timestamp('deleted_at', { precision: 3, withTimezone: true, mode: 'date' }).notNull()
})

/** Where the unified → legacy direction stands, kept in the database it writes to. */
export const syncPositions = legacy.table('sync_positions', {
  direction: text('direction').primaryKey(),
  xid: xid8('xid').notNull(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  applied: bigint('applied', { mode: 'number' }).notNull().default(0),
  updatedAt: timestamp('updated_at', { precision: 3, withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  /** The last failure of this direction, for `sync status` (cleared by the next committed batch). */
  lastError: text('last_error'),
  lastErrorAt: timestamp('last_error_at', { precision: 3, withTimezone: true, mode: 'date' }),
  /** Conflicts this direction resolved for the target: an incoming change older than the target's version. */
  conflicts: bigint('conflicts', { mode: 'number' }).notNull().default(0),
  /** Rows applied per second over the follower's last 10 s, and when it measured that (stale: not running). */
  rowsPerSecond: doublePrecision('rows_per_second').notNull().default(0),
  rateAt: timestamp('rate_at', { precision: 3, withTimezone: true, mode: 'date' })
})

export const syncDeadLetters = legacy.table('sync_dead_letters', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  direction: text('direction').notNull(),
  rowId: bigint('row_id', { mode: 'number' }).notNull(),
  op: text('op').notNull(),
  sourceXid: xid8('source_xid').notNull(),
  sourceSeq: bigint('source_seq', { mode: 'number' }).notNull(),
  reason: text('reason').notNull(),
  payload: jsonb('payload'),
  attempts: integer('attempts').notNull().default(1),
  parkedAt: timestamp('parked_at', { precision: 3, withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  replayedAt: timestamp('replayed_at', { precision: 3, withTimezone: true, mode: 'date' })
})

export type LegacyUser = typeof users.$inferSelect
export type LegacyItem = typeof items.$inferSelect
export type NewLegacyItem = typeof items.$inferInsert
