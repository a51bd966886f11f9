// Whatever a v2.0 request failed with, as one of the legacy service's errors (see toServiceError).
import type { FastifyError, FastifyRequest } from 'fastify'
import { toServiceError as mapError, type RequestErrors } from '../shared/service-error.ts'
import { v2ValidationMessage } from '../shared/v2-validation.ts'
import { errors, LegacyServiceError } from './errors.ts'

const REQUEST_ERRORS: RequestErrors<LegacyServiceError> = {
  Class: LegacyServiceError,
  badRequest: errors.BAD_REQUEST,
  badJson: errors.BAD_JSON,
  bodyTooLarge: errors.BODY_TOO_LARGE,
  unsupportedMediaType: errors.UNSUPPORTED_MEDIA_TYPE,
  internal: errors.INTERNAL,
  validationMessage: v2ValidationMessage
}

export function toServiceError (err: FastifyError | LegacyServiceError, request: FastifyRequest): LegacyServiceError {
  return mapError(err, request, REQUEST_ERRORS)
}
