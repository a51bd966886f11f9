// Turns whatever a v3.5 request failed with (a schema failure, a body Fastify could not parse, a bug) into one
// of the catalogue's errors, keeping the original as its cause.
import type { FastifyError, FastifyRequest } from 'fastify'
import { errors, isUnifiedServiceError, UnifiedServiceError } from './errors.ts'
import { validationMessage } from './validation-message.ts'

export function toUnifiedError (err: FastifyError | UnifiedServiceError, request: FastifyRequest): UnifiedServiceError {
  if (isUnifiedServiceError(err)) return err
  const e = err as FastifyError & { validationContext?: string }
  const wrap = (made: UnifiedServiceError): UnifiedServiceError => Object.assign(made, { cause: err })
  if (e.validation !== undefined) {
    const context = e.validationContext ?? 'body'
    const data = context === 'querystring' ? request.query : context === 'params' ? request.params : request.body
    const schema = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[context]
    return wrap(errors.INVALID_REQUEST(validationMessage(e.validation, context, data, schema as never)))
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return wrap(errors.BODY_TOO_LARGE(request.routeOptions.bodyLimit ?? request.server.initialConfig.bodyLimit ?? 0))
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return wrap(errors.UNSUPPORTED_MEDIA_TYPE(String(request.headers['content-type'] ?? '')))
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return wrap(errors.BAD_JSON(e.message))
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return wrap(errors.BAD_JSON('the body is empty'))
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return wrap(errors.INVALID_REQUEST('content-length does not match the body sent'))
  }
  if (e.statusCode === 400 && err instanceof SyntaxError) return wrap(errors.BAD_JSON(err.message))
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new UnifiedServiceError(e.code ?? errors.INVALID_REQUEST.code, e.statusCode, e.message, { cause: err })
  }
  return wrap(errors.INTERNAL())
}
