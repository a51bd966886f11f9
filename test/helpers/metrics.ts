// Reads one sample of a metric from a real /metrics endpoint.
export async function scrape (adminUrl: string): Promise<string> {
  const res = await fetch(`${adminUrl}/metrics`)
  return res.text()
}

export function sample (text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue
    const body = line.slice(name.length + 1, line.lastIndexOf('}'))
    const got = Object.fromEntries([...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return 0
}
