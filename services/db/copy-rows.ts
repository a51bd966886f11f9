// What both kinds of handle do to rows before COPY: check the statement, and group rows into chunks of
// bounded size, so that a large load neither goes through a write per row nor sits in memory whole.
import { errors } from './errors.ts'
import type { CopyRows } from './database.ts'

const FROM_STDIN = /\bFROM\s+STDIN\b/gi

/**
 * Throws unless sql is one COPY ... FROM STDIN statement; returns it unchanged. HEADER is refused because
 * PGlite loads in several statements, and each would skip its first row.
 */
export function checkCopySql (sql: string): string {
  const matches = [...sql.matchAll(FROM_STDIN)]
  const options = sql.slice((matches[0]?.index ?? 0) + (matches[0]?.[0].length ?? 0))
  if (!/^\s*COPY\b/i.test(sql) || matches.length !== 1 || /\bHEADER\b/i.test(options)) throw errors.COPY_SQL(sql)
  return sql
}

/** The same statement reading PGlite's attached blob instead of the client's stream. */
export function copyFromBlobSql (sql: string): string {
  return checkCopySql(sql).replace(FROM_STDIN, "FROM '/dev/blob'")
}

/** Joins rows into newline-terminated chunks of about chunkChars characters (a longer row is one chunk). */
export async function * chunkRows (rows: CopyRows, chunkChars: number): AsyncGenerator<string> {
  let parts: string[] = []
  let size = 0
  for await (const row of rows) {
    const line = row.endsWith('\n') ? row : row + '\n'
    parts.push(line)
    size += line.length
    if (size >= chunkChars) {
      yield parts.join('')
      parts = []
      size = 0
    }
  }
  if (parts.length > 0) yield parts.join('')
}
