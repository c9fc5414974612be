/**
 * The Store: where room records and the room-code directory live.
 *
 * Contract (every implementation passes test/store/store-contract.ts):
 * - `reserveCode` is atomic: of concurrent reservations of one code, at most one wins, and
 *   a code that is live or cooling down is never reserved.
 * - `releaseCode` frees a code but keeps it out of circulation for `cooldownMs`, so a late
 *   phone never lands in a stranger's room.
 * - Room records are last-writer-wins documents keyed by code; `saveRoom` of a record
 *   replaces the previous one whole. Writes from one caller are applied in call order.
 * - A failing store rejects the promise; callers keep serving from memory and log it.
 * The in-memory implementation is the default; Redis comes with scale-out.
 */

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
  /** Reserve `code` for `node`; false if it is live or cooling down. */
  reserveCode(code: string, node: string): Promise<boolean>
  /** The node that owns a live code, if any. */
  lookupCode(code: string): Promise<string | undefined>
  /** Free a code; it cannot be reserved again for `cooldownMs`. */
  releaseCode(code: string, cooldownMs: number): Promise<void>
  saveRoom(record: RoomRecord): Promise<void>
  loadRoom(code: string): Promise<RoomRecord | undefined>
  deleteRoom(code: string): Promise<void>
  close(): Promise<void>
}
