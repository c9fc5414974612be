/**
 * A system under test that hosts party rooms: one host (the TV) and players (phones)
 * exchanging binary frames. The flood drives any implementation the same way; partyline's is
 * `PartylineSystem`, the benchmark adds a bare ws relay, Socket.IO and Colyseus.
 *
 * Contract every implementation keeps:
 * - `openRoom` resolves once the room exists and players may join it; it rejects (never hangs
 *   past the caller's timeout) when the server refuses.
 * - `joinRoom` resolves once the player is in the room: a host frame broadcast after that
 *   reaches it.
 * - `HostLink.broadcast(frame)` delivers exactly `frame`'s bytes to every player in the room, as
 *   one message each; `PlayerLink.send(frame)` delivers exactly its bytes to the room's host
 *   (`HostEvents.onPlayerFrame`). Whatever routing header a system needs is added and removed
 *   inside the implementation.
 * - Per sender and receiver, order is whatever the system guarantees; the flood counts
 *   reorderings rather than assuming.
 * - `onClose` fires once per link, also after `close()`; no frame callback fires after it.
 */
export interface PartySystem {
  readonly name: string
  openRoom(options: RoomOptions, events: HostEvents): Promise<HostLink>
  joinRoom(room: HostLink, events: PlayerEvents): Promise<PlayerLink>
}

export interface RoomOptions {
  readonly maxPlayers: number
}

export interface HostEvents {
  onPlayerFrame(data: Uint8Array): void
  onClose(reason: string): void
}

export interface PlayerEvents {
  onHostFrame(data: Uint8Array): void
  onClose(reason: string): void
}

export interface HostLink {
  /** What a player needs to find this room (a room code, a room id). */
  readonly key: string
  broadcast(frame: Uint8Array): void
  /** Bytes queued on this connection and not yet handed to the kernel. */
  bufferedBytes(): number
  close(): void
}

export interface PlayerLink {
  send(frame: Uint8Array): void
  bufferedBytes(): number
  close(): void
}
