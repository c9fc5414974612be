/**
 * The rooms this node runs, by code, and the life cycle around them: a new room claims its
 * code in the Store's directory (ownership with a fencing epoch); its record is kept current
 * with fenced writes (the first whole, then only what changed: a join writes one player);
 * an ended room is released (the code cools down). A room adopted from another node is
 * rebuilt from its record.
 *
 * Every write carries this node's ownership. A write refused because another node owns the
 * room now (it adopted it while this node was away) drops the room here: its connections are
 * closed with 1012 and reconnect to the real owner. A write refused because the directory
 * has no entry at all (the store lost its data) writes the room back with `restoreRoom`.
 */
import type { Logger } from 'pino'
import { CloseCode, ErrorCode } from '../errors.js'
import { OwnershipLost, type Ownership, type RoomPatch, type RoomRecord, type Store } from '../store/store.js'
import { CodeCooldown } from './code-cooldown.js'
import type { Host, PresetGame } from './host.js'
import { Room, type RoomLimits, type RoomRestore } from './room.js'
import { randomCode } from './room-code.js'
import { hashToken, newToken } from './token.js'

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
  /** A room ended here because another node owns it now (its connections closed with 1012). */
  readonly onLost?: (code: string) => void
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
  /** Each room's ownership (its fence), and the record the store holds as far as this node knows. */
  #owned = new Map<string, Ownership>()
  #written = new Map<string, RoomRecord>()
  /** Rooms whose last write failed (store unreachable): written again by `verify`. */
  #stale = new Set<string>()
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

  /** This node's ownership of `code` (undefined for presets and rooms it does not run). */
  ownership(code: string): Ownership | undefined {
    return this.#owned.get(code)
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
      const owner = this.#rooms.has(code) ? undefined : await this.#opts.store.claimCode(code, this.#opts.node)
      this.#cooldown.drew(owner === undefined)
      if (owner === undefined) continue
      this.#owned.set(code, owner)
      const room = this.#newRoom(code, settings, false)
      // The record is in the store before the host hears of its room: a room acknowledged
      // with `prepare_reply` can always be adopted if this node dies.
      const token = newToken()
      const record = { ...room.record(), tokenHash: hashToken(token) }
      try {
        await this.#opts.store.saveRoom(record, owner)
      } catch (err) {
        this.#rooms.delete(code)
        this.#forget(code)
        await this.#opts.store.releaseRoom(code, owner, 0).catch(() => {})
        throw err
      }
      this.#written.set(code, record)
      room.open(host, token)
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

  /**
   * Run a room another node ran, from its record (adoption after a node died, or a
   * hand-over with its kept frames): this node owns it as `owner`.
   */
  adopt(restore: RoomRestore, owner: Ownership): Room {
    const { record } = restore
    this.#rooms.get(record.key)?.post({ type: 'shutdown' })
    this.#owned.set(record.key, owner)
    const room = this.#newRoom(record.key, { name: record.name, public: record.public, maxPlayers: record.maxPlayers }, false, restore)
    // A hand-over's record is newer than the store's: write it whole; an adopted one is the store's.
    if (restore.kept === undefined) this.#written.set(record.key, record)
    else this.#save(room)
    this.#opts.logger.info({ room: record.key, epoch: owner.epoch, players: record.players.length }, 'room adopted')
    return room
  }

  /**
   * End `code` here without touching its record or its directory entry (it belongs to
   * another node now): its connections are closed with 1012.
   */
  drop(code: string): void {
    const room = this.#rooms.get(code)
    this.#forget(code)
    if (room) {
      this.#opts.logger.warn({ room: code }, 'room owned by another node now; dropped here')
      room.post({ type: 'shutdown' })
      this.#opts.onLost?.(code)
    }
  }

  /** Forget a room that moved to another node (hand-over): no more writes for it. */
  #forget(code: string): void {
    this.#stale.delete(code)
    this.#owned.delete(code)
    this.#written.delete(code)
    this.#pendingRecords.delete(code)
  }

  /** The room left this node for another (hand-over done): no more writes for it. */
  movedAway(code: string): void {
    this.#forget(code)
  }

  /**
   * Check each room's entry in the directory: write back a room the store lost (Redis
   * restarted empty), drop a room another node owns now. Resolves once every check ran;
   * a store that cannot be reached is left for the next call.
   */
  async verify(): Promise<void> {
    const { store } = this.#opts
    await Promise.all(
      [...this.#owned].map(async ([code, mine]) => {
        const room = this.#rooms.get(code)
        if (!room || room.ended) return
        const current = await store.owner(code)
        if (current === undefined) return this.#restore(room, mine)
        if (current.node !== mine.node || current.epoch !== mine.epoch) return this.drop(code)
        if (this.#stale.delete(code)) this.#save(room)
      }),
    )
  }

  async #restore(room: Room, fence: Ownership): Promise<void> {
    const record = room.record()
    try {
      await this.#opts.store.restoreRoom(record, fence)
      this.#written.set(room.key, record)
      this.#opts.logger.info({ room: room.key }, 'room written back to the store')
    } catch (err) {
      if (err instanceof OwnershipLost) this.drop(room.key)
      else throw err
    }
  }

  /** Post `shutdown` to every room: players and hosts are closed with 1012. */
  shutdown(): void {
    for (const room of [...this.#rooms.values()]) room.post({ type: 'shutdown' })
  }

  #newRoom(code: string, settings: NewRoom, preset: boolean, restore?: RoomRestore): Room {
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
      ...(restore ? { restore } : {}),
    })
    this.#rooms.set(code, room)
    return room
  }

  #ended(room: Room, code: CloseCode): void {
    if (this.#rooms.get(room.key) === room) this.#rooms.delete(room.key)
    this.#opts.logger.info({ room: room.key, code }, 'room ended')
    if (room.isPreset) return
    // On a restart the record stays: the host may resume on another node.
    if (code === CloseCode.ServiceRestart) return
    if (!this.#owned.has(room.key)) return
    this.#pendingRecords.set(room.key, null)
    this.#flush(room.key)
  }

  #save(room: Room): void {
    if (room.ended || !this.#owned.has(room.key)) return
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
    const fence = this.#owned.get(code)
    this.#pendingRecords.delete(code)
    if (!fence) return
    this.#saving.add(code)
    const { logger } = this.#opts
    const write = room ? this.#write(room, fence) : this.#release(code, fence)
    write
      .catch((err: unknown) => {
        if (room && err instanceof OwnershipLost) {
          // No entry at all: the store lost its data; write the room back. Another owner: drop it.
          if (err.current === undefined) return this.#restore(room, fence)
          return this.drop(code)
        }
        if (room) this.#stale.add(code)
        logger.warn({ err: (err as Error).message, room: code }, 'store write failed; retried when the store is back')
      })
      .catch((err: unknown) => logger.error({ err, room: code }, 'store write failed'))
      .finally(() => {
        this.#saving.delete(code)
        this.#flush(code)
      })
  }

  /** The record, whole the first time, then only what changed since the last write. */
  async #write(room: Room, fence: Ownership): Promise<void> {
    const record = room.record()
    const last = this.#written.get(room.key)
    const store = this.#opts.store
    if (!last) await store.saveRoom(record, fence)
    else {
      const patch = recordPatch(last, record)
      if (patch === undefined) return
      await store.updateRoom(room.key, patch, fence)
    }
    if (this.#owned.get(room.key) === fence) this.#written.set(room.key, record)
  }

  async #release(code: string, fence: Ownership): Promise<void> {
    this.#forget(code)
    await this.#opts.store.releaseRoom(code, fence, this.#cooldown.cooldownMs()).catch((err: unknown) => {
      // Another node owns it now (or it expired): not this node's to release.
      if (!(err instanceof OwnershipLost)) throw err
    })
  }
}

