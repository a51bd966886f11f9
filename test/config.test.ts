// Configuration: the documented example loads as written; a bad file or environment variable fails at
// startup with a message that names the key and says what is expected.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { buildConfig, loadConfigFile } from '../gateway/config/load.ts'
import { tempDir } from './helpers/gateway.ts'

const EXAMPLE = `listen: { host: 0.0.0.0, port: 8080 }
admin:  { host: 127.0.0.1, port: 9090 }
backends:
  legacy: { url: http://127.0.0.1:8001 }
  new:    { url: http://127.0.0.1:8002 }
versions:
  - { prefix: /v1, backend: legacy, strip: true }
  - { prefix: /v2, backend: new, strip: true }
routes:
  - { name: items, paths: ["/items", "/items/*"], flag: items-api }
  - { name: search, paths: ["/search_by_image"], methods: [POST], flag: visual-search }
`

const base = {
  listen: { port: 8080 },
  admin: { port: 9090 },
  backends: { legacy: { url: 'http://127.0.0.1:8001' }, new: { url: 'http://127.0.0.1:8002' } }
}

t.test('the documented example loads as written, with defaults filled in', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'switchyard.yaml')
  writeFileSync(file, EXAMPLE)
  const c = loadConfigFile(file)
  t.equal(c.listen.host, '0.0.0.0')
  t.equal(c.routes[1]?.methods?.[0], 'POST')
  t.equal(c.routes[0]?.failover, true, 'failover defaults to on')
  t.equal(c.backends.new.timeouts.response_ms, 30_000)
  t.equal(c.sticky.header, 'x-user-id')
  t.equal(c.flagsFile, join(dir, 'features.json'), 'relative paths are relative to the config file')
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.backends.legacy.timeouts), 'the config is frozen')
  t.same(c.secrets, { adminToken: null, unleash: null, redis: null, prometheus: null, sentry: null })
})

t.test('the repository\'s own config is valid', async (t) => {
  const c = loadConfigFile(join(import.meta.dirname, '..', 'flags', 'switchyard.yaml'))
  t.same(c.routes.map((r) => r.name), ['items', 'search', 'sessions'])
})

t.test('secrets and ports come from the environment', async (t) => {
  const c = buildConfig(base, {
    baseDir: '/srv',
    env: {
      SWITCHYARD_PORT: '8181',
      SWITCHYARD_ADMIN_PORT: '9191',
      SWITCHYARD_ADMIN_TOKEN: 'a-long-enough-token-123',
      SWITCHYARD_NEW_URL: 'http://new.internal:3000',
      UNLEASH_URL: 'http://unleash:4242/api',
      UNLEASH_API_TOKEN: 'default:development.abc',
      UNLEASH_ADMIN_TOKEN: '*:*.admin-token',
      REDIS_URL: 'redis://:secret@redis:6379/0',
      PROMETHEUS_URL: 'http://prometheus:9090/',
      SWITCHYARD_STATE_DIR: '/var/lib/switchyard',
      SENTRY_DSN: 'https://abc123@o1.ingest.sentry.io/42'
    }
  })
  t.equal(c.listen.port, 8181)
  t.equal(c.admin.port, 9191)
  t.equal(c.backends.new.url, 'http://new.internal:3000')
  t.equal(c.stateDir, '/var/lib/switchyard')
  t.same(c.secrets, {
    adminToken: 'a-long-enough-token-123',
    unleash: { url: 'http://unleash:4242/api', apiToken: 'default:development.abc', adminToken: '*:*.admin-token' },
    redis: { url: 'redis://:secret@redis:6379/0' },
    prometheus: { url: 'http://prometheus:9090' },
    sentry: { dsn: 'https://abc123@o1.ingest.sentry.io/42', environment: 'production' }
  })
})

