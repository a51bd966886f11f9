// The item reads and writes of the v2.0 API, on the legacy tables.
import { asc, count, eq } from 'drizzle-orm'
import { items, type NewLegacyItem } from '../../drizzle/legacy/schema.ts'
import type { DatabaseHandle } from '../db/database.ts'
import { v2Columns, type V2Row } from './item-columns.ts'

type Db = DatabaseHandle['db']

export async function listItems (db: Db, q: { limit: number, offset: number, category?: string | undefined }): Promise<{ rows: V2Row[], total: number }> {
  const where = q.category === undefined ? undefined : eq(items.category, q.category)
  const rows = await db.select(v2Columns).from(items).where(where).orderBy(asc(items.id)).limit(q.limit).offset(q.offset)
  const [counted] = await db.select({ total: count() }).from(items).where(where)
  return { rows, total: counted?.total ?? 0 }
}

export async function findItem (db: Db, id: number): Promise<V2Row | undefined> {
  const [row] = await db.select(v2Columns).from(items).where(eq(items.id, id))
  return row
}

export async function insertItem (db: Db, values: NewLegacyItem): Promise<V2Row> {
  const [row] = await db.insert(items).values(values).returning(v2Columns)
  if (row === undefined) throw new Error('INSERT ... RETURNING returned no row')
  return row
}

export async function updateItem (db: Db, id: number, values: Partial<NewLegacyItem>): Promise<V2Row | undefined> {
  const [row] = await db.update(items).set(values).where(eq(items.id, id)).returning(v2Columns)
  return row
}

export async function deleteItem (db: Db, id: number): Promise<boolean> {
  const rows = await db.delete(items).where(eq(items.id, id)).returning({ id: items.id })
  return rows.length > 0
}

/** undefined: no such item; null: the item has no embedding. */
export async function embeddingOf (db: Db, id: number): Promise<number[] | null | undefined> {
  const [row] = await db.select({ embedding: items.embedding }).from(items).where(eq(items.id, id))
  return row?.embedding
}
