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
    socket.on('u', (_player: number, data: Buffer) => events.onPlayerFrame(data))
    return whenOpen(socket, 'room', 'socket.io closed the host', events.onClose, (key: string) => ({
      key,
      broadcast: (frame) => socket.emit('d', frame),
      bufferedBytes: () => bufferedOf(socket),
      close: () => socket.disconnect(),
    }))
  }

  joinRoom(room: HostLink, events: PlayerEvents): Promise<PlayerLink> {
    const socket = this.#connect({ room: room.key })
    socket.on('d', (data: Buffer) => events.onHostFrame(data))
    return whenOpen(socket, 'joined', 'socket.io refused the player', events.onClose, () => ({
      send: (frame) => socket.emit('u', frame),
      bufferedBytes: () => bufferedOf(socket),
      close: () => socket.disconnect(),
    }))
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

/**
 * Resolves with `link(...)` when the server emits `ready`; rejects if the connection fails or
 * ends first. `onClose` hears every end, as the PartySystem contract asks.
 */
function whenOpen<T, A extends unknown[]>(
  socket: Socket,
  ready: string,
  refused: string,
  onClose: (reason: string) => void,
  link: (...args: A) => T,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let opened = false
    socket.on(ready, (...args: unknown[]) => {
      opened = true
      resolve(link(...(args as A)))
    })
    socket.on('connect_error', (error) => {
      if (!opened) reject(error)
      socket.disconnect()
    })
    socket.on('disconnect', (reason) => {
      if (!opened) reject(new Error(`${refused}: ${reason}`))
      onClose(reason)
    })
  })
}
