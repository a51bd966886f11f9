import t from 'tap'
import { startAdminApi } from './helpers/cli-admin-api.ts'
import { runSwitchyard, type TapTest } from './helpers/cli-run.ts'

const COMMANDS = ['serve', 'status', 'rollout', 'rollback', 'pause', 'resume', 'promote', 'events', 'diffs', 'help']

function assertUsage (t: TapTest, text: string): void {
  t.match(text, /^switchyard moves a live API/)
  t.match(text, 'Usage: switchyard <command>')
  for (const command of COMMANDS) t.match(text, new RegExp(`^ {2}${command} `, 'm'), `lists ${command}`)
  for (const name of ['SWITCHYARD_ADMIN_URL', 'SWITCHYARD_ADMIN_TOKEN', 'NO_COLOR']) t.match(text, name)
  t.match(text, '\nExamples:\n  switchyard status\n')
}

t.test('help, --help and -h print the usage and succeed', async (t) => {
  for (const argv of [['help'], ['--help'], ['-h'], ['help', 'help']]) {
    const run = await runSwitchyard(t, argv)
    t.equal(run.code, 0, argv.join(' '))
    t.equal(run.stderr, '')
    assertUsage(t, run.stdout)
  }
})

t.test('no command prints the usage on stderr and exits 2', async (t) => {
  const run = await runSwitchyard(t, [])
  t.equal(run.code, 2)
  t.equal(run.stdout, '')
  assertUsage(t, run.stderr)
})

t.test('an unknown command is named, followed by the usage, with exit 2', async (t) => {
  const run = await runSwitchyard(t, ['frobnicate', '--json'])
  t.equal(run.code, 2)
  t.equal(run.stdout, '')
  t.match(run.stderr, /^Unknown command "frobnicate"\.\n\n/)
  assertUsage(t, run.stderr.slice(run.stderr.indexOf('\n\n') + 2))

  const option = await runSwitchyard(t, ['--json', 'status'])
  t.equal(option.code, 2)
  t.match(option.stderr, /^Unknown option --json: options go after the command\.\n/)
})

t.test('every command has its own help, and asking for it sends no request', async (t) => {
  const api = await startAdminApi(t)
  for (const command of COMMANDS.filter((c) => c !== 'help')) {
    for (const argv of [[command, '--help'], [command, '-h'], ['help', command]]) {
      const run = await runSwitchyard(t, argv, { env: { SWITCHYARD_ADMIN_URL: api.url } })
      t.equal(run.code, 0, argv.join(' '))
      t.match(run.stdout, new RegExp(`^Usage: switchyard ${command}`))
      t.match(run.stdout, /\nOptions:\n/)
      t.match(run.stdout, /\nExamples?:\n {2}switchyard /)
    }
  }
  const rollout = await runSwitchyard(t, ['rollout', 'items-api', '--help', '--bogus'])
  t.equal(rollout.code, 0, '--help wins over other mistakes')
  t.match(rollout.stdout, '--reason <text>')
  t.equal(api.requests.length, 0)
  t.equal((await runSwitchyard(t, ['help', 'nope'])).code, 2)
})

t.test('unknown options and values for boolean options are usage errors', async (t) => {
  const api = await startAdminApi(t)
  const env = { SWITCHYARD_ADMIN_URL: api.url }

  const unknown = await runSwitchyard(t, ['status', '--verbose'], { env })
  t.equal(unknown.code, 2)
  t.equal(unknown.stderr, 'Unknown option --verbose.\nUsage: switchyard status\nRun `switchyard status --help` for more.\n')

  const valued = await runSwitchyard(t, ['status', '--json=yes'], { env })
  t.equal(valued.code, 2)
  t.match(valued.stderr, /^--json takes no value\./)

  const twice = await runSwitchyard(t, ['rollout', 'items-api', '5', '--reason', 'a', '--reason', 'b'], { env })
  t.equal(twice.code, 2)
  t.match(twice.stderr, /^--reason was given more than once\./)

  const extra = await runSwitchyard(t, ['status', 'items'], { env })
  t.equal(extra.code, 2)
  t.match(extra.stderr, /^Unexpected argument "items"\./)

  t.equal(api.requests.length, 0)
})

t.test('serve hands its arguments to the gateway and returns its exit code', async (t) => {
  const started = await runSwitchyard(t, ['serve', '--config', 'switchyard.yaml', '--example'])
  t.equal(started.code, 0)
  t.same(started.served, [['--config', 'switchyard.yaml', '--example']])

  const failed = await runSwitchyard(t, ['serve'], { serve: async () => 78 })
  t.equal(failed.code, 78)

  const after = await runSwitchyard(t, ['serve', '--', '--help'])
  t.same(after.served, [['--', '--help']], '--help after -- belongs to the gateway')
})

t.test('an error thrown by serve is one sentence, not a stack trace', async (t) => {
  const thrown = await runSwitchyard(t, ['serve', '--config', 'missing.yaml'], {
    serve: async () => {
      throw Object.assign(new Error('cannot read the config file missing.yaml: ENOENT'), { code: 'SY_ERR_CONFIG_UNREADABLE' })
    }
  })
  t.equal(thrown.code, 1)
  t.equal(thrown.stderr, 'switchyard stopped on an unexpected error: cannot read the config file missing.yaml: ENOENT ' +
    '(SY_ERR_CONFIG_UNREADABLE)\n')
})
