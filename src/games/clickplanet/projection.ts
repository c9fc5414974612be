import { COUNTRY_CODES, countryIndex } from './country-codes.js'
import type { LogEntry } from './event-log.js'
import { encodeUpdateNotificationFast, type OwnershipColumns } from './wire-encoders.js'

/** An owner change, with its `UpdateNotification` encoded once for every listener. */
export interface OwnerChange {
  readonly tileId: number
  readonly countryId: string
  readonly previousCountryId: string
  /** The encoded `UpdateNotification`; the same buffer goes to every socket. Do not mutate. */
  readonly bytes: Buffer
}
export type OwnerChangeListener = (change: OwnerChange) => void

/** The projection's state at a log position (what a snapshot stores). */
export interface ProjectionState {
  readonly position: number
  /** Owner code of each index; index 0 is "no owner" and its code is ''. */
  readonly codes: readonly string[]
  readonly owners: Uint8Array
  readonly timesNs: BigUint64Array
}

/**
 * Tile owners and country scores, built by applying the click log strictly in order.
 *
 * The single writer of ClickPlanet's read side: owners and click times live in typed
 * arrays indexed by tile, scores are kept incrementally (O(1) per click), and every owner
 * change is encoded once and handed to the listeners. `version` changes whenever anything
 * visible changes, which is what read-model caches key on.
 */
export class Projection implements OwnershipColumns {
  readonly owners: Uint8Array
  readonly timesNs: BigUint64Array
  readonly codes: readonly string[] = ['', ...COUNTRY_CODES]
  readonly #scores = new Uint32Array(COUNTRY_CODES.length + 1)
  readonly #listeners = new Set<OwnerChangeListener>()
  #position = 0
  #version = 0
  #changedAt = 0
  /** Entries skipped because they do not fit this map (another map's log, corruption). */
  skipped = 0
  /** Entries skipped because their position was already applied (redelivered). */
  duplicates = 0

  constructor(readonly tileCount: number) {
    this.owners = new Uint8Array(tileCount)
    this.timesNs = new BigUint64Array(tileCount)
  }

  /** Position of the last applied log entry. */
  get position(): number { return this.#position }
  /** Changes whenever owners or scores change. */
  get version(): number { return this.#version }
  /**
   * Log position of the last entry that changed owners or scores (0: none yet). Two states
   * with the same `changedAt` read the same, so read models are keyed on it. It never goes
   * back: after a rebuild onto an earlier position (a replaced log) it counts on from where
   * it was until the log's positions pass it.
   */
  get changedAt(): number { return this.#changedAt }

  /** Tiles held by the owner index `k` (see `codes`). */
  score(k: number): number { return this.#scores[k] ?? 0 }

  onChange(listener: OwnerChangeListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  /**
   * Applies one log entry. Positions only need to increase (a JetStream stream skips
   * numbers); an entry at or before `position` is a redelivery (the log delivers at least
   * once) and is skipped, so no click is ever applied twice.
   */
  apply(entry: LogEntry): void {
    if (!(entry.position > this.#position)) {
      this.duplicates++
      return
    }
    this.#position = entry.position
    const { tileId, countryId, timestampNs } = entry.click
    const k = countryIndex(countryId)
    if (k === 0 || !(tileId >= 0 && tileId < this.tileCount)) {
      this.skipped++
      return
    }
    const previous = this.owners[tileId]!
    if (previous === k) return
    this.owners[tileId] = k
    this.timesNs[tileId] = timestampNs
    this.#scores[k]!++
    if (previous !== 0) this.#scores[previous]!--
    this.#version++
    this.#changedAt = entry.position > this.#changedAt ? entry.position : this.#changedAt + 1
    if (this.#listeners.size === 0) return
    const previousCountryId = this.codes[previous]!
    const change: OwnerChange = {
      tileId, countryId, previousCountryId,
      bytes: encodeUpdateNotificationFast(tileId, countryId, previousCountryId),
    }
    for (const listener of this.#listeners) {
      try {
        listener(change)
      } catch {
        // A failing listener must not stop the projection or the other listeners.
      }
    }
  }

  /** A copy of the state, for a snapshot. */
  state(): ProjectionState {
    return { position: this.#position, codes: this.codes, owners: this.owners.slice(), timesNs: this.timesNs.slice() }
  }

  /**
   * Replaces the state with a snapshot's. Owner codes are mapped by name, so a snapshot
   * taken with another country list still loads; a code unknown now leaves its tiles unowned.
   */
  restore(s: ProjectionState): void {
    if (s.owners.length !== this.tileCount || s.timesNs.length !== this.tileCount) {
      throw new Error(`snapshot has ${s.owners.length} tiles, the map ${this.tileCount}`)
    }
    const remap = Uint8Array.from(s.codes, (c) => (c === '' ? 0 : countryIndex(c)))
    this.#scores.fill(0)
    for (let t = 0; t < this.tileCount; t++) {
      const k = remap[s.owners[t]!] ?? 0
      this.owners[t] = k
      this.timesNs[t] = k === 0 ? 0n : s.timesNs[t]!
      this.#scores[k]!++
    }
    this.#scores[0] = 0
    this.#position = s.position
    this.#changedAt = s.position > this.#changedAt ? s.position : this.#changedAt + 1
    this.#version++
  }

  /** Back to no owners at position 0 (a rebuild from the start of a log). */
  reset(): void {
    this.restore({ position: 0, codes: this.codes, owners: new Uint8Array(this.tileCount), timesNs: new BigUint64Array(this.tileCount) })
  }
}
