import WebSocket from 'ws'
import type { HostEvents, HostLink, PartySystem, PlayerEvents, PlayerLink } from '../../../src/flood/party-system.js'

const BROADCAST = Buffer.from([0])

/** Client side of `ws-relay-server.ts`. */
export class WsRelaySystem implements PartySystem {
  readonly name = 'ws-relay'
  readonly #base: string

  constructor(url: string) {
    this.#base = url.replace(/\/+$/, '')
  }

  openRoom(_options: unknown, events: HostEvents): Promise<HostLink> {
    const ws = new WebSocket(`${this.#base}/host`, { perMessageDeflate: false })
    return new Promise((resolve, reject) => {
      let opened = false
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary) {
          events.onPlayerFrame(data.subarray(2))
        } else if (!opened) {
          opened = true
          resolve({
            key: data.toString(),
            broadcast: (frame) => ws.send(Buffer.concat([BROADCAST, frame])),
            bufferedBytes: () => ws.bufferedAmount,
            close: () => ws.close(1000),
          })
        }
      })
      ws.on('error', (error) => {
        if (!opened) reject(error)
      })
      ws.on('close', (code) => {
        if (!opened) reject(new Error(`ws-relay closed the host: ${code}`))
        events.onClose(String(code))
      })
    })
  }

  joinRoom(room: HostLink, events: PlayerEvents): Promise<PlayerLink> {
    const ws = new WebSocket(`${this.#base}/${room.key}`, { perMessageDeflate: false })
    return new Promise((resolve, reject) => {
      let opened = false
      ws.on('open', () => {
        opened = true
        resolve({
          send: (frame) => ws.send(frame),
          bufferedBytes: () => ws.bufferedAmount,
          close: () => ws.close(1000),
        })
      })
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary) events.onHostFrame(data)
      })
      ws.on('error', (error) => {
        if (!opened) reject(error)
      })
      ws.on('close', (code) => {
        if (!opened) reject(new Error(`ws-relay refused the player: ${code}`))
        events.onClose(String(code))
      })
    })
  }
}
