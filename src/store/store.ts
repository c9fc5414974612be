/**
 * The Store: where room records, the room-code directory, node leases and game snapshots
 * live.
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
 * - **Snapshot writer and newer-wins saves** (nodes sharing one game's snapshot): one node
 *   at a time is the *snapshot writer* of a name. `claimSnapshotWriter(name, node, ttlMs)`
 *   makes `node` the writer until `ttlMs` from now (the store's clock) and returns its
 *   `SnapshotWriter` (node and fencing epoch) when the name had no writer, its writer's
 *   time ran out, or `node` already was the writer (then the same epoch, extended);
 *   otherwise undefined. Epochs of one name only grow. `saveNewerSnapshot(name, snapshot,
 *   writer)` replaces the snapshot as `saveSnapshot` does, but only while `writer` is still
 *   the writer (else `'fenced'`) and only when the snapshot is newer, its position greater
 *   than the stored one's (else `'older'`): a snapshot is never replaced by an older one,
 *   whatever the order saves arrive in. Both checks and the write are one atomic step.
 *   `releaseSnapshotWriter` ends a writer's time at once (a graceful stop), if it still is
 *   the writer.
 * - A failing store rejects the promise (Redis down: `StoreUnavailable`, at once, never
 *   queued until it is back); callers keep serving from memory and log it.
 *
 * Cluster contract (test/store/store-cluster-contract.ts), for nodes sharing one store:
 * - **Leases.** A node is live while its lease runs: `renewLease(node, ttlMs)` makes it
 *   run until `ttlMs` from now (the store's clock: Redis's own, so nodes' clocks never
 *   matter); `dropLease` ends it at once (a graceful exit). `nodes()` lists the live nodes
 *   and the lapsed ones (with how long ago they lapsed) until their rooms expire.
 * - **Ownership.** The directory maps a code to an `Ownership`: the owner node and a
 *   fencing `epoch`. Epochs come from one counter for the whole store, so every claim and
 *   every adoption gets an epoch greater than any given before. `claimCode` is
 *   `reserveCode` that also returns the ownership; `owner` reads it.
 * - **Adoption.** `adoptRoom(code, expected, node)` moves ownership to `node` only if the
 *   entry is exactly `expected` (same node and epoch), atomically, with a new epoch; of
 *   concurrent adoptions from one `expected` exactly one wins. The store does not check
 *   leases here: whoever adopts decides why (a lapsed owner, or a hand-over).
 * - **Fencing.** Every write an owner makes in a cluster carries its ownership
 *   (`saveRoom(record, fence)`, `updateRoom`, `releaseRoom`, `restoreRoom`) and is applied
 *   only while the directory holds exactly that ownership; otherwise it rejects with
 *   `OwnershipLost` and changes nothing. A node that comes back late therefore can never
 *   write for a room another node adopted. (The unfenced forms are for a single node.)
 * - **Expiry.** A room belongs to its owner's lease. When the lease lapses, the room is
 *   an orphan: still listed (`owner`, `roomsOf`, `loadRoom`) so that a live node can adopt
 *   it, for `orphanTtlMs` (a store option). Past that, if nobody adopted it, it is gone as
 *   if released: directory entry and record removed, the code cooling down for the
 *   store's `orphanCooldownMs`. Rooms of a node that never took a lease (a single node)
 *   never expire.
 * - **Records for adoption.** A record holds all a new owner needs to rebuild the room
 *   (`RoomRecord`); `updateRoom` changes part of it (a join writes one player, not all).
 *   `adoptRoom` sets the record's `node` to the adopter.
 * - **Store lost its data** (Redis restarted empty): `restoreRoom(record, fence)` writes a
 *   room back under the owner's ownership if the code is free and not cooling down.
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

/** The node that writes a game's snapshots now, and the fencing epoch it got. */
export interface SnapshotWriter {
  readonly node: string
  readonly epoch: number
}

/** What `saveNewerSnapshot` did: saved, or not because the stored one is as new or newer, or because `writer` lost the role. */
export type NewerSnapshotResult = 'saved' | 'older' | 'fenced'

/** A player in a room record: its id and, when it joined with one, its sid. */
export interface RecordPlayer {
  readonly id: number
  readonly sid?: string
  readonly name?: string
}

/** Everything needed to rebuild a room after its node died (except live sockets). */
export interface RoomRecord {
  readonly key: string
  /** The node that owns the room (kept in step by `adoptRoom`). */
  readonly node: string
  readonly name: string
  readonly public: boolean
  readonly maxPlayers: number
  readonly acceptConns: boolean
  /** sha-256 of the host's resume token, hex; the token itself is never stored. */
  readonly tokenHash: string
  readonly nextId: number
  /** Each player with its sid and its name (`?name=`) when it gave them. */
  readonly players: readonly RecordPlayer[]
  readonly kickedSids: readonly string[]
  /** When the room was created, in ms since the epoch (its age survives an adoption). */
  readonly createdAt?: number
}

/**
 * A change to part of a record: `set` replaces the named fields, `players` adds or replaces
 * players by id, `removePlayers` removes players by id (removals apply before additions).
 */
export interface RoomPatch {
  readonly set?: Partial<Omit<RoomRecord, 'key' | 'players' | 'node'>>
  readonly players?: readonly RecordPlayer[]
  readonly removePlayers?: readonly number[]
}

/** Who owns a room: the node and the fencing epoch it got when it claimed or adopted it. */
export interface Ownership {
  readonly node: string
  readonly epoch: number
}

