// The key that keeps a user on one backend: the x-user-id header, then a session cookie, then the client
// address. Hashing the same key the same way (Unleash's flexibleRollout: murmur3 of "flag:key") is what
// makes a rollout sticky and monotone.
import type { IncomingHttpHeaders } from 'node:http'

export class StickyKey {
  readonly #header: string
  readonly #cookiePrefix: string

  constructor (opts: { header: string, cookie: string }) {
    this.#header = opts.header.toLowerCase()
    this.#cookiePrefix = `${opts.cookie}=`
  }

  of (headers: IncomingHttpHeaders, clientAddress: string): string {
    const h = headers[this.#header]
    const fromHeader = Array.isArray(h) ? h[0] : h
    if (fromHeader !== undefined && fromHeader !== '') return fromHeader
    const cookie = headers.cookie
    if (cookie !== undefined) {
      const v = cookieValue(cookie, this.#cookiePrefix)
      if (v !== null && v !== '') return v
    }
    return clientAddress
  }
}

function cookieValue (header: string, prefix: string): string | null {
  let i = 0
  while (i < header.length) {
    while (header.charCodeAt(i) === 32) i++
    const end = header.indexOf(';', i)
    const stop = end === -1 ? header.length : end
    if (header.startsWith(prefix, i)) {
      let v = header.slice(i + prefix.length, stop).trim()
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1)
      return v
    }
    i = stop + 1
  }
  return null
}
