// `switchyard-migrate sync --follow` as a child process, the way it runs in production: started on the
// databases' URLs, ready once it logs that it is following, its log kept for the test's messages, and
// killed by the test's teardown if it is still running.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ROOT } from './process-serve.ts'

interface Teardown { teardown (fn: () => unknown): void }

export interface FollowerChild {
  /** How it ended ("exit 0", "SIGKILL"...), or null while it runs. */
  readonly ended: string | null
  /** The last lines of its log (stderr). */
  log (lines?: number): string
  /** Sends the signal and resolves with how it ended. */
  kill (signal: NodeJS.Signals): Promise<string>
}

const CLI = join(ROOT, 'services', 'migrate', 'bin', 'switchyard-migrate.ts')
const KEEP_LINES = 200

export async function startFollowerChild (t: Teardown, urls: { legacy: string, unified: string }, args: string[] = []): Promise<FollowerChild> {
  const env = { ...process.env, LEGACY_DATABASE_URL: urls.legacy, DATABASE_URL: urls.unified }
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'sync', '--follow', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let ended: string | null = null
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => {
    ended = signal ?? `exit ${code}`
    resolve(ended)
  }))
  t.teardown(async () => {
    if (ended !== null) return
    child.kill('SIGKILL')
    await exited
  })
  child.stdout.resume()
  const log = (n = 20): string => lines.slice(-n).join('\n')
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      lines.push(line)
      if (lines.length > KEEP_LINES) lines.shift()
      if (line.includes('"sync following both directions"')) resolve()
    })
    child.once('exit', () => reject(new Error(`the follower ended (${ended}) before it was following:\n${log()}`)))
  })
  return {
    get ended () { return ended },
    log,
    async kill (signal) {
      if (ended === null) child.kill(signal)
      return exited
    }
  }
}