/** `nodes()`: live nodes, and lapsed ones whose rooms have not expired yet. */
export interface NodeList {
  readonly live: readonly string[]
  readonly lapsed: readonly LapsedNode[]
}

/**
 * A node whose lease ran out `forMs` ago (on the store's clock, so no node's clock
 * matters): it failed at most one lease length before that, after its last renewal.
 */
export interface LapsedNode {
  readonly node: string
  readonly forMs: number
}

/** A fenced write found the room owned by someone else (or by nobody): nothing changed. */
export class OwnershipLost extends Error {
  constructor(
    readonly code: string,
    readonly fence: Ownership,
    readonly current: Ownership | undefined,
  ) {
    const now = current ? `${current.node} at epoch ${current.epoch}` : 'nobody'
    super(`room ${code}: ${fence.node} at epoch ${fence.epoch} no longer owns it (now ${now})`)
    this.name = 'OwnershipLost'
  }
}

/** The store cannot be reached now; the caller may retry later (nothing was queued). */
export class StoreUnavailable extends Error {
  constructor(readonly reason: string, options?: ErrorOptions) {
    super(`store unavailable: ${reason}`, options)
    this.name = 'StoreUnavailable'
  }
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
  /** Replace a room's record; with `fence`, only while it owns the room (else `OwnershipLost`). */
  saveRoom(record: RoomRecord, fence?: Ownership): Promise<void>
  loadRoom(code: string): Promise<RoomRecord | undefined>
  deleteRoom(code: string): Promise<void>
  /** Replace the snapshot called `name` (see the contract above). */
  saveSnapshot(name: string, snapshot: StoredSnapshot): Promise<void>
  /** The latest snapshot called `name`, or undefined when none was ever saved. */
  loadSnapshot(name: string): Promise<StoredSnapshot | undefined>
  /** Become (or stay) the snapshot writer of `name` for `ttlMs` (see the contract); undefined: another node is. */
  claimSnapshotWriter(name: string, node: string, ttlMs: number): Promise<SnapshotWriter | undefined>
  /** Ends `writer`'s time as the snapshot writer of `name`, if it still is. */
  releaseSnapshotWriter(name: string, writer: SnapshotWriter): Promise<void>
  /** Replace the snapshot only if `writer` still writes `name` and the position is newer (see the contract). */
  saveNewerSnapshot(name: string, snapshot: StoredSnapshot, writer: SnapshotWriter): Promise<NewerSnapshotResult>
  /** The names of the saved snapshots that start with `prefix`, in no order. */
  snapshotNames(prefix: string): Promise<string[]>
  /**
   * Removes the snapshot called `name` (none: nothing happens); a later load gets undefined.
   * Its writer's record stays, so the name's epochs still only grow.
   */
  deleteSnapshot(name: string): Promise<void>

  /** `node` is live for `ttlMs` from now. */
  renewLease(node: string, ttlMs: number): Promise<void>
  /** `node`'s lease ends now (its rooms become orphans). */
  dropLease(node: string): Promise<void>
  nodes(): Promise<NodeList>
  /** `reserveCode` that returns the new ownership (undefined: live or cooling down). */
  claimCode(code: string, node: string): Promise<Ownership | undefined>
  /** Who owns `code` now (orphans included until they expire). */
  owner(code: string): Promise<Ownership | undefined>
  /** The codes `node` owns now (orphans included until they expire). */
  roomsOf(node: string): Promise<string[]>
  /** Move `code` from `expected` to `node` with a new epoch; undefined if the owner is not `expected`. */
  adoptRoom(code: string, expected: Ownership, node: string): Promise<Ownership | undefined>
  /** Change part of a record (see `RoomPatch`); rejects if there is no record; fenced like `saveRoom`. */
  updateRoom(code: string, patch: RoomPatch, fence?: Ownership): Promise<void>
  /** The owner ends its room: entry and record removed, the code cooling down; fenced. */
  releaseRoom(code: string, fence: Ownership, cooldownMs: number): Promise<void>
  /** Write a room back after the store lost it: entry `fence` and `record`, if the code is free (or already `fence`). */
  restoreRoom(record: RoomRecord, fence: Ownership): Promise<void>

  /** Waits for pending writes, then releases what the store holds. */
  close(): Promise<void>
}

/** Store options shared by every implementation's cluster part. */
export interface ExpiryOptions {
  /** How long a lapsed node's rooms stay adoptable (default 30 s). */
  readonly orphanTtlMs?: number
  /** How long the code of an expired orphan cools down (default 10 min). */
  readonly orphanCooldownMs?: number
}

export const DEFAULT_ORPHAN_TTL_MS = 30_000
export const DEFAULT_ORPHAN_COOLDOWN_MS = 600_000

/** Sort order of `NodeList.lapsed`. */
export const byNode = (a: LapsedNode, b: LapsedNode): number => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)

/** `record` with `patch` applied (see `RoomPatch`). */
export function patchRecord(record: RoomRecord, patch: RoomPatch): RoomRecord {
  const removed = new Set(patch.removePlayers ?? [])
  const added = new Map((patch.players ?? []).map((p) => [p.id, p]))
  const players = record.players.filter((p) => !removed.has(p.id) && !added.has(p.id)).concat([...added.values()])
  players.sort((a, b) => a.id - b.id)
  return { ...record, ...patch.set, players }
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
