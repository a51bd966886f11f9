// The embedded flag file: a malformed file or a route naming an undefined flag stops startup with a
// message that says what to fix; a change is written atomically and keeps the file's other content.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import t from 'tap'
import { startGateway, tempDir } from './helpers/gateway.ts'
import { namedJson, startUpstream } from './helpers/upstream.ts'

t.test('a malformed flag file fails startup and names the problem', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{ "version": 2,', /features\.json: not valid JSON/],
    ['not the client-features format', '{ "flags": [] }', /not in Unleash's client-features format .*version: expected required property/],
    ['a rollout out of range', JSON.stringify({ version: 2, features: [{ name: 'items-api', enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '150' } }] }] }), /items-api: the flexibleRollout rollout must be an integer from 0 to 100, got "150"/],
    ['a flag defined twice', JSON.stringify({ version: 2, features: [{ name: 'a', enabled: true }, { name: 'a', enabled: false }] }), /the flag a is defined twice/],
    ['a flag the routes need is missing', JSON.stringify({ version: 2, features: [{ name: 'items-api', enabled: true, strategies: [] }] }), /the routes use flags it does not define: visual-search/]
  ]
  for (const [name, text, message] of cases) {
    const dir = tempDir(t)
    writeFileSync(`${dir}/features.json`, text)
    await t.rejects(startGateway(t, { legacy: legacy.url, new: legacy.url, dir }), { code: 'SY_ERR_FLAGS_INVALID', message }, name)
  }
})

t.test('a change rewrites only the rollout, atomically, and keeps the rest of the file', async (t) => {
  const legacy = await startUpstream(t, namedJson('legacy'))
  const dir = tempDir(t)
  const doc = {
    version: 2,
    features: [
      { name: 'items-api', description: 'kept', enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'qa-1' } }, { name: 'flexibleRollout', parameters: { rollout: '5', stickiness: 'default', groupId: 'items-api' }, constraints: [] }] },
      { name: 'visual-search', enabled: false, strategies: [{ name: 'default' }] },
      { name: 'unrelated', enabled: true, strategies: [] }
    ]
  }
  writeFileSync(`${dir}/features.json`, JSON.stringify(doc))
  const g = await startGateway(t, { legacy: legacy.url, new: legacy.url, dir })
  t.equal(g.gw.flags.percent('visual-search'), 0, 'a disabled flag is at 0%')
  await g.gw.control.setPercent('items-api', 30, { actor: 't', source: 't', reason: 't' })
  await g.gw.control.setPercent('visual-search', 10, { actor: 't', source: 't', reason: 't' })
  const after = JSON.parse(readFileSync(`${dir}/features.json`, 'utf8'))
  t.same(after.features[0], { ...doc.features[0], strategies: [doc.features[0]!.strategies[0], { ...doc.features[0]!.strategies[1], parameters: { rollout: '30', stickiness: 'default', groupId: 'items-api' } }] }, 'only the rollout changed')
  t.match(after.features[1], { enabled: true, strategies: [{ name: 'flexibleRollout', parameters: { rollout: '10' } }] }, 'a flag without a rollout gets one, replacing the default strategy')
  t.same(after.features[2], doc.features[2])
  t.same(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file is left behind')
})
