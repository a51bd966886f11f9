// Text that came from the server (reasons, actor names) is shown on a terminal: control characters in it
// could move the cursor or rewrite earlier lines, so they are replaced before printing.

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g

export function printable (value: unknown): string {
  const text = typeof value === 'string' ? value : String(value)
  return text.replace(CONTROL, ' ')
}

/** 0.25 → '25%', 1 / 3 → '33.3%'. */
export function formatShare (share: number): string {
  return `${Number((share * 100).toFixed(1))}%`
}
