// Step 1 of the decision: an explicit API version pins the backend. A path prefix (/v1, /v2) wins over
// the Accept-Version header; the prefix is stripped before forwarding when the version says so.
import type { BackendId, VersionConfig } from '../config/schema.ts'
import { errors } from '../errors.ts'

export interface VersionPin {
  readonly backend: BackendId
  readonly prefix: string
}

export interface ResolvedTarget {
  /** The pinning version, or null when the request names none. */
  readonly pin: VersionPin | null
  /** The path the route table matches: without the query, and without a stripped prefix. */
  readonly path: string
  /** The path and query sent upstream (before the backend's own base path). */
  readonly upstreamPath: string
}

export function acceptVersionOf (v: VersionConfig): string {
  return v.accept_version ?? v.prefix.replace(/^\/v?/, '')
}

interface CompiledVersion extends VersionPin { readonly strip: boolean }

export class VersionResolver {
  readonly #byPrefix: CompiledVersion[]
  readonly #byHeader: Map<string, CompiledVersion>
  readonly #header: string

  constructor (versions: readonly VersionConfig[], header: string) {
    this.#byPrefix = versions.map((v) => Object.freeze({ backend: v.backend, prefix: v.prefix, strip: v.strip }))
    this.#byHeader = new Map(versions.map((v, i) => [acceptVersionOf(v), this.#byPrefix[i]!]))
    this.#header = header.toLowerCase()
  }

  get header (): string { return this.#header }

  /** `url` is the request target as received (path and query). Throws SY_ERR_UNKNOWN_VERSION. */
  resolve (url: string, headerValue: string | string[] | undefined): ResolvedTarget {
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    for (const v of this.#byPrefix) {
      const n = v.prefix.length
      if (path.startsWith(v.prefix) && (path.length === n || path.charCodeAt(n) === 47 /* / */)) {
        if (!v.strip) return { pin: v, path, upstreamPath: url }
        const rest = path.length === n ? '/' : path.slice(n)
        return { pin: v, path: rest, upstreamPath: q === -1 ? rest : rest + url.slice(q) }
      }
    }
    if (headerValue !== undefined) {
      const value = (Array.isArray(headerValue) ? headerValue[0] ?? '' : headerValue).trim()
      const v = this.#byHeader.get(value)
      if (v === undefined) throw errors.UNKNOWN_VERSION(this.#header, value, [...this.#byHeader.keys()])
      return { pin: v, path, upstreamPath: url }
    }
    return { pin: null, path, upstreamPath: url }
  }
}
