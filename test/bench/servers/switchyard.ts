// Cases c, f, g, h: the gateway itself, two routes whose flags are both at 50 %, with the default metrics
// registry. Arguments: the legacy and the new backend URLs, and optionally the share of the items route's GETs
// to shadow (the shadow block is then present, even at 0). Flags and state live in a temporary directory
// removed on exit.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildGateway } from '../../../gateway/app.ts'
import { buildConfig } from '../../../gateway/config/load.ts'
import { announce } from './announce.ts'

const [legacy, next, shadowPercent] = process.argv.slice(2)
if (legacy === undefined || next === undefined) {
  console.error('usage: switchyard.ts <legacy-url> <new-url> [shadow-percent]')
  process.exit(2)
}
const shadow = shadowPercent === undefined ? {} : { shadow: { percent: Number(shadowPercent) } }

function rollout (name: string, percent: number) {
  return {
    name,
    enabled: true,
    strategies: [{
      name: 'flexibleRollout',
      parameters: { rollout: String(percent), stickiness: 'default', groupId: name },
      constraints: []
    }]
  }
}

const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'))
mkdirSync(join(dir, 'state'))
writeFileSync(join(dir, 'features.json'), JSON.stringify({
  version: 2,
  features: [rollout('items-api', 50), rollout('visual-search', 50)]
}))

const config = buildConfig({
  listen: { host: '127.0.0.1', port: 0 },
  admin: { host: '127.0.0.1', port: 0 },
  backends: { legacy: { url: legacy }, new: { url: next } },
  routes: [
    { name: 'items', paths: ['/items', '/items/*'], flag: 'items-api', ...shadow },
    { name: 'search', paths: ['/search_by_image'], methods: ['POST'], flag: 'visual-search' }
  ],
  flags: { file: join(dir, 'features.json') },
  state: { dir: join(dir, 'state') },
  logging: { level: 'warn' }
}, { baseDir: dir, env: {} })

const gw = await buildGateway(config)
const { proxyUrl, adminUrl } = await gw.listen()
announce({ url: proxyUrl, adminUrl }, async () => {
  try {
    await gw.shutdown()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
