// The unified (v3.5) schema: story-first garments with provenance, exchange type, style attributes, a
// 768-dimension embedding (HNSW, cosine) and a full-text search column (GIN).
//
// Every garment also has a v2.0 id (legacy_id), so the v2.0-compatible endpoints can serve it: backfilled
// and synced rows keep their legacy id, and rows created here take one from unified.v2_item_id_seq, which
// starts at 10^12, far above any id the legacy sequence will reach, so the two never collide.
import { sql } from 'drizzle-orm'
import {
  bigint, check, customType, index, integer, jsonb, numeric, pgSchema, text, timestamp, uniqueIndex, uuid, vector
} from 'drizzle-orm/pg-core'
import { EMBEDDING_DIMENSIONS } from '../legacy/schema.ts'
import { syncTables } from '../sync-tables.ts'

export const unified = pgSchema('unified')

export const V2_ID_START = 1_000_000_000_000
export const v2ItemIds = unified.sequence('v2_item_id_seq', { startWith: V2_ID_START })

export const EXCHANGE_TYPES = ['sell', 'swap', 'rent', 'donate'] as const
export type ExchangeType = typeof EXCHANGE_TYPES[number]
export const GARMENT_STATUSES = ['active', 'sold', 'hidden'] as const

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' })
const stamp = (name: string) => timestamp(name, { precision: 3, withTimezone: true, mode: 'date' }).notNull().defaultNow()

export const users = unified.table('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  legacyId: bigint('legacy_id', { mode: 'number' }).unique(),
  username: text('username').notNull().unique(),
  email: text('email'),
  createdAt: stamp('created_at'),
  updatedAt: stamp('updated_at')
})

export const wardrobes = unified.table('wardrobes', {
  id: uuid('id').primaryKey().defaultRandom(),
  ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  createdAt: stamp('created_at')
}, (t) => [index('wardrobes_owner_idx').on(t.ownerId)])

export interface Story { headline?: string, text: string, generatedBy?: string, [key: string]: unknown }
export interface Provenance { source: string, externalId?: string | null, importedAt?: string, [key: string]: unknown }

export const garments = unified.table('garments', {
  id: uuid('id').primaryKey().defaultRandom(),
  legacyId: bigint('legacy_id', { mode: 'number' }).notNull().unique().default(sql`nextval('unified.v2_item_id_seq')`),
  ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'set null' }),
  externalId: text('external_id'),
  source: text('source').notNull().default('native'),
  originalUrl: text('original_url'),
  originalImageUrl: text('original_image_url'),
  title: text('title').notNull(),
  description: text('description').notNull().default(''),
  category: text('category').notNull(),
  condition: text('condition').notNull(),
  size: text('size'),
  brand: text('brand'),
  story: jsonb('story').$type<Story>().notNull().default({ text: '' }),
  provenance: jsonb('provenance').$type<Provenance>().notNull().default({ source: 'native' }),
  exchangeType: text('exchange_type').$type<ExchangeType>().notNull().default('sell'),
  price: numeric('price', { precision: 10, scale: 2 }),
  currency: text('currency').notNull().default('AUD'),
  styleAttributes: jsonb('style_attributes').$type<Record<string, unknown>>().notNull().default({}),
  embedding: vector('embedding', { dimensions: EMBEDDING_DIMENSIONS }),
  viewCount: integer('view_count').notNull().default(0),
  saveCount: integer('save_count').notNull().default(0),
  status: text('status').notNull().default('active'),
  createdAt: stamp('created_at'),
  updatedAt: stamp('updated_at'),
  search: tsvector('search').generatedAlwaysAs(sql`to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(brand, '') || ' ' || coalesce(category, ''))`)
}, (t) => [
  uniqueIndex('garments_source_external_id_idx').on(t.source, t.externalId),
  index('garments_category_idx').on(t.category),
  index('garments_price_idx').on(t.price),
  index('garments_created_idx').on(t.createdAt, t.id),
  index('garments_embedding_hnsw_idx').using('hnsw', t.embedding.op('vector_cosine_ops')),
  index('garments_search_gin_idx').using('gin', t.search),
  check('garments_exchange_type_check', sql`${t.exchangeType} in ('sell', 'swap', 'rent', 'donate')`),
  check('garments_currency_check', sql`${t.currency} ~ '^[A-Z]{3}$'`),
  check('garments_status_check', sql`${t.status} in ('active', 'sold', 'hidden')`),
  check('garments_price_check', sql`${t.price} is null or ${t.price} >= 0`)
])

// Where each migration job stands, written in the same transaction as the rows it covers, so a job killed
// at any point resumes exactly where its last committed batch ended.
export const migrationCheckpoints = unified.table('migration_checkpoints', {
  job: text('job').primaryKey(),
  position: bigint('position', { mode: 'number' }).notNull(),
  rows: bigint('rows', { mode: 'number' }).notNull().default(0),
  startedAt: stamp('started_at'),
  updatedAt: stamp('updated_at'),
  finishedAt: timestamp('finished_at', { precision: 3, withTimezone: true, mode: 'date' })
})

// The sync tables of the unified side, keyed by the garment's v2.0 id (legacy_id), which both sides share;
// the legacy → unified direction keeps its position here.
export const { syncChanges, tombstones, syncPositions, syncDeadLetters } = syncTables(unified, 'garment_tombstones')

export type Garment = typeof garments.$inferSelect
export type NewGarment = typeof garments.$inferInsert
export type UnifiedUser = typeof users.$inferSelect
