// Turns Fastify's schema errors into one sentence that names the field, says what it expects and what it
// got, using the description the schema already carries.
import type { FastifySchemaValidationError } from 'fastify/types/schema.js'

interface SchemaLike { properties?: Record<string, { description?: string }>, description?: string }

export function validationMessage (
  errors: FastifySchemaValidationError[],
  context: string,
  data: unknown,
  schema: SchemaLike | undefined
): string {
  const e = errors[0]
  if (e === undefined) return `${context} is not valid`
  const params = e.params as Record<string, unknown>
  if (e.keyword === 'additionalProperties') {
    return `${context}: unknown field ${JSON.stringify(params.additionalProperty)}; allowed fields: ${Object.keys(schema?.properties ?? {}).join(', ')}`
  }
  if (e.keyword === 'required') {
    const field = String(params.missingProperty)
    const desc = schema?.properties?.[field]?.description
    return `${field}: missing; it is required${desc ? ` (${desc})` : ''}`
  }
  const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.')
  if (field === '') {
    return `${context}: expected ${schema?.description ?? 'a JSON object'}, got ${describe(data)}`
  }
  const value = field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | null)?.[k], data)
  const desc = schema?.properties?.[field]?.description ?? e.message ?? 'a valid value'
  return `${field}: expected ${desc}, got ${describe(value)}`
}

function describe (v: unknown): string {
  if (v === undefined) return 'nothing'
  const s = JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}
