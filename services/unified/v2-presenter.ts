// How the unified service presents a garment through the v2.0 API: the shared presenter, over the one
// mapping, so its answers are byte-identical to the legacy service's.
//
// TEST-ONLY fault switch: `faults.v2FieldBug` names one v2.0 field that every v2.0 answer then gets wrong
// (numbers + 1, timestamps one second later, strings reversed, null as ""), as a mapping bug would. It
// exists to show that shadow comparison catches a mismatch on exactly that field; it is off unless set,
// and nothing but a test should set it.
import { v2FieldsOfGarment } from '../migrate/mapping.ts'
import { presentV2Item, type V2Item } from '../shared/v2-item.ts'
import type { V2GarmentRow } from './queries/v2-queries.ts'

export const V2_FIELDS = [
  'id', 'depop_id', 'title', 'description', 'category', 'condition', 'size', 'brand', 'price', 'image_url',
  'listing_url', 'created_at', 'updated_at'
] as const satisfies ReadonlyArray<keyof V2Item>

export type V2Field = typeof V2_FIELDS[number]

export type V2Presenter = (row: V2GarmentRow) => V2Item

export function v2Presenter (fieldBug?: V2Field): V2Presenter {
  if (fieldBug === undefined) return (row) => presentV2Item(v2FieldsOfGarment(row))
  return (row) => corrupt(presentV2Item(v2FieldsOfGarment(row)), fieldBug)
}

function corrupt (item: V2Item, field: V2Field): V2Item {
  const value: unknown = item[field]
  let wrong: unknown
  if (typeof value === 'number') wrong = value + 1
  else if (value === null) wrong = ''
  else if (field === 'created_at' || field === 'updated_at') wrong = new Date(Date.parse(String(value)) + 1000).toISOString()
  else {
    const s = String(value)
    const reversed = [...s].reverse().join('')
    wrong = reversed === s ? `${s}~` : reversed
  }
  return { ...item, [field]: wrong }
}
