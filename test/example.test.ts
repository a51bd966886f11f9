// What `npm start` runs: `switchyard serve --example` with the repository's own flags/switchyard.yaml: PGlite,
// the migrations, a catalogue, the backfill, the legacy and unified services on the ports it names, and the
// gateway in front. Ports and the state directory
// come from the environment, as a user would override them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import WebSocket from 'ws'
import { runCli } from '../gateway/cli/main.ts'
import { testDatabase } from './helpers/db.ts'
import { tempDir } from './helpers/gateway.ts'
import { ROOT, spawnServe, waitReady } from './helpers/process-serve.ts'
import { freePort } from './helpers/servers.ts'

t.test('serve --example splits traffic between the legacy and unified services', async (t) => {
  const [proxy, admin, legacy, neu] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const state = tempDir(t)
  const flagsBefore = readFileSync(join(ROOT, 'flags', 'features.json'), 'utf8')
  const serve = spawnServe(t, ['--example', '--items', '300'], {
    SWITCHYARD_PORT: String(proxy),
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_ADMIN_PORT: String(admin),
    SWITCHYARD_LEGACY_URL: `http://127.0.0.1:${legacy}`,
    SWITCHYARD_NEW_URL: `http://127.0.0.1:${neu}`,
    SWITCHYARD_STATE_DIR: state
  })
  const adminUrl = `http://127.0.0.1:${admin}`
  const proxyUrl = `http://127.0.0.1:${proxy}`
  // The first start generates the catalogue and backfills it, on PGlite here.
  await waitReady(serve, adminUrl, 120_000)
  t.match(serve.stdout(), /Switchyard is running\.[\s\S]*clients: +http:\/\/127\.0\.0\.1:\d+[\s\S]*legacy and unified services[\s\S]*database: +PGlite in [\s\S]*Try:/, 'the banner shows the URLs, the database and what to try')

  const seen = new Set<string>()
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${proxyUrl}/items/7`, { headers: { 'x-user-id': `user-${i}` } })
    const item = await res.json() as { id: number, title: string }
    t.equal(item.id, 7)
    seen.add(String(res.headers.get('x-switchyard-backend')))
  }
  t.same([...seen].sort(), ['legacy', 'new'], 'at 25 %, forty users reach both backends, and both answer item 7')
  const pinned = await fetch(`${proxyUrl}/v2/items?limit=2`)
  t.equal(pinned.headers.get('x-switchyard-backend'), 'new')
  t.equal(((await pinned.json()) as { items: unknown[] }).items.length, 2)

  const garments = await fetch(`${proxyUrl}/v2/garments?limit=2`)
  t.equal(garments.headers.get('x-switchyard-backend'), 'new')
  const page = await garments.json() as { garments: Array<{ story: { text: string }, legacy_id: number }>, next_cursor: string | null }
  t.equal(page.garments.length, 2, 'the v3.5 API serves the backfilled garments')
  t.ok(page.garments.every((g) => g.story.text.length > 0 && g.legacy_id <= 300), 'with stories, from the backfill')
  t.type(page.next_cursor, 'string')
  const search = await fetch(`${proxyUrl}/v1/search_by_image`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item_id: 7, k: 3 }) })
  const found = await search.json() as { results: Array<{ item: { id: number }, score: number }> }
  t.equal(found.results.length, 3, 'visual search answers through the gateway')
  t.notOk(found.results.some((r) => r.item.id === 7), 'without the item itself')

  // The sync runs in the example: an item created through legacy (v1) can be read through new (v2), and back.
  const created = await fetch(`${proxyUrl}/v1/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ depop_id: 'dp-example-1', title: 'Written through legacy', category: 'tops', condition: 'like new', price: 12.5 })
  })
  t.equal(created.status, 201)
  const { id } = await created.json() as { id: number }
  const seenOnNew = await eventually(async () => {
    const r = await fetch(`${proxyUrl}/v2/items/${id}`)
    return r.status === 200 ? await r.json() as { title: string } : undefined
  })
  t.equal(seenOnNew.title, 'Written through legacy', 'a write through legacy is readable through new')
  const viaNew = await fetch(`${proxyUrl}/v2/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ depop_id: 'dp-example-2', title: 'Written through new', category: 'tops', condition: 'new', price: 20 })
  })
  const fromNew = await viaNew.json() as { id: number }
  const seenOnLegacy = await eventually(async () => {
    const r = await fetch(`${proxyUrl}/v1/items/${fromNew.id}`)
    return r.status === 200 ? await r.json() as { title: string } : undefined
  })
  t.equal(seenOnLegacy.title, 'Written through new', 'and a write through new is readable through legacy')
  t.match(await (await fetch(`${adminUrl}/metrics`)).text(), /switchyard_sync_lag_seconds\{direction="legacy_to_unified"\}/, 'the sync\'s metrics are on the admin port')

  const ws = new WebSocket(`ws://127.0.0.1:${proxy}/v1/ws/demo`)
  const hello = await new Promise<string>((resolve, reject) => {
    ws.once('message', (data) => resolve(String(data)))
    ws.once('error', reject)
  })
  t.same(JSON.parse(hello), { hello: 'demo', backend: 'legacy' })
  ws.close()

  let out = ''
  const code = await runCli(['rollout', 'items-api', '100', '--reason', 'try it'], {
    env: { SWITCHYARD_ADMIN_URL: adminUrl },
    stdout: { write: (s: string) => { out += s } },
    stderr: { write: (s: string) => { out += s } },
    serve: async () => 1
  })
  t.equal(code, 0, out)
  const after = await fetch(`${proxyUrl}/items/7`, { headers: { 'x-user-id': 'user-0' } })
  t.equal(after.headers.get('x-switchyard-backend'), 'new', 'the rollout took effect')
  t.equal(readFileSync(join(ROOT, 'flags', 'features.json'), 'utf8'), flagsBefore, 'the committed flag file is untouched')
  t.match(readFileSync(join(state, 'example-features.json'), 'utf8'), /"rollout": "100"/, 'the example changed its copy')

  serve.child.kill('SIGTERM')
  t.equal((await serve.exited).code, 0, 'Ctrl-C (SIGTERM) stops it cleanly')
})

