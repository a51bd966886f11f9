// A progress bar on a terminal, nothing otherwise: logs and CI output stay clean, and the summary line
// says what happened either way.
export interface Out { write (s: string): unknown, isTTY?: boolean }

export function progressBar (out: Out, label: string, now: () => number = Date.now): { update (done: number, total: number): void, end (): void } {
  if (out.isTTY !== true) return { update () {}, end () {} }
  const started = now()
  let last = 0
  return {
    update (done, total) {
      const t = now()
      if (t - last < 100 && done < total) return
      last = t
      const width = 30
      const filled = total === 0 ? width : Math.round(width * Math.min(done / total, 1))
      const rate = done / Math.max((t - started) / 1000, 0.001)
      out.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done.toLocaleString('en')}/${total.toLocaleString('en')}  ${Math.round(rate).toLocaleString('en')} rows/s `)
    },
    end () { out.write('\n') }
  }
}
