// Case d: the least a Node proxy can do: node:http in, one undici Pool out, the body piped through.
// Plain pipe() with explicit error handling, because stream.pipeline() per request is costly on Node 20.
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { Pool } from 'undici'
import { announce, close, listen, upstreamArg } from './announce.ts'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding',
  'upgrade', 'proxy-authenticate', 'proxy-authorization', 'host'])

function endToEnd (headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const key in headers) {
    const v = headers[key]
    if (v !== undefined && !HOP_BY_HOP.has(key)) out[key] = v
  }
  return out
}

const pool = new Pool(upstreamArg(), { connections: 128 })
const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const bodyless = req.method === 'GET' || req.method === 'HEAD'
  pool.request({ method: req.method as 'GET', path: req.url ?? '/', headers: endToEnd(req.headers), body: bodyless ? null : req })
    .then(({ statusCode, headers, body }) => {
      res.writeHead(statusCode, endToEnd(headers))
      body.on('error', (err) => res.destroy(err))
      res.on('close', () => { if (!res.writableFinished) body.destroy() })
      body.pipe(res)
    }, (err: Error & { code?: string }) => {
      if (res.headersSent) return res.destroy(err)
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream error ${err.code ?? err.message}\n`)
    })
})
const url = await listen(server)
announce({ url }, async () => {
  await close(server)
  await pool.close()
})
