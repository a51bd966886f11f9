// Where the admin API is and who is calling it, read from the environment once per run.
import { hostname } from 'node:os'
import { usageError } from './cli-error.ts'

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090'

export interface AdminSettings {
  url: string
  token: string | undefined
  actor: string
}

// Errors here are about the environment, not the command line, so they carry no usage line.
// Header values are bytes, and fetch rejects anything outside visible ASCII with an error that would read
// like a network failure, so a bad value is named here instead.
const HEADER_SAFE = /^[\u0021-\u007e]+$/

export function readAdminSettings (env: Record<string, string | undefined>): AdminSettings {
  const raw = nonEmpty(env.SWITCHYARD_ADMIN_URL) ?? DEFAULT_ADMIN_URL
  let url: URL
  try {
    url = new URL(raw)
  } catch (err) {
    throw usageError(`SWITCHYARD_ADMIN_URL is not a URL: ${JSON.stringify(raw)}. ` +
      `Set it to the gateway's admin address, as in ${DEFAULT_ADMIN_URL}.`, { cause: err, usage: '' })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`SWITCHYARD_ADMIN_URL must be an http:// or https:// address, got ${JSON.stringify(raw)}. ` +
      `Set it to the gateway's admin address, as in ${DEFAULT_ADMIN_URL}.`, { usage: '' })
  }

  const token = nonEmpty(env.SWITCHYARD_ADMIN_TOKEN)
  if (token !== undefined && !HEADER_SAFE.test(token)) {
    throw usageError('SWITCHYARD_ADMIN_TOKEN contains spaces or characters that cannot be sent in an HTTP header. ' +
      'Check that it holds the token alone, with no quotes or line breaks.', { usage: '' })
  }

  return { url: raw.replace(/\/+$/, ''), token, actor: actorName(env) }
}

/** user@host, as recorded in the audit log. */
export function actorName (env: Record<string, string | undefined>): string {
  const user = nonEmpty(env.USER) ?? nonEmpty(env.LOGNAME) ?? 'unknown'
  return `${user}@${hostname()}`.replace(/[^\u0021-\u007e]/g, '?')
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
