// An in-process database cannot be taken off the network. This wraps its handle so that, while cut, every
// statement fails the way one on a lost connection does (code ECONNREFUSED), those of a transaction already
// open included, which rolls it back; restore() lets statements through again.
import type { DatabaseHandle } from '../../services/db/database.ts'

export interface CuttableHandle {
  readonly handle: DatabaseHandle
  cut (): Promise<void>
  restore (): Promise<void>
}

export function cuttableHandle (inner: DatabaseHandle): CuttableHandle {
  let down = false
  const check = (): void => {
    if (down) throw Object.assign(new Error('connect ECONNREFUSED (cut by the test)'), { code: 'ECONNREFUSED' })
  }
  const wrap = (h: DatabaseHandle): DatabaseHandle => ({
    db: h.db,
    kind: h.kind,
    async query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]> {
      check()
      const rows = await h.query<T>(text, params)
      check()
      return rows
    },
    transaction<T>(fn: (tx: DatabaseHandle) => Promise<T>): Promise<T> {
      check()
      return h.transaction((tx) => fn(wrap(tx)))
    },
    async copyFrom (sql, rows) {
      check()
      await h.copyFrom(sql, rows)
    },
    close: () => h.close()
  })
  return {
    handle: wrap(inner),
    async cut () { down = true },
    async restore () { down = false }
  }
}
