// Whatever a v3.5 request failed with, as one of the unified service's errors (see toServiceError).
import type { FastifyError, FastifyRequest } from 'fastify'
import { toServiceError, type RequestErrors } from '../shared/service-error.ts'
import { errors, UnifiedServiceError } from './errors.ts'
import { validationMessage } from './validation-message.ts'

const REQUEST_ERRORS: RequestErrors<UnifiedServiceError> = {
  Class: UnifiedServiceError,
  badRequest: errors.INVALID_REQUEST,
  badJson: errors.BAD_JSON,
  bodyTooLarge: errors.BODY_TOO_LARGE,
  unsupportedMediaType: errors.UNSUPPORTED_MEDIA_TYPE,
  internal: errors.INTERNAL,
  validationMessage
}

export function toUnifiedError (err: FastifyError | UnifiedServiceError, request: FastifyRequest): UnifiedServiceError {
  return toServiceError(err, request, REQUEST_ERRORS)
}
