// A local HTTP endpoint that stands where Sentry's ingest is (SENTRY_DSN points at it), keeping the
// envelopes that arrive, decoded.
import { gunzipSync } from 'node:zlib'
import { startUpstream } from './upstream.ts'

export interface Envelope { header: Record<string, unknown>, items: Array<{ header: Record<string, unknown>, payload: Record<string, any> }> }

export async function fakeSentry (t: Parameters<typeof startUpstream>[0]) {
  const envelopes: Envelope[] = []
  const server = await startUpstream(t, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      const lines = body.toString('utf8').split('\n').filter((l) => l !== '')
      const items: Envelope['items'] = []
      for (let i = 1; i + 1 < lines.length; i += 2) items.push({ header: JSON.parse(lines[i]!), payload: JSON.parse(lines[i + 1]!) })
      envelopes.push({ header: JSON.parse(lines[0]!), items })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  return { envelopes, dsn: `http://publickey@127.0.0.1:${server.port}/42`, seen: server.seen }
}

/** The events (exceptions and messages) among the envelopes' items. */
export const events = (envelopes: Envelope[]) => envelopes.flatMap((e) => e.items.filter((i) => i.header.type === 'event').map((i) => i.payload))
