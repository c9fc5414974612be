/**
 * The rooms this node runs, by code, and the life cycle around them: a new room reserves a
 * code in the Store's directory; an ended room frees it (with a cooldown) and its record.
 */
import type { Logger } from 'pino'
import { CloseCode } from '../errors.js'
import type { Store, RoomRecord } from '../store/store.js'
import type { Host, PresetGame } from './host.js'
import { Room, type RoomLimits } from './room.js'
import { randomCode } from './room-code.js'

export interface RegistryOptions {
  readonly store: Store
  readonly node: string
  readonly limits: RoomLimits
  readonly codeCooldownMs: number
  readonly logger: Logger
  readonly onDropped?: (reason: string, count: number) => void
}

export interface NewRoom {
  readonly name: string
  readonly public: boolean
  readonly maxPlayers: number
}

/** Random codes tried before giving up (the space has 279,841 codes). */
const CODE_ATTEMPTS = 64

export class RoomRegistry {
  #rooms = new Map<string, Room>()
  #opts: RegistryOptions
  /** Latest unsaved record per room, and whether a save is in flight (write-behind). */
  #pendingRecords = new Map<string, RoomRecord | null>()
  #saving = new Set<string>()

  constructor(opts: RegistryOptions) {
    this.#opts = opts
  }

  get size(): number {
    return this.#rooms.size
  }

  get(code: string): Room | undefined {
    return this.#rooms.get(code)
  }

  rooms(): IterableIterator<Room> {
    return this.#rooms.values()
  }

  /**
   * Create a room hosted by `host` and hand it over (`prepare_reply`, `state`).
   * Resolves undefined when no code could be reserved.
   */
  async create(host: Host, settings: NewRoom): Promise<Room | undefined> {
    for (let i = 0; i < CODE_ATTEMPTS; i++) {
      const code = randomCode()
      if (this.#rooms.has(code)) continue
      if (!(await this.#opts.store.reserveCode(code, this.#opts.node))) continue
      const room = this.#newRoom(code, settings, false)
      room.open(host)
      this.#opts.logger.info({ room: code, maxPlayers: settings.maxPlayers, public: settings.public }, 'room created')
      return room
    }
    return undefined
  }

  /** Create the preset room of an in-process game; it lives as long as the server. */
  addPreset(game: PresetGame): Room {
    if (this.#rooms.has(game.code)) throw new Error(`a room ${game.code} exists already`)
    const room = this.#newRoom(game.code, { name: game.name, public: game.public, maxPlayers: game.maxPlayers }, true)
    let gameHost: Host | undefined
    const host = hostProxy(() => {
      if (!gameHost) throw new Error(`preset ${game.code} used its room before host() returned`)
      return gameHost
    })
    gameHost = game.host(room.controlFor(host))
    room.open(host)
    return room
  }

  /** Post `shutdown` to every room: players and hosts are closed with 1012. */
  shutdown(): void {
    for (const room of [...this.#rooms.values()]) room.post({ type: 'shutdown' })
  }

  #newRoom(code: string, settings: NewRoom, preset: boolean): Room {
    const room = new Room({
      key: code,
      name: settings.name,
      public: settings.public,
      maxPlayers: settings.maxPlayers,
      preset,
      node: this.#opts.node,
      limits: this.#opts.limits,
      onEnded: (r, closeCode) => this.#ended(r, closeCode),
      onChanged: preset ? undefined : (record) => this.#save(record),
      onDropped: this.#opts.onDropped,
    })
    this.#rooms.set(code, room)
    return room
  }

  #ended(room: Room, code: CloseCode): void {
    this.#rooms.delete(room.key)
    this.#opts.logger.info({ room: room.key, code }, 'room ended')
    if (room.isPreset) return
    // On a restart the record stays: the host may resume on another node.
    if (code === CloseCode.ServiceRestart) return
    this.#pendingRecords.set(room.key, null)
    this.#flush(room.key)
  }

  #save(record: RoomRecord): void {
    this.#pendingRecords.set(record.key, record)
    this.#flush(record.key)
  }

  /** One write in flight per room; later changes coalesce into the next write. */
  #flush(code: string): void {
    if (this.#saving.has(code) || !this.#pendingRecords.has(code)) return
    const record = this.#pendingRecords.get(code)
    this.#pendingRecords.delete(code)
    this.#saving.add(code)
    const { store, codeCooldownMs, logger } = this.#opts
    const write = record ? store.saveRoom(record) : store.deleteRoom(code).then(() => store.releaseCode(code, codeCooldownMs))
    write
      .catch((err: unknown) => logger.error({ err, room: code }, 'store write failed'))
      .finally(() => {
        this.#saving.delete(code)
        this.#flush(code)
      })
  }
}

/**
 * A preset game's Host is created by the game from the control it is given, so the control
 * must be bound before the Host exists: bind it to a stand-in that forwards identity.
 */
function hostProxy(get: () => Host): Host {
  return {
    attached: (i) => get().attached(i),
    state: (s) => get().state(s),
    playerJoined: (p) => get().playerJoined(p),
    playerLeft: (p) => get().playerLeft(p),
    fromPlayer: (p, d, a) => get().fromPlayer(p, d, a),
    error: (c, r) => get().error(c, r),
    stopped: () => get().stopped(),
    restarting: () => get().restarting(),
    replaced: () => get().replaced(),
  }
}
