/**
 * A phone on `/<CODE>`: no protocol of its own. Its text frames reach the host as `from_str`,
 * its binary frames as `from`; what the host sends arrives as the bare frame.
 */
import type { WebSocket } from 'ws'
import type { CloseCode } from '../errors.js'
import type { PlayerEntry, PlayerPort } from '../rooms/player-port.js'
import type { AddressWindow } from './address-window.js'
import type { Connection } from './connection.js'
import type { ServerMetrics } from '../metrics.js'

export interface PlayerSessionContext {
  readonly metrics: ServerMetrics
  /** Failed joins count here: a join the room refuses (started, full, …) is one. */
  readonly joinThrottle: AddressWindow
}

/** What a phone asked for on its URL: `?sid=` and `?name=`, both checked already. */
export interface PlayerJoin {
  readonly sid: string | undefined
  readonly name: string | undefined
}

export class PlayerSession implements PlayerPort {
  readonly address: string
  #conn: Connection
  #throttle: AddressWindow

  /** Where this phone's room is: the Room on this node, or a bridge to its owner. */
  constructor(conn: Connection, room: PlayerEntry, join: PlayerJoin, address: string, ctx: PlayerSessionContext) {
    this.#conn = conn
    this.address = address
    this.#throttle = ctx.joinThrottle
    const { metrics } = ctx
    const ws: WebSocket = conn.ws
    // Register before joining: the room may close this port during the join itself.
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      metrics.frames.in++
      metrics.bytes.in += data.byteLength
      room.post({ type: 'player-frame', port: this, data: isBinary ? data : data.toString('utf8') })
    })
    conn.onClose = () => room.post({ type: 'player-disconnect', port: this })
    room.post({ type: 'player-connect', port: this, sid: join.sid, name: join.name })
  }

  send(data: Uint8Array | string): void {
    this.#conn.send(data)
  }

  close(code: CloseCode): void {
    this.#conn.close(code)
  }

  refuse(code: CloseCode): void {
    this.#throttle.take(this.address)
    this.#conn.close(code)
  }
}
