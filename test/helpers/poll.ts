// Waiting for a condition that something else makes true: the probe is asked again every few
// milliseconds until it answers, and the wait fails, saying what it waited for, after `ms`.
import { setTimeout as sleep } from 'node:timers/promises'

export async function within<T> (ms: number, what: string, probe: () => Promise<T | undefined>, everyMs = 20): Promise<{ value: T, ms: number }> {
  const started = performance.now()
  for (;;) {
    const value = await probe()
    if (value !== undefined) return { value, ms: performance.now() - started }
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`)
    await sleep(everyMs)
  }
}
