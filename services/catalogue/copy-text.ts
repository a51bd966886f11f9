// Values in PostgreSQL's COPY text format (https://www.postgresql.org/docs/current/sql-copy.html, "Text
// Format"): columns separated by tabs, \N for null, and backslash, tab, newline and carriage return escaped
// with a backslash.

export type CopyValue = string | number | Date | null

const SPECIALS = /[\\\t\n\r]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

export function copyText (value: string): string {
  return value.replace(SPECIALS, (c) => ESCAPES[c] as string)
}

/** One row, newline-terminated. A Date is written as UTC ISO 8601, to the millisecond. */
export function copyRow (values: readonly CopyValue[]): string {
  let line = ''
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (i > 0) line += '\t'
    if (v === null || v === undefined) line += '\\N'
    else if (typeof v === 'string') line += copyText(v)
    else if (typeof v === 'number') line += String(v)
    else line += v.toISOString()
  }
  return line + '\n'
}

/**
 * A pgvector literal, [v1,v2,...], each component written with the fewest digits that read back as the
 * same float32 (pgvector parses with strtof). String() would print the float64 value of the same number,
 * about twice as many digits, which makes the COPY stream nearly twice as long for the same result.
 */
export function vectorLiteral (v: readonly number[]): string {
  let out = '['
  for (let i = 0; i < v.length; i++) {
    if (i > 0) out += ','
    out += shortestFloat32(v[i] as number)
  }
  return out + ']'
}

/**
 * A decimal that reads back as the float32 x (which must be float32-exact and finite), with as few digits as
 * possible. Nine significant digits always suffice; x rounded to 7 or 8 is kept when it already reads back as
 * x, which covers 99% of the components of a unit vector in 768 dimensions, and trailing zeros are dropped
 * when 6 or fewer were enough. Two rare cases write a digit or a zero more than needed, still exactly: just
 * above a power of two, where the float32 spacing halves, and below 1e-6, where toPrecision switches to an
 * exponent. Neither is worth a slower loop on the load's hot path.
 */
export function shortestFloat32 (x: number): string {
  // toPrecision drops the sign of -0, which is a float32 of its own.
  if (x === 0) return Object.is(x, -0) ? '-0' : '0'
  const s7 = x.toPrecision(7)
  if (readsBackAs(s7, x)) return s7.endsWith('0') ? String(Number(s7)) : s7
  const s8 = x.toPrecision(8)
  if (readsBackAs(s8, x)) return s8
  return x.toPrecision(9)
}

// pgvector rounds the decimal straight to float32 (strtof); here it goes through a float64 first, which can
// round differently when the decimal lies within a float64 step of the midpoint between two float32 values.
// Requiring a margin of a few float64 steps on both sides rules that out; the 9-digit fallback is always far
// enough from a midpoint.
const MARGIN = 2 ** -50

function readsBackAs (decimal: string, x: number): boolean {
  const d = Number(decimal)
  return Math.fround(d * (1 - MARGIN)) === x && Math.fround(d * (1 + MARGIN)) === x
}
