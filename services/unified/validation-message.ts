// Turns a schema error into one sentence that names the field (nested ones by their path, such as
// story.text or embedding.3), says what it expects, using the description the schema carries, and what it got.
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

interface SchemaLike {
  description?: string
  properties?: Record<string, SchemaLike>
  items?: SchemaLike
}

export function validationMessage (
  errors: FastifySchemaValidationError[],
  context: string,
  data: unknown,
  schema: SchemaLike | undefined
): string {
  const e = errors[0]
  if (e === undefined) return `${context} is not valid`
  const params = e.params as Record<string, unknown>
  const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  const at = schemaAt(schema, path)
  const prefix = path.length === 0 ? context : path.join('.')
  if (e.keyword === 'additionalProperties') {
    const allowed = Object.keys(at?.properties ?? {})
    return `${prefix}: unknown field ${JSON.stringify(params.additionalProperty)}; allowed fields: ${allowed.join(', ')}`
  }
  if (e.keyword === 'required') {
    const field = String(params.missingProperty)
    const desc = at?.properties?.[field]?.description
    const name = path.length === 0 ? field : `${prefix}.${field}`
    return `${name}: missing; it is required${desc !== undefined ? ` (${desc})` : ''}`
  }
  const value = path.reduce<unknown>((o, k) => (o as Record<string, unknown> | null | undefined)?.[k], data)
  const expected = at?.description ?? (path.length === 0 ? 'a JSON object' : e.message ?? 'a valid value')
  return `${prefix}: expected ${expected}, got ${describe(value)}`
}

function schemaAt (schema: SchemaLike | undefined, path: string[]): SchemaLike | undefined {
  let s = schema
  for (const key of path) {
    if (s === undefined) return undefined
    s = s.properties?.[key] ?? (/^\d+$/.test(key) ? s.items : undefined)
  }
  return s
}

function describe (v: unknown): string {
  if (v === undefined) return 'nothing'
  const s = JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}
