// unleash-client's repository contract, served from memory. The embedded mode hands this to the Unleash
// client instead of the polling repository: the client never touches the network, and a change made
// through the admin API reaches it by replace().
import { EventEmitter } from 'node:events'
import type { ClientFeaturesResponse, EnhancedFeatureInterface, FeatureInterface } from 'unleash-client/lib/feature.js'
import type { RepositoryInterface } from 'unleash-client/lib/repository/index.js'
import type { Segment } from 'unleash-client/lib/strategy/strategy.js'

export class StaticRepository extends EventEmitter implements RepositoryInterface {
  #features = new Map<string, FeatureInterface>()
  #segments = new Map<number, Segment>()
  #data: ClientFeaturesResponse

  constructor (data: ClientFeaturesResponse) {
    super()
    this.#data = data
    this.#index(data)
  }

  get data (): ClientFeaturesResponse { return this.#data }

  async start (): Promise<void> {
    // unleash-client marks itself ready and synchronized on these events.
    setImmediate(() => {
      this.emit('ready')
      this.emit('changed', this.getToggles())
    })
  }

  stop (): void {}

  replace (data: ClientFeaturesResponse): void {
    this.#data = data
    this.#index(data)
    this.emit('changed', this.getToggles())
  }

  getToggle (name: string): FeatureInterface | undefined { return this.#features.get(name) }
  getToggles (): FeatureInterface[] { return [...this.#features.values()] }
  getSegment (id: number): Segment | undefined { return this.#segments.get(id) }

  getTogglesWithSegmentData (): EnhancedFeatureInterface[] {
    return this.getToggles().map((f) => ({
      ...f,
      strategies: f.strategies?.map((s) => ({ ...s, segments: (s.segments ?? []).map((id) => this.#segments.get(id)).filter((x): x is Segment => x !== undefined) }))
    }))
  }

  #index (data: ClientFeaturesResponse): void {
    this.#features = new Map(data.features.map((f) => [f.name, f]))
    this.#segments = new Map((data.segments ?? []).map((s) => [s.id, s]))
  }
}
