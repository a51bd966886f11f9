// Reads one sample of a metric from a real /metrics endpoint.
export async function scrape (adminUrl: string): Promise<string> {
  const res = await fetch(`${adminUrl}/metrics`)
  if (res.status !== 200) throw new Error(`GET ${adminUrl}/metrics answered ${res.status}`)
  return res.text()
}

/** The value of the sample whose labels include `labels`, or 0 when there is none yet. */
export function sample (text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue
    const body = line.slice(name.length + 1, line.lastIndexOf('}'))
    const got = Object.fromEntries([...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return 0
}