t.test('bad values are refused with the key, what is expected and what was given', async (t) => {
  const bad: Array<[string, unknown, Record<string, string>, RegExp]> = [
    ['a port that is text', { ...base, listen: { port: 'abc' } }, {}, /listen\.port: expected a TCP port, 0 to 65535 \(0 picks a free one\), got "abc"/],
    ['a port out of range', { ...base, admin: { port: 70000 } }, {}, /admin\.port: expected a TCP port/],
    ['an unknown key', { ...base, listen: { port: 1, hots: 'x' } }, {}, /listen\.hots: unknown key; remove it or check its spelling/],
    ['a missing backend', { ...base, backends: { legacy: base.backends.legacy } }, {}, /backends\.new: missing; it is required/],
    ['a third backend', { ...base, backends: { ...base.backends, other: { url: 'http://x' } } }, {}, /backends\.other: unknown key/],
    ['a backend URL with a query', { ...base, backends: { ...base.backends, new: { url: 'http://x:1/a?b=c' } } }, {}, /backends\.new\.url: expected the base URL, http:\/\/ or https:\/\//],
    ['a version for an unknown backend', { ...base, versions: [{ prefix: '/v3', backend: 'other' }] }, {}, /versions\[0\]\.backend: expected legacy or new, got "other"/],
    ['a route with no paths', { ...base, routes: [{ name: 'items', paths: [] }] }, {}, /routes\[0\]\.paths: expected path patterns/],
    ['a route name in capitals', { ...base, routes: [{ name: 'Items', paths: ['/items'] }] }, {}, /routes\[0\]\.name: expected a short name in lower case/],
    ['a lower-case method', { ...base, routes: [{ name: 'items', paths: ['/items'], methods: ['get'] }] }, {}, /routes\[0\]\.methods\[0\]: expected an HTTP method in capitals/],
    ['two routes with one name', { ...base, routes: [{ name: 'a', paths: ['/a'] }, { name: 'a', paths: ['/b'] }] }, {}, /routes\[1\]\.name: "a" is already the name of routes\[0\]/],
    ['two routes claiming one path', { ...base, routes: [{ name: 'a', paths: ['/x'] }, { name: 'b', paths: ['/x'] }] }, {}, /two routes claim the same path and method/],
    ['a path without a slash', { ...base, routes: [{ name: 'a', paths: ['items'] }] }, {}, /routes\[0\]\.paths\[0\]: expected a path pattern starting with \//],
    ['the reserved route name', { ...base, routes: [{ name: 'unmatched', paths: ['/u'] }] }, {}, /"unmatched" is reserved/],
    ['two versions with one prefix', { ...base, versions: [{ prefix: '/v1', backend: 'legacy' }, { prefix: '/v1', backend: 'new' }] }, {}, /versions\[1\]\.prefix: \/v1 is already used by versions\[0\]/],
    ['the admin port equal to the client port', { ...base, admin: { port: 8080 } }, {}, /admin\.port: 8080 is also listen\.port/],
    ['a bad port variable', base, { SWITCHYARD_PORT: '80a' }, /SWITCHYARD_PORT: expected a TCP port from 0 to 65535, got "80a"/],
    ['a short admin token', base, { SWITCHYARD_ADMIN_TOKEN: 'short' }, /SWITCHYARD_ADMIN_TOKEN: too short; use at least 16 random characters/],
    ['Unleash without a token', base, { UNLEASH_URL: 'http://unleash:4242/api' }, /UNLEASH_API_TOKEN: required when UNLEASH_URL is set/],
    ['an Unleash admin token without the server', base, { UNLEASH_ADMIN_TOKEN: '*:*.x' }, /UNLEASH_ADMIN_TOKEN: set without UNLEASH_URL/],
    ['a Redis URL without its scheme', base, { REDIS_URL: 'redis:6379' }, /REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL such as redis:\/\/redis:6379\/0, got "redis:6379"/],
    ['a Prometheus URL without its scheme', base, { PROMETHEUS_URL: 'prometheus:9090' }, /PROMETHEUS_URL: expected an http\(s\) URL such as http:\/\/prometheus:9090, got "prometheus:9090"/],
    ['Unleash with a bad URL', base, { UNLEASH_URL: 'unleash:4242', UNLEASH_API_TOKEN: 'x' }, /UNLEASH_URL: expected an http\(s\) URL/],
    ['a Sentry DSN that is not one', base, { SENTRY_DSN: 'sentry.io/42' }, /SENTRY_DSN: expected a Sentry DSN such as https:\/\/<key>@o0\.ingest\.sentry\.io\/<project>, got "sentry\.io\/42"/],
    ['a list instead of a mapping', ['listen'], {}, /expected a mapping of keys/]
  ]
  for (const [name, raw, env, message] of bad) {
    t.throws(() => buildConfig(raw, { baseDir: '/srv', source: 'switchyard.yaml', env }), { code: 'SY_ERR_CONFIG_INVALID', message }, name)
  }
})

t.test('every problem is reported at once', async (t) => {
  t.throws(() => buildConfig({ ...base, listen: { port: -1 }, admin: { port: 'x' } }, { baseDir: '/srv' }), {
    message: /listen\.port[\s\S]*admin\.port/
  })
})

t.test('a file that cannot be read or parsed says so', async (t) => {
  const dir = tempDir(t)
  t.throws(() => loadConfigFile(join(dir, 'missing.yaml')), { code: 'SY_ERR_CONFIG_UNREADABLE', message: /cannot read the config file .*missing\.yaml: ENOENT/ })
  const file = join(dir, 'broken.yaml')
  writeFileSync(file, 'listen: { port: 80\nadmin: [')
  t.throws(() => loadConfigFile(file), { code: 'SY_ERR_CONFIG_INVALID', message: /broken\.yaml: not valid YAML/ })
})
