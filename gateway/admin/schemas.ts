// The admin API's request and response schemas: they validate the input and are the OpenAPI document.
export const ErrorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', description: 'a stable SY_ERR_* code' },
    error: { type: 'string' },
    message: { type: 'string', description: 'what is wrong and how to fix it' }
  }
} as const

const Reason = { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S', description: 'why, in words (1 to 500 characters)' } as const

export const FlagParams = {
  type: 'object',
  required: ['flag'],
  properties: { flag: { type: 'string', description: 'the flag name' } }
} as const

export const SetPercentBody = {
  type: 'object',
  description: 'a JSON object such as {"percent": 25, "reason": "step 2 of the plan"}',
  required: ['percent', 'reason'],
  additionalProperties: false,
  properties: {
    percent: { type: 'integer', minimum: 0, maximum: 100, description: 'an integer from 0 to 100' },
    reason: Reason
  }
} as const

export const ReasonBody = {
  type: 'object',
  description: 'a JSON object such as {"reason": "error rate of new above 5%"}',
  required: ['reason'],
  additionalProperties: false,
  properties: { reason: Reason }
} as const

export const EventsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100, description: 'an integer from 1 to 10000' },
    flag: { type: 'string', minLength: 1, description: 'a flag name' }
  }
} as const

const Event = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    actor: { type: 'string' },
    source: { type: 'string' },
    action: { type: 'string', enum: ['set_percent', 'rollback', 'resume'] },
    flag: { type: 'string' },
    from: {},
    to: {},
    reason: { type: 'string' }
  }
} as const

export const responses = {
  routes: {
    type: 'object',
    properties: {
      flag_source: { type: 'object', properties: { kind: { type: 'string' }, location: { type: 'string' } } },
      window_seconds: { type: 'integer' },
      routes: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            flag: { type: ['string', 'null'] },
            percent: { type: 'integer' },
            state: { type: 'string', enum: ['running', 'paused', 'rolled_back', 'promoted'] },
            state_reason: { type: ['string', 'null'] },
            state_since: { type: ['string', 'null'] },
            state_actor: { type: ['string', 'null'] },
            traffic: {
              type: 'object',
              properties: {
                legacy: { type: 'integer' },
                new: { type: 'integer' },
                legacy_errors: { type: 'integer' },
                new_errors: { type: 'integer' },
                new_share: { type: 'number' }
              }
            }
          }
        }
      }
    }
  },
  setPercent: {
    type: 'object',
    properties: {
      flag: { type: 'string' },
      percent: { type: 'integer' },
      previous: { type: 'integer' },
      changed: { type: 'boolean' },
      event: { anyOf: [Event, { type: 'null' }] }
    }
  },
  stateChange: {
    type: 'object',
    properties: {
      flag: { type: 'string' },
      state: { type: 'string' },
      percent: { type: 'integer' },
      previous: { type: 'integer' },
      event: Event
    }
  },
  events: { type: 'object', properties: { events: { type: 'array', items: Event } } },
  error: ErrorSchema
} as const
