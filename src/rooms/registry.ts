/**
 * The rooms this node runs, by code, and the life cycle around them: a new room reserves a
 * code in the Store's directory; an ended room frees it (with a cooldown) and its record.
 */
import type { Logger } from 'pino'
import { CloseCode, ErrorCode } from '../errors.js'
import type { Store } from '../store/store.js'
import { CodeCooldown } from './code-cooldown.js'
import type { Host, PresetGame } from './host.js'
import { Room, type RoomLimits } from './room.js'
import { randomCode } from './room-code.js'

export interface RegistryOptions {
  readonly store: Store
  readonly node: string
  readonly limits: RoomLimits
  /** The cooldown of a freed code while the code space is not crowded (code-cooldown.ts). */
  readonly codeCooldownMs: number
  /** Rooms this node creates per minute from every address together (unbounded when absent). */
  readonly roomsPerMinuteTotal?: number
  readonly logger: Logger
  readonly onDropped?: (reason: string, count: number) => void
  /** Draws a candidate code (tests: a smaller space). */
  readonly drawCode?: () => string
  /** The clock, in ms (tests move it). */
  readonly now?: () => number
}

export interface NewRoom {
  readonly name: string
  readonly public: boolean
  readonly maxPlayers: number
}

/** A room, or why none was created (an `error` code and reason for the host). */
export type CreateOutcome =
  | { readonly ok: true; readonly room: Room }
  | { readonly ok: false; readonly code: typeof ErrorCode.RateLimited | typeof ErrorCode.Unavailable; readonly reason: string }

/** Random codes tried before giving up (the space has 279,841 codes). */
const CODE_ATTEMPTS = 64
const MINUTE_MS = 60_000

export class RoomRegistry {
  #rooms = new Map<string, Room>()
  #opts: RegistryOptions
  #now: () => number
  #drawCode: () => string
  #cooldown: CodeCooldown
  /** Rooms whose record is due for a write (null: delete it and free the code), and saves in flight. */
  #pendingRecords = new Map<string, Room | null>()
  #saving = new Set<string>()
  /** The current minute of room creations (fixed windows, as the per-address limit has). */
  #windowStart = -Infinity
  #createdInWindow = 0

  constructor(opts: RegistryOptions) {
    this.#opts = opts
    this.#now = opts.now ?? Date.now
    this.#drawCode = opts.drawCode ?? randomCode
    this.#cooldown = new CodeCooldown(opts.codeCooldownMs)
  }

  /** How full the code space looks (0 to 1) and the cooldown a code freed now gets. */
  get codeSpace(): { readonly occupancy: number; readonly cooldownMs: number } {
    return { occupancy: this.#cooldown.occupancy, cooldownMs: this.#cooldown.cooldownMs() }
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
   * Create a room hosted by `host` and hand it over (`prepare_reply`, `state`). Refused past
   * the node's creations per minute, or when no code could be reserved.
   */
  async create(host: Host, settings: NewRoom): Promise<CreateOutcome> {
    if (!this.#takeCreation()) {
      return { ok: false, code: ErrorCode.RateLimited, reason: 'prepare: too many rooms are being created on this server; retry in a minute' }
    }
    for (let i = 0; i < CODE_ATTEMPTS; i++) {
      const code = this.#drawCode()
      const taken = this.#rooms.has(code) || !(await this.#opts.store.reserveCode(code, this.#opts.node))
      this.#cooldown.drew(taken)
      if (taken) continue
      const room = this.#newRoom(code, settings, false)
      room.open(host)
      this.#opts.logger.info({ room: code, maxPlayers: settings.maxPlayers, public: settings.public }, 'room created')
      return { ok: true, room }
    }
    this.#opts.logger.warn({ occupancy: this.#cooldown.occupancy }, 'no free room code')
    return { ok: false, code: ErrorCode.Unavailable, reason: 'prepare: no free room code; retry' }
  }

  #takeCreation(): boolean {
    const limit = this.#opts.roomsPerMinuteTotal
    if (limit === undefined) return true
    const now = this.#now()
    if (now - this.#windowStart >= MINUTE_MS) {
      this.#windowStart = now
      this.#createdInWindow = 0
    }
    if (this.#createdInWindow >= limit) return false
    this.#createdInWindow++
    return true
  }

  /** Create the preset room of an in-process game; it lives as long as the server. */
  addPreset(game: PresetGame): Room {
    if (this.#rooms.has(game.code)) throw new Error(`a room ${game.code} exists already`)
    const room = this.#newRoom(game.code, { name: game.name, public: game.public, maxPlayers: game.maxPlayers }, true)
    room.openPreset((control) => game.host(control))
    return room
  }

  /** Post `shutdown` to every room: players and hosts are closed with 1012. */
  shutdown(): void {
    for (const room of [...this.#rooms.values()]) room.post({ type: 'shutdown' })
  }

  #newRoom(code: string, settings: NewRoom, preset: boolean): Room {
    const room: Room = new Room({
      key: code,
      name: settings.name,
      public: settings.public,
      maxPlayers: settings.maxPlayers,
      preset,
      node: this.#opts.node,
      limits: this.#opts.limits,
      onEnded: (r, closeCode) => this.#ended(r, closeCode),
      onChanged: preset ? undefined : () => this.#save(room),
      onDropped: this.#opts.onDropped,
      now: this.#now,
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

  #save(room: Room): void {
    if (room.ended) return
    this.#pendingRecords.set(room.key, room)
    this.#flush(room.key)
  }

  /**
   * One write in flight per room; changes made meanwhile coalesce into the next write. The
   * record is built when it is written (O(players)), and the room asks for writes only when
   * they pay for themselves (pacing.ts), so a join does not cost a whole record.
   */
  #flush(code: string): void {
    if (this.#saving.has(code) || !this.#pendingRecords.has(code)) return
    const room = this.#pendingRecords.get(code)
    this.#pendingRecords.delete(code)
    this.#saving.add(code)
    const { store, logger } = this.#opts
    const write = room
      ? store.saveRoom(room.record())
      : store.deleteRoom(code).then(() => store.releaseCode(code, this.#cooldown.cooldownMs()))
    write
      .catch((err: unknown) => logger.error({ err, room: code }, 'store write failed'))
      .finally(() => {
        this.#saving.delete(code)
        this.#flush(code)
      })
  }
}
