/**
 * Liveness: every `intervalMs` each socket is pinged; a socket that has missed two pings in a
 * row (no pong) is terminated, which ends it like any other disconnect (and so starts the
 * host's or the player's grace period). One timer serves every socket.
 *
 * Only pongs count, not data frames: every WebSocket implementation answers pings by itself
 * (browsers included), and a listener on 'message' would cost every frame of every socket.
 * The socket's Connection listens for pongs and reports them (`alive`).
 */
import type { WebSocket } from 'ws'

export class Heartbeat {
  #missed = new Map<WebSocket, number>()
  #timer: NodeJS.Timeout

  constructor(intervalMs: number) {
    this.#timer = setInterval(() => this.#tick(), intervalMs)
    this.#timer.unref()
  }

  watch(ws: WebSocket): void {
    this.#missed.set(ws, 0)
  }

  /** A pong came from `ws`. */
  alive(ws: WebSocket): void {
    if (this.#missed.has(ws)) this.#missed.set(ws, 0)
  }

  /** Forget a socket that has closed. */
  unwatch(ws: WebSocket): void {
    this.#missed.delete(ws)
  }

  stop(): void {
    clearInterval(this.#timer)
  }

  #tick(): void {
    for (const [ws, missed] of this.#missed) {
      if (missed >= 2) {
        this.#missed.delete(ws)
        ws.terminate()
        continue
      }
      this.#missed.set(ws, missed + 1)
      try {
        ws.ping()
      } catch {
        // The socket closed between ticks; its 'close' removes it.
      }
    }
  }
}
