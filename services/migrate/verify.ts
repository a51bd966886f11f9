// verify: every legacy item has its garment and every garment its legacy item (by v2.0 id, so garments
// created on the new side count once the sync has carried them over); for each pair, the checksum of the
// mapped fields (the v2.0 view) and of the embedding's exact text agree.
// Both sides are read in legacy-id order in batches and merged, so memory stays flat whatever the size.
import type { DatabaseHandle } from '../db/database.ts'
import { rowChecksum, v2FieldsOfLegacyItem } from './mapping.ts'
import { readGarmentBatch, readLegacyBatch, type V2Row } from './rows.ts'

export interface VerifyResult {
  ok: boolean
  legacyRows: number
  unifiedRows: number
  checked: number
  /** Legacy ids with no garment. */
  missing: number[]
  /** Garments whose legacy id legacy does not have. */
  extra: number[]
  /** Pairs whose mapped fields or embedding differ. */
  different: number[]
  /** Exact counts of each kind (the lists above stop at MAX_LISTED ids). */
  counts: { missing: number, extra: number, different: number }
}

const BATCH = 2_000
/** How many ids of each kind the result keeps; the counts are exact regardless. */
export const MAX_LISTED = 1_000

export async function verify (legacy: DatabaseHandle, unified: DatabaseHandle, opts: { onProgress?: (done: number) => void } = {}): Promise<VerifyResult> {
  const counts = { missing: 0, extra: 0, different: 0 }
  const result: VerifyResult = { ok: false, legacyRows: 0, unifiedRows: 0, checked: 0, missing: [], extra: [], different: [], counts }
  const note = (kind: 'missing' | 'extra' | 'different', id: number): void => {
    counts[kind]++
    if (result[kind].length < MAX_LISTED) result[kind].push(id)
  }

  const left = cursor(async (after) => (await readLegacyBatch(legacy, after, BATCH)).map((r): V2Row => ({ fields: v2FieldsOfLegacyItem(r), embedding: r.embedding })))
  const right = cursor((after) => readGarmentBatch(unified, after, BATCH))
  let a = await left.next()
  let b = await right.next()
  while (a !== null || b !== null) {
    if (b === null || (a !== null && a.fields.id < b.fields.id)) {
      result.legacyRows++
      note('missing', a!.fields.id)
      a = await left.next()
    } else if (a === null || b.fields.id < a.fields.id) {
      result.unifiedRows++
      note('extra', b.fields.id)
      b = await right.next()
    } else {
      result.legacyRows++
      result.unifiedRows++
      result.checked++
      if (rowChecksum(a.fields, a.embedding) !== rowChecksum(b.fields, b.embedding)) note('different', a.fields.id)
      if (result.checked % BATCH === 0) opts.onProgress?.(result.checked)
      a = await left.next()
      b = await right.next()
    }
  }
  result.ok = counts.missing === 0 && counts.extra === 0 && counts.different === 0
  return result
}

function cursor (read: (after: number) => Promise<V2Row[]>): { next: () => Promise<V2Row | null> } {
  let buffer: V2Row[] = []
  let i = 0
  let after = 0
  let exhausted = false
  return {
    async next () {
      if (i >= buffer.length) {
        if (exhausted) return null
        buffer = await read(after)
        i = 0
        if (buffer.length < BATCH) exhausted = true
        if (buffer.length === 0) return null
        after = buffer[buffer.length - 1]!.fields.id
      }
      return buffer[i++]!
    }
  }
}