t.test('with LEGACY_DATABASE_URL and DATABASE_URL, the example runs on Postgres', async (t) => {
  const db = await testDatabase(t)
  if (db.url === null) {
    t.pass('without a Postgres server this is the PGlite case above')
    return
  }
  const [proxy, admin, legacy, neu] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const serve = spawnServe(t, ['--example', '--items', '300'], {
    SWITCHYARD_PORT: String(proxy),
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_ADMIN_PORT: String(admin),
    SWITCHYARD_LEGACY_URL: `http://127.0.0.1:${legacy}`,
    SWITCHYARD_NEW_URL: `http://127.0.0.1:${neu}`,
    SWITCHYARD_STATE_DIR: tempDir(t),
    LEGACY_DATABASE_URL: db.url,
    DATABASE_URL: db.url
  })
  await waitReady(serve, `http://127.0.0.1:${admin}`, 120_000)
  t.match(serve.stdout(), /database: +Postgres \(LEGACY_DATABASE_URL, DATABASE_URL\)/)
  const [{ n } = { n: 0 }] = await db.handle.query<{ n: number }>('SELECT count(*)::int AS n FROM unified.garments')
  t.equal(n, 300, 'the catalogue was loaded and backfilled into that database')
  const item = await fetch(`http://127.0.0.1:${proxy}/v2/items/7`)
  t.equal(item.status, 200)
  t.equal(((await item.json()) as { id: number }).id, 7)
  serve.child.kill('SIGTERM')
  t.equal((await serve.exited).code, 0)
})

async function eventually<T> (probe: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = performance.now() + ms
  for (;;) {
    const v = await probe()
    if (v !== undefined) return v
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
