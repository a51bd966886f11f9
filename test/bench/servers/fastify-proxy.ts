// Case b: @fastify/http-proxy with its defaults, the floor a Fastify gateway starts from.
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'
import { announce, upstreamArg } from './announce.ts'

const app = Fastify({ logger: false })
await app.register(proxy, { upstream: upstreamArg() })
const url = await app.listen({ host: '127.0.0.1', port: 0 })
announce({ url }, () => app.close())
