// The mechanics both services' error catalogues share: an error with a stable SY_ERR_* code, an HTTP status
// and a message that says what to do; the factories a catalogue is made of; and the mapping of whatever a
// request failed with (a schema failure, a body Fastify could not parse, a bug) onto a catalogue's errors,
// keeping the original as the cause. Each service keeps its own class, so it can tell its errors apart.
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyRequest, FastifySchemaValidationError } from 'fastify'

export interface ServiceErrorJson {
  statusCode: number
  code: string
  error: string
  message: string
}

export class ServiceError extends Error {
  readonly code: string
  readonly statusCode: number

  constructor (code: string, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    this.statusCode = statusCode
  }

  toJSON (): ServiceErrorJson {
    return { statusCode: this.statusCode, code: this.code, error: STATUS_CODES[this.statusCode] ?? 'Error', message: this.message }
  }
}

type ErrorClass<E extends ServiceError> = new (code: string, statusCode: number, message: string, options?: { cause?: unknown }) => E

export type Factory<E extends ServiceError, A extends unknown[]> = ((...args: A) => E) & { code: string, statusCode: number }

/** The `define` of a catalogue whose errors are instances of `Class`. */
export function errorDefiner<E extends ServiceError> (Class: ErrorClass<E>) {
  return function define<A extends unknown[]> (code: string, statusCode: number, message: (...args: A) => string): Factory<E, A> {
    const make = (...args: A): E => new Class(code, statusCode, message(...args))
    return Object.assign(make, { code, statusCode })
  }
}

/** What toServiceError needs of a catalogue. */
export interface RequestErrors<E extends ServiceError> {
  Class: ErrorClass<E>
  badRequest: Factory<E, [why: string]>
  badJson: Factory<E, [why: string]>
  bodyTooLarge: Factory<E, [limit: number]>
  unsupportedMediaType: Factory<E, [type: string]>
  internal: Factory<E, []>
  validationMessage: (errors: FastifySchemaValidationError[], context: string, data: unknown, schema: never) => string
}

export function toServiceError<E extends ServiceError> (err: FastifyError | E, request: FastifyRequest, c: RequestErrors<E>): E {
  if (err instanceof c.Class) return err
  const e = err as FastifyError & { validationContext?: string }
  const wrap = (made: E): E => Object.assign(made, { cause: err })
  if (e.validation !== undefined) {
    const context = e.validationContext ?? 'body'
    const data = context === 'querystring' ? request.query : context === 'params' ? request.params : request.body
    const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context]
    return wrap(c.badRequest(c.validationMessage(e.validation, context, data, schema as never)))
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return wrap(c.bodyTooLarge(request.routeOptions.bodyLimit ?? request.server.initialConfig.bodyLimit ?? 0))
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return wrap(c.unsupportedMediaType(String(request.headers['content-type'] ?? '')))
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return wrap(c.badJson(e.message))
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return wrap(c.badJson('the body is empty'))
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return wrap(c.badRequest('content-length does not match the body sent'))
  }
  if (e.statusCode === 400 && err instanceof SyntaxError) return wrap(c.badJson(err.message))
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new c.Class(e.code ?? c.badRequest.code, e.statusCode, e.message, { cause: err })
  }
  return wrap(c.internal())
}
