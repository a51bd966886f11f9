// Reads the gateway's Prometheus counters after the runs, to show that metrics were recorded and how the
// flag decided for the benchmark's fixed sticky key, and what became of the shadows.
export interface SwitchyardCounts {
  requests: number
  decisions: Record<string, number>
  /** switchyard_shadow_total by result. */
  shadows: Record<string, number>
}

export async function readSwitchyardCounts (adminUrl: string): Promise<SwitchyardCounts> {
  const res = await fetch(new URL('/metrics', adminUrl))
  if (res.status !== 200) throw new Error(`GET ${adminUrl}/metrics answered ${res.status}`)
  const text = await res.text()
  const counts: SwitchyardCounts = { requests: 0, decisions: {}, shadows: {} }
  for (const line of text.split('\n')) {
    const m = /^(switchyard_requests_total|switchyard_decisions_total|switchyard_shadow_total)\{([^}]*)\} ([0-9.e+]+)$/.exec(line)
    if (m === null) continue
    const value = Number(m[3])
    if (m[1] === 'switchyard_requests_total') {
      counts.requests += value
      continue
    }
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]))
    if (m[1] === 'switchyard_shadow_total') {
      counts.shadows[labels.result ?? '?'] = (counts.shadows[labels.result ?? '?'] ?? 0) + value
      continue
    }
    const key = `${labels.backend ?? '?'} by ${labels.reason ?? '?'}`
    counts.decisions[key] = (counts.decisions[key] ?? 0) + value
  }
  return counts
}
