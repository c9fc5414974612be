/**
 * Colyseus 0.18 with a relay room: no state, no patches; binary messages are forwarded.
 * - Host: `create('relay', { host: true, maxPlayers })`; message bytes of type 0 go to every
 *   other client in the room (`broadcastBytes`).
 * - Player: `joinById(roomId)`; message bytes of type 1 go to the host, with the player's
 *   number as the message type (so the host knows who sent it, as partyline's `from`).
 * `GET /healthz` answers 200 (Colyseus' express hook).
 */
import { Room, Server, type Client } from '@colyseus/core'
import { WebSocketTransport } from '@colyseus/ws-transport'
import { portFromEnv } from './listen.js'

interface JoinOptions {
  readonly host?: boolean
  readonly maxPlayers?: number
}

class RelayRoom extends Room {
  #host: Client | undefined
  readonly #playerNumbers = new Map<string, number>()
  #nextPlayer = 1

  override onCreate(options: JoinOptions): void {
    this.maxClients = (options.maxPlayers ?? 8) + 1
    this.patchRate = null
    this.onMessageBytes(0, (client: Client, bytes: Uint8Array) => {
      if (client === this.#host) this.broadcastBytes(0, bytes, { except: client })
    })
    this.onMessageBytes(1, (client: Client, bytes: Uint8Array) => {
      const player = this.#playerNumbers.get(client.sessionId)
      if (player !== undefined) this.#host?.sendBytes(player, bytes)
    })
  }

  override onJoin(client: Client, options: JoinOptions = {}): void {
    if (options.host && this.#host === undefined) {
      this.#host = client
    } else {
      this.#playerNumbers.set(client.sessionId, this.#nextPlayer++)
    }
  }

  override onLeave(client: Client): void {
    if (client === this.#host) {
      this.#host = undefined
      void this.disconnect()
    } else {
      this.#playerNumbers.delete(client.sessionId)
    }
  }
}

const gameServer = new Server({
  transport: new WebSocketTransport({ maxPayload: 1024 * 1024 }),
  greet: false,
  express: (app) => {
    app.get('/healthz', (_req: unknown, res: { status(code: number): { end(): void } }) => {
      res.status(200).end()
    })
  },
})
gameServer.define('relay', RelayRoom)
await gameServer.listen(portFromEnv(), '127.0.0.1')

const stop = (): void => {
  setTimeout(() => process.exit(0), 2000).unref()
  void gameServer.gracefullyShutdown(true)
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
