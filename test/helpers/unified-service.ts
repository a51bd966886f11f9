// A unified service on a fresh migrated database, with a clock the test moves by hand, and a way to call it
// in process that returns the status and the parsed body.
import type { FastifyInstance } from 'fastify'
import type { DatabaseHandle } from '../../services/db/database.ts'
import { buildUnifiedService, type UnifiedServiceConfig } from '../../services/unified/app.ts'
import { migratedDatabase } from './db.ts'

interface Teardown { teardown (fn: () => unknown): void }

export const GARMENT_KEYS = [
  'id', 'legacy_id', 'owner_id', 'external_id', 'source', 'original_url', 'original_image_url', 'title', 'description',
  'category', 'condition', 'size', 'brand', 'story', 'provenance', 'exchange_type', 'price', 'currency',
  'style_attributes', 'view_count', 'save_count', 'status', 'created_at', 'updated_at'
]
export const ERROR_KEYS = ['statusCode', 'code', 'error', 'message']
export const T0 = Date.parse('2024-06-01T10:00:00.000Z')

/** A clock the test moves by hand. */
export class Clock {
  ms = T0
  now = (): Date => new Date(this.ms)
  advance (ms: number): string { this.ms += ms; return new Date(this.ms).toISOString() }
}

export interface Service { app: FastifyInstance, handle: DatabaseHandle, clock: Clock }

export async function unifiedService (t: Teardown, config: UnifiedServiceConfig = {}): Promise<Service> {
  const { handle } = await migratedDatabase(t, ['legacy', 'unified'])
  const clock = new Clock()
  const app = await buildUnifiedService(config, { db: handle, now: clock.now })
  t.teardown(() => app.close())
  return { app, handle, clock }
}

export interface Answer { status: number, body: any, headers: Record<string, unknown> }

export async function call (app: FastifyInstance, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })
  })
  return { status: r.statusCode, body: r.body === '' ? undefined : JSON.parse(r.body), headers: r.headers }
}

export const jacket = {
  title: 'Indigo denim jacket',
  category: 'jackets',
  condition: 'used - good',
  story: { text: 'Bought in Osaka in 2019 and worn on every trip since.', headline: 'A jacket with miles on it' },
  price: 45.5
}

/** 768 numbers that are no catalogue item's embedding. */
export const waveVector = (seed: number): number[] => Array.from({ length: 768 }, (_, i) => Math.sin(seed * 7 + i * 0.37))
