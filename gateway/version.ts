// The gateway's version, from package.json, read once: it names the release in error reports. Run from
// source the file is one level up; compiled into dist/, two.
import { readFileSync } from 'node:fs'

function readVersion (): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'switchyard' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // Not this one: try the next.
    }
  }
  return 'unknown'
}

export const VERSION: string = readVersion()
