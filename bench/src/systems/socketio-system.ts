import { io, type Socket } from 'socket.io-client'
import type { HostEvents, HostLink, PartySystem, PlayerEvents, PlayerLink } from '../../../src/flood/party-system.js'

/** Client side of `socketio-server.ts`, with the official socket.io-client. */
export class SocketIoSystem implements PartySystem {
  readonly name = 'socket.io'
  readonly #url: string

  /** `url` is the server's http(s) or ws(s) root. */
  constructor(url: string) {
    this.#url = url.replace(/^ws/, 'http').replace(/\/+$/, '')
  }

  openRoom(_options: unknown, events: HostEvents): Promise<HostLink> {
    const socket = this.#connect({ role: 'host' })
    return new Promise((resolve, reject) => {
      let opened = false
      socket.on('room', (key: string) => {
        opened = true
        resolve({
          key,
          broadcast: (frame) => socket.emit('d', frame),
          bufferedBytes: () => bufferedOf(socket),
          close: () => socket.disconnect(),
        })
      })
      socket.on('u', (_player: number, data: Buffer) => events.onPlayerFrame(data))
      socket.on('connect_error', (error) => {
        if (!opened) reject(error)
        socket.disconnect()
      })
      socket.on('disconnect', (reason) => {
        if (!opened) reject(new Error(`socket.io closed the host: ${reason}`))
        events.onClose(reason)
      })
    })
  }

  joinRoom(room: HostLink, events: PlayerEvents): Promise<PlayerLink> {
    const socket = this.#connect({ room: room.key })
    return new Promise((resolve, reject) => {
      let opened = false
      socket.on('joined', () => {
        opened = true
        resolve({
          send: (frame) => socket.emit('u', frame),
          bufferedBytes: () => bufferedOf(socket),
          close: () => socket.disconnect(),
        })
      })
      socket.on('d', (data: Buffer) => events.onHostFrame(data))
      socket.on('connect_error', (error) => {
        if (!opened) reject(error)
        socket.disconnect()
      })
      socket.on('disconnect', (reason) => {
        if (!opened) reject(new Error(`socket.io refused the player: ${reason}`))
        events.onClose(reason)
      })
    })
  }

  #connect(query: Record<string, string>): Socket {
    return io(this.#url, {
      transports: ['websocket'],
      query,
      reconnection: false,
      forceNew: true,
    })
  }
}

/** Bytes the underlying ws client still holds (engine.io keeps its own write buffer too). */
function bufferedOf(socket: Socket): number {
  const engine = socket.io.engine as unknown as { writeBuffer?: unknown[]; transport?: { ws?: { bufferedAmount?: number } } }
  return (engine.transport?.ws?.bufferedAmount ?? 0) + (engine.writeBuffer?.length ?? 0) * 64
}
