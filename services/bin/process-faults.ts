// What a long-running Switchyard process (the gateway, a service) does with a bug of its own that escapes
// every handler, where Node's default would end the process and every request in flight with it:
// - a promise rejected with no handler is a failure confined to what that promise did: it is logged and
//   reported, and the process serves on;
// - an exception nobody caught leaves the process in a state nobody knows: it is logged and reported, the
//   process shuts down gracefully (in-flight requests are answered) and exits 1, for its supervisor to
//   start a fresh one. A second one, or one during a shutdown already under way, or a shutdown that
//   outlasts `shutdownMs`, exits at once.

export type FaultKind = 'unhandled_rejection' | 'uncaught_exception'

export interface FaultHandling {
  /** Who is speaking in the logs: "the gateway", "the legacy service". */
  name: string
  log: { error: (o: object, msg: string) => void, fatal: (o: object, msg: string) => void }
  /** Where the fault is reported besides the log (Sentry for the gateway). */
  report?: (err: unknown, kind: FaultKind) => void
  /** Starts the graceful shutdown with this exit code; false when one is already under way. */
  stop: (reason: string, code: number) => boolean
  /** The longest the shutdown after an exception may take. */
  shutdownMs: number
}

export function handleProcessFaults (h: FaultHandling): void {
  const report = (err: unknown, kind: FaultKind): void => {
    try {
      h.report?.(err, kind)
    } catch {
      // The log line above already has it.
    }
  }
  process.on('unhandledRejection', (reason) => {
    h.log.error({ err: reason }, `a promise was rejected and nothing handled it (a bug of ${h.name}; report it): serving on`)
    report(reason, 'unhandled_rejection')
  })
  process.on('uncaughtException', (err) => {
    h.log.fatal({ err }, `an exception nobody caught (a bug of ${h.name}; report it): draining and exiting`)
    report(err, 'uncaught_exception')
    if (!h.stop('uncaughtException', 1)) process.exit(1)
    setTimeout(() => process.exit(1), h.shutdownMs).unref()
  })
}
