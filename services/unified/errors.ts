// The unified service's own errors: those of the v3.5 API and of its configuration. The v2.0-compatible
// endpoints answer with the legacy service's errors instead, so that a client sees the same bytes whichever
// backend served it. Every error has a stable SY_ERR_* code and a message that says what to fix.
import { errorDefiner, ServiceError } from '../shared/service-error.ts'

export class UnifiedServiceError extends ServiceError {}

const define = errorDefiner(UnifiedServiceError)

export const errors = {
  // Raised by buildUnifiedService, before anything listens.
  CONFIG_INVALID: define('SY_ERR_UNIFIED_CONFIG_INVALID', 500, (key: string, problem: string) =>
    `unified service option ${key}: ${problem}`),

  // Requests the service cannot read.
  INVALID_REQUEST: define('SY_ERR_INVALID_REQUEST', 400, (why: string) => why),
  BAD_JSON: define('SY_ERR_BAD_JSON', 400, (why: string) =>
    `the request body is not valid JSON (${why}); send a JSON object`),
  BODY_TOO_LARGE: define('SY_ERR_BODY_TOO_LARGE', 413, (limit: number) =>
    `the request body is larger than ${limit} bytes; send a smaller JSON object`),
  UNSUPPORTED_MEDIA_TYPE: define('SY_ERR_UNSUPPORTED_MEDIA_TYPE', 415, (type: string) =>
    `content-type ${JSON.stringify(type)} is not accepted; send application/json`),
  BAD_CURSOR: define('SY_ERR_BAD_CURSOR', 400, (why: string) =>
    `cursor ${why}; pass next_cursor from the previous page unchanged, or leave cursor out to start from the first page`),
  PRICE_REQUIRED: define('SY_ERR_PRICE_REQUIRED', 400, (exchangeType: string) =>
    `price is required when exchange_type is ${exchangeType}; send a price, or use exchange_type swap or donate`),
  UNKNOWN_OWNER: define('SY_ERR_UNKNOWN_OWNER', 400, (ownerId: string) =>
    `owner_id ${ownerId} is not a user; send the id of an existing user, or leave owner_id out`),

  // Garments.
  GARMENT_NOT_FOUND: define('SY_ERR_GARMENT_NOT_FOUND', 404, (id: string) =>
    `there is no garment with id ${id}; GET /garments lists the garments there are`),
  GARMENT_NO_EMBEDDING: define('SY_ERR_GARMENT_NO_EMBEDDING', 409, (id: string) =>
    `garment ${id} has no embedding, so there is nothing to compare it with; PATCH an embedding onto it, or start from another garment`),

  NOT_FOUND: define('SY_ERR_NOT_FOUND', 404, (method: string, url: string) =>
    `${method} ${url} is not an endpoint of the unified service; it serves /garments, /discovery, /items and /search_by_image`),
  INTERNAL: define('SY_ERR_INTERNAL', 500, () =>
    'the unified service failed unexpectedly; its log has the details')
} as const
