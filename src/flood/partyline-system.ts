import { Encoder } from 'cbor-x'
import WebSocket from 'ws'
import type { HostEvents, HostLink, PartySystem, PlayerEvents, PlayerLink, RoomOptions } from './party-system.js'

/** Plain CBOR any decoder reads: no record tags, byte strings untagged (wmbp.md, part 1). */
const hostCodec = new Encoder({ useRecords: false, tagUint8Array: false })

interface HostMessage {
  readonly cmd?: unknown
  readonly key?: unknown
  readonly data?: unknown
  readonly reason?: unknown
  readonly code?: unknown
}

/**
 * partyline speaking its real protocol: the host opens `/CREATE` and sends CBOR `prepare`,
 * then broadcasts with `{cmd: 'to', data}` (no `to` field: every player); players open
 * `/<KEY>` and exchange bare binary frames; the host receives them as `from`.
 */
export class PartylineSystem implements PartySystem {
  readonly name = 'partyline'
  readonly #base: string

  /** `url` is the server's WebSocket root, e.g. `ws://127.0.0.1:8081`. */
  constructor(url: string) {
    this.#base = url.replace(/\/+$/, '')
  }

  openRoom(options: RoomOptions, events: HostEvents): Promise<HostLink> {
    const ws = new WebSocket(`${this.#base}/CREATE`, { perMessageDeflate: false })
    return new Promise<HostLink>((resolve, reject) => {
      let link: HostLink | undefined
      ws.on('open', () => {
        ws.send(hostCodec.encode({ cmd: 'prepare', max_players: options.maxPlayers }))
      })
      ws.on('message', (raw, isBinary) => {
        if (!isBinary) return
        const message = hostCodec.decode(raw as Buffer) as HostMessage
        if (message.cmd === 'from') {
          if (message.data instanceof Uint8Array) events.onPlayerFrame(message.data)
        } else if (message.cmd === 'prepare_reply' && link === undefined) {
          link = hostLink(ws, String(message.key))
          resolve(link)
        } else if (message.cmd === 'error' && link === undefined) {
          reject(new Error(`partyline refused prepare: ${String(message.reason)}${message.code ? ` (${String(message.code)})` : ''}`))
          ws.close()
        }
      })
      ws.on('error', (error) => {
        if (link === undefined) reject(error)
      })
      ws.on('close', (code, reason) => {
        if (link === undefined) reject(new Error(`partyline closed the host: ${code} ${reason.toString()}`))
        events.onClose(`${code} ${reason.toString()}`)
      })
    })
  }

  joinRoom(room: HostLink, events: PlayerEvents): Promise<PlayerLink> {
    const ws = new WebSocket(`${this.#base}/${room.key}`, { perMessageDeflate: false })
    return new Promise<PlayerLink>((resolve, reject) => {
      let joined = false
      ws.on('open', () => {
        joined = true
        resolve({
          send: (frame) => ws.send(frame),
          bufferedBytes: () => ws.bufferedAmount,
          close: () => ws.close(1000),
        })
      })
      ws.on('message', (raw, isBinary) => {
        if (isBinary) events.onHostFrame(raw as Buffer)
      })
      ws.on('error', (error) => {
        if (!joined) reject(error)
      })
      ws.on('close', (code, reason) => {
        if (!joined) reject(new Error(`partyline refused the player: ${code} ${reason.toString()}`))
        events.onClose(`${code} ${reason.toString()}`)
      })
    })
  }
}

function hostLink(ws: WebSocket, key: string): HostLink {
  return {
    key,
    broadcast: (frame) => ws.send(hostCodec.encode({ cmd: 'to', data: frame })),
    bufferedBytes: () => ws.bufferedAmount,
    // Without `stop` the server would hold the room for its resume grace period.
    close: () => {
      if (ws.readyState === WebSocket.OPEN) ws.send(hostCodec.encode({ cmd: 'stop' }))
      ws.close(1000)
    },
  }
}
