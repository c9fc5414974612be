import type { CloseCode } from '../errors.js'

/**
 * What a Room holds of one player's connection. The room calls it; it never sees a
 * socket. `send` must not throw and must not block: an implementation that cannot keep up
 * closes its own connection (1013) and reports the disconnect to the room later.
 */
export interface PlayerPort {
  /** The client address (per-address limits; never shown to a remote host). */
  readonly address: string
  send(data: Uint8Array | string): void
  close(code: CloseCode): void
  /**
   * The join itself was refused (the room started, is full or ended, or the sid was kicked):
   * close with `code`. Unlike `close`, this counts as a failed join of the port's address.
   */
  refuse(code: CloseCode): void
}
