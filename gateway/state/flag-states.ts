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

export class FlagStates implements OverrideView {
  readonly #file: string
  #states = new Map<string, FlagState>()
  #writes: Promise<void> = Promise.resolve()

  constructor (stateDir: string) {
    this.#file = join(stateDir, 'flag-states.json')
  }

  async load (): Promise<void> {
    const saved = await readJsonIfExists<Record<string, FlagState>>(this.#file)
    this.#states = new Map(Object.entries(saved ?? {}).filter(([, s]) => ROLLOUT_STATES.includes(s.state)))
  }

  get (flag: string): FlagState {
    return this.#states.get(flag) ?? RUNNING
  }

  isOverridden (flag: string): boolean {
    return this.#states.get(flag)?.state === 'rolled_back'
  }

  /** Persists first, then applies, so the routing never runs on a state that a crash would forget. */
  set (flag: string, state: Omit<FlagState, 'since'>, now = new Date()): Promise<FlagState> {
    const run = this.#writes.then(async () => {
      const next = new Map(this.#states)
      const value: FlagState = { ...state, since: now.toISOString() }
      next.set(flag, value)
      await writeJsonAtomic(this.#file, Object.fromEntries(next))
      this.#states = next
      return value
    })
    this.#writes = run.then(() => {}, () => {})
    return run
  }
}
