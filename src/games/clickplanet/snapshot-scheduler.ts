import type { Logger } from 'pino'
import type { Projection } from './projection.js'
import type { SnapshotStore } from './snapshot.js'

export interface SnapshotSchedulerOptions {
  /** Snapshot once the log position moved this far since the last one (≈ clicks; positions may skip). */
  readonly everyClicks: number
  /** …or after this long, if anything was applied. */
  readonly intervalMs: number
}

/**
 * Takes snapshots of the projection, at most one at a time: after `everyClicks` entries,
 * every `intervalMs` when the position moved, and once more on `close`. Copying the
 * arrays is synchronous (a few ms), so the snapshot is exactly the state at `position`.
 */
export class SnapshotScheduler {
  readonly #projection: Projection
  readonly #store: SnapshotStore
  readonly #mapChecksum: number
  readonly #every: number
  readonly #logger: Logger
  readonly #timer: NodeJS.Timeout
  #saving: Promise<void> | undefined
  /** Position of the last snapshot saved. */
  savedPosition: number

  constructor(projection: Projection, store: SnapshotStore, mapChecksum: number, opts: SnapshotSchedulerOptions, logger: Logger) {
    this.#projection = projection
    this.#store = store
    this.#mapChecksum = mapChecksum
    this.#every = opts.everyClicks
    this.#logger = logger
    this.savedPosition = projection.position
    this.#timer = setInterval(() => { void this.#save() }, opts.intervalMs)
    this.#timer.unref()
  }

  /** Call after applying entries; snapshots when enough have accumulated. */
  applied(): void {
    if (this.#saving === undefined && this.#projection.position - this.savedPosition >= this.#every) void this.#save()
  }

  #save(): Promise<void> {
    if (this.#saving !== undefined) return this.#saving
    if (this.#projection.position === this.savedPosition) return Promise.resolve()
    const state = this.#projection.state()
    this.#saving = this.#store.save({ ...state, mapChecksum: this.#mapChecksum })
      .then(() => { this.savedPosition = state.position })
      .catch((err: unknown) => { this.#logger.error({ err }, 'clickplanet: snapshot failed') })
      .finally(() => { this.#saving = undefined })
    return this.#saving
  }

  /** Stops the timer and saves a final snapshot (after any in progress). */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.#saving
    await this.#save()
  }
}
