import { CloseCode } from '../../errors.js'
import type { Connection } from '../../transport/connection.js'

/**
 * The `/ws/listen` sockets. Every update is one buffer sent to all of them as is (framed once
 * for all, see transport/wire-frame.ts); a socket whose unsent bytes pass the server's
 * `maxBuffered` is closed with 1013 by its Connection and forgotten at once, so a slow reader
 * costs nobody else anything.
 */
export class ListenerHub {
  readonly #listeners = new Set<Connection>()
  dropped = 0
  sent = 0
  /** How long the last update took to hand to every socket, in ms (a figure for /metrics). */
  lastBroadcastMs = 0

  get size(): number { return this.#listeners.size }

  accept(conn: Connection): void {
    const ws = conn.ws
    if (ws.readyState !== ws.OPEN) return
    this.#listeners.add(conn)
    conn.onClose = () => this.#listeners.delete(conn)
    // Client frames carry nothing; ws answers pings itself.
    ws.on('message', ignore)
  }

  broadcast(bytes: Uint8Array): void {
    const started = performance.now()
    for (const conn of this.#listeners) {
      if (conn.send(bytes)) {
        this.sent++
      } else {
        // Closing: too slow (1013, counted here) or already on its way out.
        if (conn.closeCode === CloseCode.TryAgainLater) this.dropped++
        this.#listeners.delete(conn)
      }
    }
    this.lastBroadcastMs = performance.now() - started
  }

  closeAll(code: CloseCode): void {
    for (const conn of this.#listeners) conn.close(code)
    this.#listeners.clear()
  }
}

function ignore(): void {}