const SETTINGS = ['name', 'public', 'maxPlayers', 'acceptConns', 'tokenHash', 'nextId', 'createdAt'] as const

/** What changed from `before` to `after` as a `RoomPatch` (undefined: nothing). */
export function recordPatch(before: RoomRecord, after: RoomRecord): RoomPatch | undefined {
  const set: Record<string, unknown> = {}
  let changed = false
  for (const k of SETTINGS) {
    if (before[k] !== after[k]) {
      set[k] = after[k]
      changed = true
    }
  }
  if (before.kickedSids.length !== after.kickedSids.length || before.kickedSids.some((sid, i) => after.kickedSids[i] !== sid)) {
    set.kickedSids = after.kickedSids
    changed = true
  }
  const was = new Map(before.players.map((p) => [p.id, p]))
  const players = after.players.filter((p) => {
    const old = was.get(p.id)
    was.delete(p.id)
    return old === undefined || old.sid !== p.sid || old.name !== p.name
  })
  const removePlayers = [...was.keys()]
  if (!changed && players.length === 0 && removePlayers.length === 0) return undefined
  return {
    ...(changed ? { set: set as RoomPatch['set'] } : {}),
    ...(players.length > 0 ? { players } : {}),
    ...(removePlayers.length > 0 ? { removePlayers } : {}),
  }
}
