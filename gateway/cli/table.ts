// Plain-text tables: a header row and aligned columns, two spaces apart. Widths are measured on the text
// before it is coloured, so escape codes never shift a column.
import { paint, type Tone } from './colour.ts'
import { printable } from './text.ts'

export interface Column {
  header: string
  align?: 'left' | 'right'
}

export type Cell = string | { text: string, tone: Tone }

const GAP = '  '

function width (text: string): number {
  return [...text].length
}

function pad (text: string, size: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)))
  return align === 'right' ? fill + text : text + fill
}

export function formatTable (columns: Column[], rows: Cell[][], opts: { colour: boolean }): string {
  const body = rows.map((row) => columns.map((_, i) => {
    const cell = row[i] ?? ''
    return typeof cell === 'string'
      ? { text: printable(cell), tone: 'plain' as Tone }
      : { text: printable(cell.text), tone: cell.tone }
  }))
  const widths = columns.map((col, i) => Math.max(width(col.header), ...body.map((row) => width(row[i]!.text))))
  const last = columns.length - 1

  const line = (cells: Array<{ text: string, tone: Tone }>): string => cells.map((cell, i) => {
    const align = columns[i]!.align ?? 'left'
    // The last column is not padded on the right, so lines carry no trailing spaces.
    const text = i === last && align === 'left' ? cell.text : pad(cell.text, widths[i]!, align)
    return paint(text, cell.tone, opts.colour)
  }).join(GAP)

  const header = line(columns.map((col) => ({ text: col.header, tone: 'strong' })))
  return [header, ...body.map(line)].join('\n') + '\n'
}
