// Maps what undici and the socket layer throw to a bounded metric `kind` and the client-facing error.
// Branches on err.code only.
import { errors, type SwitchyardError } from '../errors.ts'

export type UpstreamErrorKind =
  'refused' | 'reset' | 'connect_timeout' | 'timeout' | 'body_timeout' | 'dns' | 'protocol' | 'other'

const KIND_BY_CODE: Record<string, UpstreamErrorKind> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  UND_ERR_CONNECT_TIMEOUT: 'connect_timeout',
  ETIMEDOUT: 'connect_timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'body_timeout',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'protocol',
  UND_ERR_RES_EXCEEDED_MAX_SIZE: 'protocol',
  UND_ERR_INFO: 'protocol',
  EHOSTUNREACH: 'refused',
  ENETUNREACH: 'refused'
}

export function upstreamErrorKind (err: unknown): UpstreamErrorKind {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return 'other'
  return KIND_BY_CODE[code] ?? (code.startsWith('HPE_') ? 'protocol' : 'other')
}

export function clientErrorFor (kind: UpstreamErrorKind, backend: string, cause: unknown): SwitchyardError {
  const e = kind === 'timeout' || kind === 'connect_timeout' || kind === 'body_timeout'
    ? errors.UPSTREAM_TIMEOUT(backend)
    : kind === 'protocol' ? errors.UPSTREAM_PROTOCOL(backend) : errors.UPSTREAM_UNAVAILABLE(backend)
  return Object.assign(e, { cause })
}
