import type { Logger } from 'pino'
import type { Projection } from './projection.js'
import type { SnapshotStore } from './snapshot.js'

export interface SnapshotSchedulerOptions {
  /** Snapshot once the log position moved this far since the last one (≈ clicks; positions may skip). */
  readonly everyClicks: number
  /** …or after this long, if anything was applied. */
  readonly intervalMs: number
  /** `EventLog.id` of the log the projection follows, recorded in every snapshot (read at each save: a log may be replaced). */
  readonly logId: () => string
  /** Called after a snapshot is saved (the Store has it, as durably as it promises), with the log id it records. */
  readonly onSaved?: (position: number, logId: string) => void
}

/**
 * Takes snapshots of the projection, at most one at a time: after `everyClicks` entries,
 * every `intervalMs` when the position moved, and once more on `close`. Copying the
 * arrays is synchronous (a few ms), so the snapshot is exactly the state at `position`.
 * A save that fails leaves the previous snapshot in place (the Store's contract); it is
 * logged and counted, and the next one is tried at the next occasion.
 */
export class SnapshotScheduler {
  readonly #projection: Projection
  readonly #store: SnapshotStore
  readonly #mapChecksum: number
  readonly #every: number
  readonly #logId: () => string
  readonly #onSaved: ((position: number, logId: string) => void) | undefined
  readonly #logger: Logger
  readonly #timer: NodeJS.Timeout
  #saving: Promise<void> | undefined
  /** Position of the last save tried (saved or skipped): the cadence counts from it. */
  #triedPosition: number
  /** Position of the last snapshot saved (or restored from). */
  savedPosition: number
  /** When the last snapshot was saved (ms since the epoch; 0: none by this process). */
  savedAt = 0
  /** Snapshots saved. */
  saves = 0
  /** Saves skipped because another node writes the snapshots or a newer one is stored. */
  skipped = 0
  /** Snapshots that failed to save. */
  failures = 0

  constructor(projection: Projection, store: SnapshotStore, mapChecksum: number, opts: SnapshotSchedulerOptions, logger: Logger) {
    this.#projection = projection
    this.#store = store
    this.#mapChecksum = mapChecksum
    this.#every = opts.everyClicks
    this.#logId = opts.logId
    this.#onSaved = opts.onSaved
    this.#logger = logger
    this.savedPosition = projection.position
    this.#triedPosition = projection.position
    this.#timer = setInterval(() => { void this.#save() }, opts.intervalMs)
    this.#timer.unref()
  }

  /** Call after applying entries; snapshots when enough have accumulated. */
  applied(): void {
    if (this.#saving === undefined && this.#projection.position - Math.max(this.savedPosition, this.#triedPosition) >= this.#every) void this.#save()
  }

  #save(): Promise<void> {
    if (this.#saving !== undefined) return this.#saving
    if (this.#projection.position === this.savedPosition || this.#projection.position === this.#triedPosition) return Promise.resolve()
    const state = this.#projection.state()
    this.#triedPosition = state.position
    let saved = false
    const logId = this.#logId()
    this.#saving = this.#store.save({ ...state, mapChecksum: this.#mapChecksum, logId })
      .then((result) => {
        if (result === false) {
          this.skipped++
          return
        }
        saved = true
        this.saves++
        this.savedPosition = state.position
        this.savedAt = Date.now()
        this.#onSaved?.(state.position, logId)
      }, (err: unknown) => {
        this.failures++
        this.#triedPosition = this.savedPosition
        this.#logger.error({ err, position: state.position, previous: this.savedPosition },
          `clickplanet: snapshot at ${state.position} failed; ${this.savedPosition === 0 ? 'there is no previous snapshot' : `the previous snapshot at ${this.savedPosition} stays in place`}`)
      })
      .finally(() => {
        this.#saving = undefined
        // Entries applied during the save may have made the next one due already (after a
        // failure, the next entry or the timer tries again, not a tight loop).
        if (saved) this.applied()
      })
    return this.#saving
  }

  /** Stops the timer and saves a final snapshot (after any in progress). */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.#saving
    await this.#save()
  }
}
