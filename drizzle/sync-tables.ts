// The two-way sync's tables, the same on both sides: each side's change log (filled by its capture
// trigger, see the change-capture migrations for why the transaction id is kept), its tombstones, and, in
// the database a direction writes to, that direction's position and its parked changes.
import { sql } from 'drizzle-orm'
import { bigint, bigserial, customType, doublePrecision, index, integer, jsonb, text, timestamp, type PgSchema } from 'drizzle-orm/pg-core'

export const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' })

const at = (name: string) => timestamp(name, { precision: 3, withTimezone: true, mode: 'date' })

/** `tombstoneTable` names the side's tombstones after its rows: item_tombstones, garment_tombstones. */
export function syncTables (schema: PgSchema, tombstoneTable: string) {
  return {
    syncChanges: schema.table('sync_changes', {
      seq: bigserial('seq', { mode: 'number' }).primaryKey(),
      xid: xid8('xid').notNull().default(sql`pg_current_xact_id()`),
      op: text('op').notNull(),
      rowId: bigint('row_id', { mode: 'number' }).notNull(),
      changedAt: at('changed_at').notNull().default(sql`clock_timestamp()`)
    }, (t) => [index('sync_changes_xid_seq_idx').on(t.xid, t.seq)]),

    tombstones: schema.table(tombstoneTable, {
      rowId: bigint('row_id', { mode: 'number' }).primaryKey(),
      deletedAt: at('deleted_at').notNull()
    }),

    syncPositions: schema.table('sync_positions', {
      direction: text('direction').primaryKey(),
      xid: xid8('xid').notNull(),
      seq: bigint('seq', { mode: 'number' }).notNull(),
      applied: bigint('applied', { mode: 'number' }).notNull().default(0),
      updatedAt: at('updated_at').notNull().defaultNow(),
      /** The last failure of this direction, for `sync status` (cleared by the next committed batch). */
      lastError: text('last_error'),
      lastErrorAt: at('last_error_at'),
      /** Conflicts this direction resolved for the target: an incoming change older than the target's version. */
      conflicts: bigint('conflicts', { mode: 'number' }).notNull().default(0),
      /** Rows applied per second over the follower's last 10 s, and when it measured that (stale: not running). */
      rowsPerSecond: doublePrecision('rows_per_second').notNull().default(0),
      rateAt: at('rate_at')
    }),

    syncDeadLetters: schema.table('sync_dead_letters', {
      id: bigserial('id', { mode: 'number' }).primaryKey(),
      direction: text('direction').notNull(),
      rowId: bigint('row_id', { mode: 'number' }).notNull(),
      op: text('op').notNull(),
      sourceXid: xid8('source_xid').notNull(),
      sourceSeq: bigint('source_seq', { mode: 'number' }).notNull(),
      reason: text('reason').notNull(),
      payload: jsonb('payload'),
      attempts: integer('attempts').notNull().default(1),
      parkedAt: at('parked_at').notNull().defaultNow(),
      replayedAt: at('replayed_at')
    })
  }
}
