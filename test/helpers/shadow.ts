// Reading a gateway's shadow results through its admin API, as an operator would.
import { setTimeout as sleep } from 'node:timers/promises'

export interface ShadowRouteJson {
  route: string
  counts: { match: number, mismatch: number, error: number, dropped: number }
  window: { seconds: number, compared: number, mismatched: number, mismatch_rate: number | null }
  top_fields: Array<{ field: string, count: number }>
  noise_fields: Array<{ field: string, times_seen: number, absorbed: number }>
  drops: Record<string, number>
  errors: Record<string, number>
  inflight: number
  samples: Array<{
    request: { method: string, path: string, request_id: string }
    primary: { backend: string, status: number, body: unknown }
    shadow: { backend: string, status: number, body: unknown }
    differences: Array<{ path: string, field: string, kind: string, primary?: unknown, shadow?: unknown }>
    noise: string[]
  }>
}

export async function adminJson (adminUrl: string, path: string): Promise<unknown> {
  const res = await fetch(adminUrl + path)
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${await res.text()}`)
  return await res.json()
}

export async function shadowRoute (adminUrl: string, route: string): Promise<ShadowRouteJson> {
  return await adminJson(adminUrl, `/admin/shadow/${route}`) as ShadowRouteJson
}

/** Waits until `n` shadows of the route have ended (compared, failed or dropped) and none is in flight. */
export async function untilCompared (adminUrl: string, route: string, n: number, ms = 10_000): Promise<ShadowRouteJson> {
  const started = performance.now()
  for (;;) {
    const r = await shadowRoute(adminUrl, route)
    const c = r.counts
    if (c.match + c.mismatch + c.error + c.dropped >= n && r.inflight === 0) return r
    if (performance.now() - started > ms) throw new Error(`${route}: ${JSON.stringify(c)} after ${ms} ms, expected ${n} shadows`)
    await sleep(20)
  }
}
