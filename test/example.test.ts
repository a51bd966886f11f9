// What `npm start` runs: `switchyard serve --example` with the repository's own flags/switchyard.yaml, the
// example backends started on the ports it names, and the gateway in front. Ports and the state directory
// come from the environment, as a user would override them.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import WebSocket from 'ws'
import { runCli } from '../gateway/cli/main.ts'
import { tempDir } from './helpers/gateway.ts'
import { freePort, ROOT, spawnServe, waitReady } from './helpers/process-serve.ts'

t.test('serve --example splits traffic between the two example backends', async (t) => {
  const [proxy, admin, legacy, neu] = [await freePort(), await freePort(), await freePort(), await freePort()]
  const state = tempDir(t)
  const flagsBefore = readFileSync(join(ROOT, 'flags', 'features.json'), 'utf8')
  const serve = spawnServe(t, ['--example'], {
    SWITCHYARD_PORT: String(proxy),
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_ADMIN_PORT: String(admin),
    SWITCHYARD_LEGACY_URL: `http://127.0.0.1:${legacy}`,
    SWITCHYARD_NEW_URL: `http://127.0.0.1:${neu}`,
    SWITCHYARD_STATE_DIR: state
  })
  const adminUrl = `http://127.0.0.1:${admin}`
  const proxyUrl = `http://127.0.0.1:${proxy}`
  await waitReady(serve, adminUrl)
  t.match(serve.stdout(), /Switchyard is running\.[\s\S]*clients: +http:\/\/127\.0\.0\.1:\d+[\s\S]*example backends[\s\S]*Try:/, 'the banner shows the URLs and what to try')

  const seen = new Set<string>()
  for (let i = 0; i < 40; i++) {
    const res = await fetch(`${proxyUrl}/items/7`, { headers: { 'x-user-id': `user-${i}` } })
    const item = await res.json() as { id: number, title: string }
    t.equal(item.id, 7)
    seen.add(String(res.headers.get('x-switchyard-backend')))
  }
  t.same([...seen].sort(), ['legacy', 'new'], 'at 25 %, forty users reach both backends')
  const pinned = await fetch(`${proxyUrl}/v2/items?limit=2`)
  t.equal(pinned.headers.get('x-switchyard-backend'), 'new')
  t.equal(((await pinned.json()) as { items: unknown[] }).items.length, 2)

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
