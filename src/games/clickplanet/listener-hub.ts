import type { WebSocket } from 'ws'

/** Close code for a listener dropped because it reads too slowly ("try again later"). */
export const CLOSE_TOO_SLOW = 1013
/** Close code on shutdown: the service restarts, reconnect (elsewhere). */
export const CLOSE_RESTART = 1012

/**
 * The `/ws/listen` sockets. Every update is one buffer sent to all of them as is; a socket
 * whose unsent bytes pass `maxBuffered` is closed with 1013 and forgotten at once, so a
 * slow reader costs nobody else anything.
 */
export class ListenerHub {
  readonly #sockets = new Set<WebSocket>()
  readonly #maxBuffered: number
  dropped = 0
  sent = 0

  constructor(maxBuffered: number) {
    this.#maxBuffered = maxBuffered
  }

  get size(): number { return this.#sockets.size }

  accept(ws: WebSocket): void {
    this.#sockets.add(ws)
    const forget = (): void => { this.#sockets.delete(ws) }
    ws.on('close', forget)
    ws.on('error', forget)
    // Client frames carry nothing; ws answers pings itself.
    ws.on('message', () => {})
    if (ws.readyState !== ws.OPEN) forget()
  }

  broadcast(bytes: Uint8Array): void {
    for (const ws of this.#sockets) {
      if (ws.readyState !== ws.OPEN) {
        this.#sockets.delete(ws)
        continue
      }
      if (ws.bufferedAmount > this.#maxBuffered) {
        this.#sockets.delete(ws)
        this.dropped++
        ws.close(CLOSE_TOO_SLOW, 'listener too slow')
        continue
      }
      ws.send(bytes, { binary: true })
      this.sent++
    }
  }

  closeAll(code: number, reason: string): void {
    for (const ws of this.#sockets) ws.close(code, reason)
    this.#sockets.clear()
  }
}
