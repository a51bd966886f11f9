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

export const RouteParams = {
  type: 'object',
  required: ['route'],
  properties: { route: { type: 'string', description: 'the route name' } }
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
    action: { type: 'string', enum: ['set_percent', 'rollback', 'resume', 'pause', 'promote'] },
    details: {},
    flag: { type: 'string' },
    from: {},
    to: {},
    reason: { type: 'string' },
    replica: { type: 'string', description: 'with several replicas: the replica the change was made through' }
  }
} as const

const Counts = { type: 'object', additionalProperties: { type: 'integer' } } as const
const ShadowRoute = {
  type: 'object',
  properties: {
    route: { type: 'string' },
    percent: { type: 'number' },
    methods: { type: 'array', items: { type: 'string' } },
    side_effect_free: { type: 'boolean' },
    noise_percent: { type: 'number' },
    inflight: { type: 'integer' },
    counts: { type: 'object', properties: { match: { type: 'integer' }, mismatch: { type: 'integer' }, error: { type: 'integer' }, dropped: { type: 'integer' } } },
    match_rate: { type: ['number', 'null'], description: 'matches over comparisons since the start; null before the first' },
    matches_with_noise: { type: 'integer' },
    window: {
      type: 'object',
      properties: { seconds: { type: 'integer' }, compared: { type: 'integer' }, mismatched: { type: 'integer' }, mismatch_rate: { type: ['number', 'null'] } }
    },
    top_fields: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, count: { type: 'integer' } } } },
    noise_fields: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, times_seen: { type: 'integer' }, first_seen: { type: 'string' }, last_seen: { type: 'string' }, absorbed: { type: 'integer' } }
      }
    },
    noise_ignored_when_full: { type: 'integer' },
    drops: Counts,
    errors: Counts,
    samples_stored: { type: 'object', properties: { stored: { type: 'integer' }, bytes: { type: 'integer' }, oversize: { type: 'integer' } } }
  }
} as const
const ShadowAnswer = {
  type: 'object',
  properties: {
    backend: { type: 'string' },
    status: { type: 'integer' },
    headers: { type: 'object', additionalProperties: true },
    body: {},
    body_format: { type: 'string', enum: ['json', 'text', 'binary'] },
    body_cut_bytes: { type: 'integer' }
  }
} as const
const ShadowSample = {
  type: 'object',
  properties: {
    time: { type: 'string' },
    request: { type: 'object', properties: { method: { type: 'string' }, path: { type: 'string' }, request_id: { type: 'string' } } },
    primary: ShadowAnswer,
    shadow: ShadowAnswer,
    differences: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, field: { type: 'string' }, kind: { type: 'string' }, primary: {}, shadow: {} }
      }
    },
    differences_omitted: { type: 'integer' },
    noise: { type: 'array', items: { type: 'string' } },
    noise_omitted: { type: 'integer' }
  }
} as const

const RuleState = {
  type: 'object',
  properties: {
    rule: { type: 'string' },
    flag: { type: 'string' },
    metric: { type: 'string' },
    threshold: { type: 'number' },
    window_seconds: { type: 'integer' },
    consecutive_required: { type: 'integer' },
    failing: { type: 'integer', description: 'failing evaluations in a row so far' },
    query: { type: 'string', description: 'promql only: the query last sent for this flag, placeholders replaced' },
    samples_query: { type: 'string', description: 'promql only: the query counting the samples, as last sent' },
    fail_when: { type: 'string', enum: ['above', 'below'], description: 'promql only: which side of the threshold fails' },
    last: {
      anyOf: [{ type: 'null' }, {
        type: 'object',
        properties: {
          at: { type: 'string' },
          status: { type: 'string', enum: ['pass', 'fail', 'inconclusive'] },
          observed: { type: ['number', 'null'] },
          samples: {
            type: 'object',
            properties: { new: { type: 'integer' }, legacy: { type: 'integer' }, query: { type: 'number', description: 'promql: the value of samples_query' } }
          },
          summary: { type: 'string' },
          error: {
            type: 'object',
            description: 'why no value could be had: the query\'s error (SY_ERR_PROMQL_*) or Prometheus unavailable (SY_ERR_PROMETHEUS_UNAVAILABLE)',
            properties: { code: { type: 'string' }, message: { type: 'string' } }
          }
        }
      }]
    }
  }
} as const

const PlanStatus = {
  type: 'object',
  properties: {
    flag: { type: 'string' },
    steps: { type: 'array', items: { type: 'integer' } },
    percent: { type: 'number' },
    state: { type: 'string' },
    next: { type: ['integer', 'null'] },
    step_started_at: { type: 'string' },
    hold_remaining_seconds: { type: 'integer' },
    requests: { type: 'object', properties: { served: { type: 'integer' }, needed: { type: 'integer' } } },
    waiting_for: { type: 'array', items: { type: 'string' } }
  }
} as const

export const responses = {
  plans: { type: 'object', properties: { plans: { type: 'array', items: PlanStatus } } },
  rules: { type: 'object', properties: { rules: { type: 'array', items: RuleState } } },
  shadowList: { type: 'object', properties: { routes: { type: 'array', items: ShadowRoute } } },
  shadowRoute: { type: 'object', properties: { ...ShadowRoute.properties, samples: { type: 'array', items: ShadowSample } } },
  routes: {
    type: 'object',
    properties: {
      flag_source: {
        type: 'object',
        properties: {
          kind: { type: 'string' },
          location: { type: 'string' },
          healthy: { type: ['boolean', 'null'], description: 'whether the flag server answered its last poll or write; null for the embedded file' },
          last_error: { type: ['string', 'null'], description: 'why the last poll or write failed; null once one succeeds, and for the embedded file' },
          pending_writes: {
            type: 'array',
            description: 'percentages the flag server could not take yet (a rollback\'s 0 % during an outage), retried until it does',
            items: { type: 'object', properties: { flag: { type: 'string' }, percent: { type: 'integer' }, since: { type: 'string' }, attempts: { type: 'integer' }, last_error: { type: 'string' }, next_attempt_at: { type: 'string' } } }
          }
        }
      },
      window_seconds: { type: 'integer' },
      rule_alerts: {
        type: 'array',
        description: 'rules whose last verdict failed (they act after consecutive_required in a row), or that could get no value (error); GET /admin/rules has every rule',
        items: {
          type: 'object',
          properties: {
            rule: { type: 'string' },
            flag: { type: 'string' },
            status: { type: 'string', enum: ['pass', 'fail', 'inconclusive'] },
            failing: { type: 'integer' },
            consecutive_required: { type: 'integer' },
            summary: { type: 'string' },
            error: { type: ['string', 'null'] }
          }
        }
      },
      replicas: {
        type: ['object', 'null'],
        description: 'null for one replica; with REDIS_URL, whether Redis answers and which replica evaluates the rules',
        properties: { redis: { type: 'string' }, redis_up: { type: 'boolean' }, leader: { type: ['string', 'null'] }, this_replica: { type: 'string' }, pending_changes: { type: 'integer' } }
      },
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
