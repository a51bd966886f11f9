// The state of each flag's rollout: running, paused, rolled_back or promoted. rolled_back is an override:
// its routes go to legacy whatever the percentage, and only a person ends it. States are persisted in the
// state directory, so a restart does not silently resume a rolled-back route.
import { join } from 'node:path'
import type { OverrideView } from '../routing/decide.ts'
import { readJsonIfExists, writeJsonAtomic } from './atomic-file.ts'

export type RolloutState = 'running' | 'paused' | 'rolled_back' | 'promoted'
export const ROLLOUT_STATES: readonly RolloutState[] = ['running', 'paused', 'rolled_back', 'promoted']

export interface FlagState {
  state: RolloutState
  since: string | null
  reason: string | null
  actor: string | null
}

const RUNNING: FlagState = Object.freeze({ state: 'running', since: null, reason: null, actor: null })

/** Shares a state with the other replicas before it applies here; resolves with what was stored, and when. */
export type ShareState = (flag: string, value: FlagState) => Promise<{ at: number, value: FlagState }>

interface Held { value: FlagState, at: number }

export class FlagStates implements OverrideView {
  readonly #file: string
  #states = new Map<string, Held>()
  #writes: Promise<void> = Promise.resolve()
  #share: ShareState | null = null

  constructor (stateDir: string) {
    this.#file = join(stateDir, 'flag-states.json')
  }

  async load (): Promise<void> {
    const saved = await readJsonIfExists<Record<string, FlagState & { at?: number }>>(this.#file)
    this.#states = new Map(Object.entries(saved ?? {})
      .filter(([, s]) => ROLLOUT_STATES.includes(s.state))
      .map(([flag, { at, ...value }]) => [flag, { value, at: at ?? (value.since !== null ? Date.parse(value.since) : 0) }]))
  }

  /** With several replicas: every change goes through `share` first (see gateway/cluster). */
  shareWith (share: ShareState): void {
    this.#share = share
  }

  get (flag: string): FlagState {
    return this.#states.get(flag)?.value ?? RUNNING
  }

  isOverridden (flag: string): boolean {
    return this.#states.get(flag)?.value.state === 'rolled_back'
  }

  /** Every state this replica holds, with when it was written (ms). */
  stamped (): Array<[string, Held]> {
    return [...this.#states]
  }

  stampedOf (flag: string): Held | undefined {
    return this.#states.get(flag)
  }

  /**
   * Shares (with several replicas), persists, then applies, so the routing never runs on a state that a
   * crash would forget. A failure to share or persist changes nothing.
   */
  set (flag: string, state: Omit<FlagState, 'since'>, now = new Date()): Promise<FlagState> {
    return this.#serial(async () => {
      let held: Held = { value: { ...state, since: now.toISOString() }, at: now.getTime() }
      if (this.#share !== null) held = await this.#share(flag, held.value)
      await this.#persistAndApply(flag, held)
      return held.value
    })
  }

  /** A state another replica wrote (already shared): persisted and applied here. */
  adopt (flag: string, entry: { at: number, value: FlagState }): Promise<void> {
    if (!ROLLOUT_STATES.includes(entry.value?.state)) return Promise.resolve()
    return this.#serial(() => this.#persistAndApply(flag, entry))
  }

  async #persistAndApply (flag: string, held: Held): Promise<void> {
    const next = new Map(this.#states)
    next.set(flag, held)
    await writeJsonAtomic(this.#file, Object.fromEntries([...next].map(([f, h]) => [f, { ...h.value, at: h.at }])))
    this.#states = next
  }

  #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(fn)
    this.#writes = run.then(() => {}, () => {})
    return run
  }
}
