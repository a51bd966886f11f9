// Matches a request to a configured route. The route's *name* is what metrics and logs carry, never the raw
// path, so label sets stay bounded. find-my-way is Fastify's own router, so patterns mean what they mean
// in Fastify: "/items/*" is a prefix, "/ws/:session" a parameter.
import { METHODS } from 'node:http'
import FindMyWay from 'find-my-way'
import type { RouteConfig } from '../config/schema.ts'

export interface Route {
  readonly name: string
  readonly flag: string | null
  readonly failover: boolean
}

/** The route label of requests that match no configured route: they go to legacy unless pinned. */
export const UNMATCHED: Route = Object.freeze({ name: 'unmatched', flag: null, failover: false })

// A route that names no methods takes every method the gateway accepts.
const ALL_METHODS = METHODS.filter((m) => m !== 'CONNECT')

export class RouteTable {
  readonly routes: readonly Route[]
  readonly #router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>

  constructor (configs: readonly RouteConfig[]) {
    this.#router = FindMyWay({ ignoreTrailingSlash: false, ignoreDuplicateSlashes: false })
    const routes: Route[] = []
    for (const c of configs) {
      const route: Route = Object.freeze({ name: c.name, flag: c.flag ?? null, failover: c.failover })
      routes.push(route)
      for (const path of c.paths) {
        // Throws on a malformed pattern or a pattern and method another route already claims.
        this.#router.on((c.methods ?? ALL_METHODS) as FindMyWay.HTTPMethod[], path, noop, route)
      }
    }
    this.routes = Object.freeze(routes)
  }

  /** `path` is the request path without its query string. */
  match (method: string, path: string): Route {
    const found = this.#router.find(method as FindMyWay.HTTPMethod, path)
    return found === null ? UNMATCHED : (found.store as Route)
  }

  flags (): string[] {
    return [...new Set(this.routes.flatMap((r) => r.flag === null ? [] : [r.flag]))]
  }
}

function noop (): void {}
