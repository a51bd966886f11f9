// The admin API speaks snake_case, like the configuration; the shadow bookkeeping is TypeScript inside.
import type { Sample, SampleAnswer } from '../shadow/sample-ring.ts'
import type { RouteShadowView } from '../shadow/shadowing.ts'

export function shadowRouteJson (v: RouteShadowView) {
  return {
    route: v.route,
    percent: v.percent,
    methods: v.methods,
    side_effect_free: v.side_effect_free,
    noise_percent: v.noise_percent,
    inflight: v.inflight,
    counts: v.counts,
    match_rate: v.matchRate,
    matches_with_noise: v.matchesWithNoise,
    window: { seconds: v.window.seconds, compared: v.window.compared, mismatched: v.window.mismatched, mismatch_rate: v.window.rate },
    top_fields: v.topFields,
    noise_fields: v.noiseFields.map((n) => ({ field: n.field, times_seen: n.timesSeen, first_seen: n.firstSeen, last_seen: n.lastSeen, absorbed: n.absorbed })),
    noise_ignored_when_full: v.noiseIgnoredWhenFull,
    drops: v.drops,
    errors: v.errors,
    samples_stored: v.samples
  }
}

export function shadowSampleJson (s: Sample) {
  return {
    time: s.time,
    request: { method: s.request.method, path: s.request.path, request_id: s.request.requestId },
    primary: answerJson(s.primary),
    shadow: answerJson(s.shadow),
    differences: s.differences,
    differences_omitted: s.differencesOmitted,
    noise: s.noise,
    noise_omitted: s.noiseOmitted
  }
}

function answerJson (a: SampleAnswer) {
  return { backend: a.backend, status: a.status, headers: a.headers, body: a.body, body_format: a.bodyFormat, body_cut_bytes: a.bodyCutBytes }
}
