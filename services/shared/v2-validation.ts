// How the v2.0 schemas are enforced, and how a failure reads. Both services that serve the v2.0 API use
// these, so the same bad request gets the same 400, word for word.
import type { FastifySchemaCompiler } from 'fastify'
import type { FastifySchemaValidationError, FastifyValidationResult } from 'fastify/types/schema.js'
import { Ajv, type ValidateFunction } from 'ajv'

interface SchemaLike {
  type?: unknown
  description?: string
  properties?: Record<string, SchemaLike>
  items?: SchemaLike
  oneOf?: Array<{ required?: string[] }>
}

/**
 * Bodies are validated as sent ("12" is not a price); query strings and path parameters are text by
 * nature, so they are coerced.
 */
export function v2ValidatorCompiler (): FastifySchemaCompiler<unknown> {
  const strict = newAjv(false)
  const coercing = newAjv('array')
  return ({ schema, httpPart }) => httpPart === 'body'
    ? strict.compile(schema as object) as FastifyValidationResult
    : finiteOnly(coercing.compile(schema as object))
}

type Validator = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null }

/**
 * Ajv coerces "1e400" and "Infinity" to Infinity for an integer, then skips minimum and maximum, which
 * only test finite numbers. Query strings and path parameters are flat, so one look at each value closes
 * that gap.
 */
function finiteOnly (validate: ValidateFunction): Validator {
  const wrapped: Validator = (data) => {
    if (!validate(data)) {
      wrapped.errors = validate.errors ?? null
      return false
    }
    const bad = Object.keys(data ?? {}).find((k) => {
      const v = (data as Record<string, unknown>)[k]
      return typeof v === 'number' && !Number.isFinite(v)
    })
    wrapped.errors = bad === undefined
      ? null
      : [{ instancePath: `/${bad}`, schemaPath: `#/properties/${bad}`, keyword: 'type', params: {}, message: 'must be a finite number' }]
    return bad === undefined
  }
  return wrapped
}

function newAjv (coerceTypes: false | 'array'): Ajv {
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, allowUnionTypes: true })
  ajv.addKeyword({
    keyword: 'decimalPlaces',
    type: 'number',
    schemaType: 'number',
    errors: false,
    // Exact on doubles: 12.34 passes, 12.345 and 0.1 + 0.2 do not.
    validate: (places: number, data: number) => Number(data.toFixed(places)) === data
  })
  return ajv
}

/** One sentence that names the field, says what it expects and what it got. */
export function v2ValidationMessage (
  errors: FastifySchemaValidationError[],
  context: string,
  data: unknown,
  schema: SchemaLike | undefined
): string {
  if (!isObject(data) && schema?.type === 'object') {
    // Ajv tries oneOf before type, and anything but an object passes both branches.
    return `${context}: expected ${schema?.description ?? 'a JSON object'}, got ${describe(data)}`
  }
  // A oneOf failure comes after the errors of its branches, which alone would mislead.
  const e = errors.find((x) => x.keyword === 'oneOf' && x.instancePath === '') ?? errors[0]
  if (e === undefined) return `${context} is not valid`
  const params = e.params as Record<string, unknown>
  const fields = Object.keys(schema?.properties ?? {})
  switch (e.keyword) {
    case 'additionalProperties':
      return `${context}: unknown ${context === 'body' ? 'field' : 'parameter'} ${JSON.stringify(params.additionalProperty)}; allowed: ${fields.join(', ')}`
    case 'required': {
      const field = String(params.missingProperty)
      const desc = schema?.properties?.[field]?.description
      return `${field}: missing; it is required${desc !== undefined ? ` (${desc})` : ''}`
    }
    case 'minProperties':
      return `${context}: send at least one of ${fields.join(', ')}`
    case 'oneOf': {
      const choices = (schema?.oneOf ?? []).map((b) => b.required?.[0]).filter((f) => f !== undefined)
      return `${context}: send exactly one of ${choices.join(' or ')}, not ${params.passingSchemas === null ? 'neither' : 'both'}`
    }
  }
  const path = e.instancePath.split('/').slice(1)
  if (path.length === 0) return `${context}: expected ${schema?.description ?? 'a JSON object'}, got ${describe(data)}`
  const value = path.reduce<unknown>((o, k) => (o as Record<string, unknown> | null | undefined)?.[k], data)
  const desc = path.reduce<SchemaLike | undefined>((s, k) => /^\d+$/.test(k) ? s?.items : s?.properties?.[k], schema)?.description
  const got = (e.keyword === 'minItems' || e.keyword === 'maxItems') && Array.isArray(value)
    ? `an array of ${value.length}`
    : describe(value)
  return `${fieldName(path)}: expected ${desc ?? e.message ?? 'a valid value'}, got ${got}`
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** embedding/5 reads as embedding[5]. */
function fieldName (path: string[]): string {
  return path.map((k, i) => /^\d+$/.test(k) ? `[${k}]` : i === 0 ? k : `.${k}`).join('')
}

function describe (v: unknown): string {
  if (v === undefined) return 'nothing'
  // JSON.parse turns 1e999 into Infinity, which JSON.stringify would show as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v)
  const s = JSON.stringify(v)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}
