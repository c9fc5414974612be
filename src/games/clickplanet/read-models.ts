import { encodeLeaderboard, type LeaderboardEntry } from './messages.js'
import type { Projection } from './projection.js'
import { encodeOwnershipStateFast } from './wire-encoders.js'

/** `{"data":"<base64>"}`, the body every protobuf answer travels in. */
export function dataBody(bytes: Uint8Array): Buffer {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  return Buffer.from(`{"data":"${b64}"}`, 'latin1')
}

/**
 * The query side of ClickPlanet: answers built from the projection, cached by its version.
 *
 * Lazy: a change only marks the cache stale and the next read rebuilds it, so a burst of
 * clicks between two reads costs one encoding, and a quarter of a million tiles are never
 * encoded per request. Batch reads are not cached: a 10,000-id window is encoded straight
 * from the typed arrays in well under a millisecond.
 */
export class ReadModels {
  readonly #projection: Projection
  #ownerships: { version: number; body: Buffer } | undefined
  #leaderboard: { version: number; entries: LeaderboardEntry[]; body: Buffer } | undefined

  constructor(projection: Projection) {
    this.#projection = projection
  }

  /** JSON body of the `OwnershipState` of every owned tile. */
  ownershipsBody(): Buffer {
    const v = this.#projection.version
    if (this.#ownerships?.version !== v) {
      const bytes = encodeOwnershipStateFast(this.#projection, 0, this.#projection.tileCount - 1)
      this.#ownerships = { version: v, body: dataBody(bytes) }
    }
    return this.#ownerships.body
  }

  /** JSON body of the `OwnershipState` of owned tiles with start ≤ id ≤ end (empty if start > end). */
  batchBody(start: number, end: number): Buffer {
    return dataBody(encodeOwnershipStateFast(this.#projection, start, end))
  }

  /** Countries holding at least one tile, highest score first, ties by country id. */
  leaderboard(): readonly LeaderboardEntry[] {
    return this.#leaderboardCache().entries
  }

  leaderboardBody(): Buffer {
    return this.#leaderboardCache().body
  }

  #leaderboardCache(): { entries: LeaderboardEntry[]; body: Buffer } {
    const v = this.#projection.version
    if (this.#leaderboard?.version !== v) {
      const p = this.#projection
      const entries: LeaderboardEntry[] = []
      for (let k = 1; k < p.codes.length; k++) {
        const score = p.score(k)
        if (score > 0) entries.push({ countryId: p.codes[k]!, score })
      }
      // codes are sorted, so a stable sort by score keeps ties in country id order
      entries.sort((a, b) => b.score - a.score)
      this.#leaderboard = { version: v, entries, body: dataBody(encodeLeaderboard(entries)) }
    }
    return this.#leaderboard
  }
}
