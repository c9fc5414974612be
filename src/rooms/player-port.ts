import type { CloseCode } from '../errors.js'
import type { RoomEvent } from './room-events.js'

/**
 * What a Room holds of one player's connection. The room calls it; it never sees a
 * socket. `send` must not throw and must not block: an implementation that cannot keep up
 * closes its own connection (1013) and reports the disconnect to the room later.
 */
export interface PlayerPort {
  /** The client address (per-address limits; never shown to a remote host). */
  readonly address: string
  /** The node that holds the socket, when it is not this one (a bridged connection). */
  readonly node?: string
  send(data: Uint8Array | string): void
  close(code: CloseCode): void
  /**
   * The join itself was refused (the room started, is full or ended, or the sid was kicked):
   * close with `code`. Unlike `close`, this counts as a failed join of the port's address.
   */
  refuse(code: CloseCode): void
  /** The room took this port in as player `id` (a join, or the same player back). */
  joined?(id: number): void
}

/** What a player's connection tells its room. */
export type PlayerEvent = Extract<RoomEvent, { readonly type: 'player-connect' | 'player-frame' | 'player-disconnect' }>

/**
 * Where a player's connection posts what it does: the Room itself when it runs on this
 * node, a bridge to its owner otherwise.
 */
export interface PlayerEntry {
  post(event: PlayerEvent): void
}
