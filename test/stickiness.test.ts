// Stickiness with 10,000 distinct users through the real gateway: the share at 25% is within ±2 points,
// each user keeps their backend over 5 repeats, raising 25 → 50 moves nobody from new back to legacy,
// and 0 and 100 are exact.
import t from 'tap'
import { Pool } from 'undici'
import { normalizedStrategyValue } from 'unleash-client/lib/strategy/util.js'
import { startGateway } from './helpers/gateway.ts'
import { startUpstream } from './helpers/upstream.ts'

const USERS = 10_000
const who = { actor: 'test', source: 'test', reason: 'test' }

const tiny = (name: string) => (_req: unknown, res: import('node:http').ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': name.length })
  res.end(name)
}

t.test('10,000 users: share, repeats, monotone raise, exact ends', async (t) => {
  const legacy = await startUpstream(t, tiny('legacy'))
  const neu = await startUpstream(t, tiny('new'))
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 25 } })
  const client = new Pool(g.proxyUrl, { connections: 32 })
  t.teardown(() => client.close())

  // One pass: the backend each user gets, as an array of booleans (true = new).
  const pass = async (): Promise<boolean[]> => {
    const out = new Array<boolean>(USERS)
    let next = 0
    const worker = async () => {
      while (next < USERS) {
        const i = next++
        const res = await client.request({ path: '/items/1', method: 'GET', headers: { 'x-user-id': `user-${i}` } })
        await res.body.dump()
        out[i] = res.headers['x-switchyard-backend'] === 'new'
      }
    }
    await Promise.all(Array.from({ length: 32 }, worker))
    return out
  }

  const at25 = await pass()
  const share = at25.filter(Boolean).length / USERS * 100
  t.ok(Math.abs(share - 25) <= 2, `share at 25% is ${share.toFixed(2)}%, within ±2 points`)

  let flipped = 0
  for (let r = 0; r < 4; r++) {
    const again = await pass()
    for (let i = 0; i < USERS; i++) if (again[i] !== at25[i]) flipped++
  }
  t.equal(flipped, 0, 'every user got the same backend on all 5 passes')

  await g.gw.control.setPercent('items-api', 50, who)
  const at50 = await pass()
  const movedBack = at25.filter((onNew, i) => onNew && !at50[i]).length
  t.equal(movedBack, 0, 'raising 25 → 50 moved no user from new back to legacy')
  const share50 = at50.filter(Boolean).length / USERS * 100
  t.ok(Math.abs(share50 - 50) <= 2, `share at 50% is ${share50.toFixed(2)}%`)

  await g.gw.control.setPercent('items-api', 0, who)
  t.equal((await pass()).filter(Boolean).length, 0, '0% sends nobody to new')
  await g.gw.control.setPercent('items-api', 100, who)
  t.equal((await pass()).filter((x) => !x).length, 0, '100% sends everybody to new')
})

t.test('the sticky key: x-user-id, then the session cookie, then the client address', async (t) => {
  const legacy = await startUpstream(t, tiny('legacy'))
  const neu = await startUpstream(t, tiny('new'))
  const g = await startGateway(t, { legacy: legacy.url, new: neu.url, percents: { 'items-api': 50 } })
  const expected = (key: string) => normalizedStrategyValue(key, 'items-api') <= 50 ? 'new' : 'legacy'
  const backendFor = async (headers: Record<string, string>, localAddress = '127.0.0.1') => {
    const pool = new Pool(g.proxyUrl, { localAddress })
    try {
      const res = await pool.request({ path: '/items', method: 'GET', headers })
      await res.body.dump()
      return res.headers['x-switchyard-backend']
    } finally {
      await pool.close()
    }
  }

  let checked = 0
  for (let i = 0; i < 60; i++) {
    const user = `u-${i}`
    const session = `s-${i * 7}`
    t.equal(await backendFor({ 'x-user-id': user, cookie: `session=${session}` }), expected(user), 'the header wins over the cookie')
    t.equal(await backendFor({ cookie: `theme=dark; session=${session}; lang=en` }), expected(session), 'the cookie is used without the header')
    checked++
  }
  // Client addresses: distinct loopback source addresses stand for distinct clients.
  const outcomes = new Set<string>()
  for (let i = 2; i < 30; i++) {
    const addr = `127.0.0.${i}`
    const got = await backendFor({}, addr)
    t.equal(got, expected(addr), `the client address ${addr} is the key without header or cookie`)
    outcomes.add(String(got))
  }
  t.equal(outcomes.size, 2, 'addresses spread over both backends at 50%')
  t.equal(checked, 60)
})
