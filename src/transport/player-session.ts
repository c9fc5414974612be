/**
 * A phone on `/<CODE>`: no protocol of its own. Its text frames reach the host as `from_str`,
 * its binary frames as `from`; what the host sends arrives as the bare frame.
 */
import type { WebSocket } from 'ws'
import type { CloseCode } from '../errors.js'
import type { PlayerPort } from '../rooms/player-port.js'
import type { Room } from '../rooms/room.js'
import type { Connection } from './connection.js'
import type { ServerMetrics } from '../metrics.js'

export class PlayerSession implements PlayerPort {
  readonly address: string
  #conn: Connection

  constructor(conn: Connection, room: Room, sid: string | undefined, address: string, metrics: ServerMetrics) {
    this.#conn = conn
    this.address = address
    const ws: WebSocket = conn.ws
    // Register before joining: the room may close this port during the join itself.
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      metrics.frames.in++
      metrics.bytes.in += data.byteLength
      room.post({ type: 'player-frame', port: this, data: isBinary ? data : data.toString('utf8') })
    })
    conn.onClose = () => room.post({ type: 'player-disconnect', port: this })
    room.post({ type: 'player-connect', port: this, sid })
  }

  send(data: Uint8Array | string): void {
    this.#conn.send(data)
  }

  close(code: CloseCode): void {
    this.#conn.close(code)
  }
}
