/**
 * The Store: where room records, the room-code directory and game snapshots live.
 *
 * Contract (every implementation passes test/store/store-contract.ts):
 * - `reserveCode` is atomic: of concurrent reservations of one code, at most one wins, and
 *   a code that is live or cooling down is never reserved.
 * - `releaseCode` frees a code but keeps it out of circulation for `cooldownMs`, so a late
 *   phone never lands in a stranger's room.
 * - Room records are last-writer-wins documents keyed by code; `saveRoom` of a record
 *   replaces the previous one whole. Writes from one caller are applied in call order.
 * - Snapshots (see `StoredSnapshot`) are last-writer-wins blobs keyed by name: of the saves
 *   of one name from one caller, the last one called is what `loadSnapshot` returns (saves
 *   apply in call order, even concurrent ones), and the bytes returned equal the bytes
 *   saved, as a copy neither side can change through the other. A save replaces the
 *   previous one whole: after a crash at any moment a load gets one or the other, never a
 *   mix. A save that fails rejects and leaves the previous snapshot in place, whole (and
 *   leaves nothing else behind: no partial file, no temp file). `loadSnapshot` of a name
 *   never saved resolves undefined; one that exists but cannot be read back intact rejects.
 *   A snapshot survives what the implementation survives: memory, the process; memory
 *   with a data directory, restarts and crashes (written to a temp file with every write's
 *   length checked, fsync'd, renamed over; a crash's stale temp file is removed by the
 *   next process's first save); Redis, what its persistence keeps. A save resolves only
 *   once the snapshot is as durable as that.
 * - A failing store rejects the promise; callers keep serving from memory and log it.
 * The in-memory implementation is the default; Redis comes with scale-out.
 */

/**
 * A game's snapshot: opaque bytes and the event-log position they were taken at (a cold
 * node loads it, then replays the log after `position`).
 * `name` is 1–100 characters of `[A-Za-z0-9._-]`, not starting with a dot; `position` is a
 * safe integer ≥ 0. Anything else is refused (rejects with a TypeError).
 */
export interface StoredSnapshot {
  readonly position: number
  readonly bytes: Uint8Array
}

/** Everything needed to rebuild a room after its node died (except live sockets). */
export interface RoomRecord {
  readonly key: string
  readonly node: string
  readonly name: string
  readonly public: boolean
  readonly maxPlayers: number
  readonly acceptConns: boolean
  /** sha-256 of the host's resume token, hex; the token itself is never stored. */
  readonly tokenHash: string
  readonly nextId: number
  readonly players: readonly { readonly id: number; readonly sid?: string }[]
  readonly kickedSids: readonly string[]
}

export interface Store {
  /**
   * True when a saved snapshot survives this process crashing (memory with a data
   * directory: yes; memory alone: no). A game drops what a snapshot holds from its own log
   * only when it is; undefined counts as no.
   */
  readonly durableSnapshots?: boolean
  /** Reserve `code` for `node`; false if it is live or cooling down. */
  reserveCode(code: string, node: string): Promise<boolean>
  /** The node that owns a live code, if any. */
  lookupCode(code: string): Promise<string | undefined>
  /** Free a code; it cannot be reserved again for `cooldownMs`. */
  releaseCode(code: string, cooldownMs: number): Promise<void>
  saveRoom(record: RoomRecord): Promise<void>
  loadRoom(code: string): Promise<RoomRecord | undefined>
  deleteRoom(code: string): Promise<void>
  /** Replace the snapshot called `name` (see the contract above). */
  saveSnapshot(name: string, snapshot: StoredSnapshot): Promise<void>
  /** The latest snapshot called `name`, or undefined when none was ever saved. */
  loadSnapshot(name: string): Promise<StoredSnapshot | undefined>
  /** Waits for pending writes, then releases what the store holds. */
  close(): Promise<void>
}

/** @throws TypeError when `name` or `snapshot.position` break the contract's rules. */
export function checkSnapshotArgs(name: string, position?: number): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/.test(name)) {
    throw new TypeError('a snapshot name is 1-100 characters of [A-Za-z0-9._-], not starting with a dot')
  }
  if (position !== undefined && !(Number.isSafeInteger(position) && position >= 0)) {
    throw new TypeError('a snapshot position is a safe integer >= 0')
  }
}
