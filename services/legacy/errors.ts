// The legacy service's error catalogue. Every error a client can see has a stable SY_ERR_* code, an HTTP
// status and a message that says what to do. Code branches on `err.code`, never on message text.
import { errorDefiner, ServiceError } from '../shared/service-error.ts'

export class LegacyServiceError extends ServiceError {}

const define = errorDefiner(LegacyServiceError)

export const errors = {
  // Startup.
  CONFIG_INVALID: define('SY_ERR_CONFIG_INVALID', 500, (problem: string) => problem),

  // Requests.
  BAD_REQUEST: define('SY_ERR_BAD_REQUEST', 400, (why: string) => why),
  BAD_JSON: define('SY_ERR_BAD_JSON', 400, (why: string) =>
    `the request body is not valid JSON (${why}); send a JSON object`),
  BODY_TOO_LARGE: define('SY_ERR_BODY_TOO_LARGE', 413, (limit: number) =>
    `the request body is larger than ${limit} bytes; send a smaller JSON object`),
  UNSUPPORTED_MEDIA_TYPE: define('SY_ERR_UNSUPPORTED_MEDIA_TYPE', 415, (type: string) =>
    `content-type ${JSON.stringify(type)} is not accepted; send application/json`),
  NOT_FOUND: define('SY_ERR_NOT_FOUND', 404, (method: string, url: string) =>
    `${method} ${url} is not an endpoint of the v2.0 API; it has GET and POST /items, GET, PUT and DELETE /items/:id, ` +
    'POST /search_by_image and GET /healthz'),
  ITEM_NOT_FOUND: define('SY_ERR_ITEM_NOT_FOUND', 404, (id: number) =>
    `there is no item with id ${id}; GET /items lists the items`),
  ITEM_HAS_NO_EMBEDDING: define('SY_ERR_ITEM_HAS_NO_EMBEDDING', 404, (id: number) =>
    `item ${id} has no embedding to search with; send an embedding instead, or set one with PUT /items/${id}`),
  DUPLICATE_DEPOP_ID: define('SY_ERR_DUPLICATE_DEPOP_ID', 409, (depopId: string) =>
    `depop_id ${JSON.stringify(depopId)} is already taken by another item; each item needs its own depop_id`),
  INTERNAL: define('SY_ERR_INTERNAL', 500, () =>
    'the legacy service failed unexpectedly; the service log has the details')
} as const
