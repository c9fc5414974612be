import type { Host, PresetGame, RoomControl, RoomStateView } from '../../rooms/host.js'
import type { ClickCommands } from './click-commands.js'
import { decodeClickRequest } from './messages.js'
import type { Projection } from './projection.js'

/** Largest frame a player may send: a ClickRequest is under 20 bytes. */
export const MAX_PLAYER_FRAME = 64

/** Frames from PLANET players that did not become clicks. */
export interface PlanetCounters {
  clicks: number
  text: number
  undecodable: number
  invalid: number
  rateLimited: number
  failed: number
  /** UpdateNotifications sent to the room (one `send` each, whatever the player count). */
  updatesSent: number
}

/**
 * The preset room `PLANET`: ClickPlanet as a partyline room. Players send `ClickRequest`s
 * as binary frames and receive every `UpdateNotification` as a binary frame, exactly like
 * `/ws/listen`. Nothing is sent on join. Anything that is not a valid click is dropped and
 * counted; a host method never throws into the room.
 */
export class PlanetGame implements PresetGame {
  readonly code = 'PLANET'
  readonly name = 'ClickPlanet'
  readonly maxPlayers = 100_000
  readonly public = true
  readonly counters: PlanetCounters = { clicks: 0, text: 0, undecodable: 0, invalid: 0, rateLimited: 0, failed: 0, updatesSent: 0 }
  readonly #commands: ClickCommands
  readonly #projection: Projection
  #detach: (() => void) | undefined

  constructor(commands: ClickCommands, projection: Projection) {
    this.#commands = commands
    this.#projection = projection
  }

  host(control: RoomControl): Host {
    this.#detach?.()
    const players = new Set<number>()
    const c = this.counters
    const off = this.#projection.onChange((change) => {
      if (players.size === 0) return
      control.send(change.bytes)
      c.updatesSent++
    })
    this.#detach = off
    const commands = this.#commands
    return {
      attached() {},
      state(_state: RoomStateView) {},
      playerJoined(player) { players.add(player) },
      playerLeft(player) { players.delete(player) },
      fromPlayer(player, data, address) {
        if (typeof data === 'string') { c.text++; return }
        if (data.byteLength > MAX_PLAYER_FRAME) { c.undecodable++; return }
        let req
        try {
          req = decodeClickRequest(data)
        } catch {
          c.undecodable++
          return
        }
        // The address's bucket, shared with its HTTP clicks: more sockets buy no more clicks.
        commands.click(req, address ?? `planet:${player}`).then((outcome) => {
          if (outcome.ok) c.clicks++
          else if (outcome.kind === 'invalid') c.invalid++
          else if (outcome.kind === 'rate-limited') c.rateLimited++
          else c.failed++
        }, () => { c.failed++ })
      },
      error() {},
      stopped: () => { off(); if (this.#detach === off) this.#detach = undefined },
      // An in-process host has no connection to close or resume.
      restarting() {},
      replaced() {},
    }
  }

  /** Stops forwarding updates to the room (shutdown). */
  detach(): void {
    this.#detach?.()
    this.#detach = undefined
  }
}
