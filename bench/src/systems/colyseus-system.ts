import { Client, type Room } from '@colyseus/sdk'
import type { HostEvents, HostLink, PartySystem, PlayerEvents, PlayerLink, RoomOptions } from '../../../src/flood/party-system.js'

/** Client side of `colyseus-server.ts`, with the official @colyseus/sdk (HTTP matchmaking, then ws). */
export class ColyseusSystem implements PartySystem {
  readonly name = 'colyseus'
  readonly #client: Client

  constructor(url: string) {
    this.#client = new Client(url.replace(/^ws/, 'http').replace(/\/+$/, ''))
  }

  async openRoom(options: RoomOptions, events: HostEvents): Promise<HostLink> {
    const room = await this.#client.create('relay', { host: true, maxPlayers: options.maxPlayers })
    room.onMessage('*', (_type: string | number, payload: unknown) => {
      if (payload instanceof Uint8Array) events.onPlayerFrame(payload)
    })
    room.onLeave((code: number) => events.onClose(String(code)))
    return {
      key: room.roomId,
      broadcast: (frame) => room.sendBytes(0, frame),
      bufferedBytes: () => bufferedOf(room),
      close: () => void room.leave(true).catch(() => {}),
    }
  }

  async joinRoom(host: HostLink, events: PlayerEvents): Promise<PlayerLink> {
    const room = await this.#client.joinById(host.key)
    room.onMessage(0, (payload: Uint8Array) => events.onHostFrame(payload))
    room.onLeave((code: number) => events.onClose(String(code)))
    return {
      send: (frame) => room.sendBytes(1, frame),
      bufferedBytes: () => bufferedOf(room),
      close: () => void room.leave(true).catch(() => {}),
    }
  }
}

function bufferedOf(room: Room): number {
  const transport = room.connection.transport as unknown as { ws?: { bufferedAmount?: number } }
  return transport.ws?.bufferedAmount ?? 0
}
