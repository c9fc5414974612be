/**
 * The Room actor: the only code that changes a room's state.
 *
 * Everything that happens to a room is a RoomEvent posted to its mailbox. Events are handled
 * strictly in order, one at a time; an event posted while another is being handled (say, a
 * host callback that kicks a player) is queued behind it, never run re-entrantly. Handling
 * is synchronous and immediate when the room is idle, so the common path costs no hop.
 *
 * The room emits effects only through its ports: the Host (remote page or in-process game)
 * and each player's PlayerPort. It never touches a socket.
 */
import { CloseCode } from '../errors.js'
import type { Host, RoomControl, RoomStateView } from './host.js'
import type { PlayerPort } from './player-port.js'
import type { RoomEvent } from './room-events.js'
import type { RoomRecord } from '../store/store.js'
import { hashToken, newToken, tokenMatches } from './token.js'

export interface RoomLimits {
  readonly hostGraceMs: number
  readonly playerGraceMs: number
  /** Player frames kept while the host is away: at most this many… */
  readonly keptFrames: number
  /** …and at most this many bytes. */
  readonly keptBytes: number
}

export interface RoomOptions {
  readonly key: string
  readonly name: string
  readonly public: boolean
  readonly maxPlayers: number
  /** Preset rooms are never left by their host and never end on their own. */
  readonly preset: boolean
  readonly limits: RoomLimits
  /** Called once, after the room has ended and closed everyone with `code`. */
  readonly onEnded: (room: Room, code: CloseCode) => void
  /** Called after each change worth persisting (players, settings, token). */
  readonly onChanged?: (record: RoomRecord) => void
  /** Counts frames the room had to drop (host away and buffer full, target held). */
  readonly onDropped?: (reason: 'kept-overflow' | 'player-away', count: number) => void
  readonly node?: string
}

interface PlayerSlot {
  readonly id: number
  readonly sid: string | undefined
  /** null while a player with a sid is away and its place is held. */
  port: PlayerPort | null
  /** Bumped on each disconnect, so a stale grace timer knows it is stale. */
  epoch: number
  timer: NodeJS.Timeout | undefined
}

interface KeptFrame {
  readonly player: number
  readonly data: Uint8Array | string
  readonly address: string
}

const byteLength = (data: Uint8Array | string): number =>
  typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength

export class Room {
  readonly key: string
  readonly isPreset: boolean
  #name: string
  #public: boolean
  #maxPlayers: number
  #acceptConns = true
  #ended = false
  #nextId = 1
  #tokenHash = ''
  #host: Host | null = null
  #hostEpoch = 0
  #hostTimer: NodeJS.Timeout | undefined
  #slots = new Map<number, PlayerSlot>()
  #byPort = new Map<PlayerPort, PlayerSlot>()
  #kickedSids = new Set<string>()
  #kept: KeptFrame[] = []
  #keptBytes = 0
  #dropped = 0
  #mailbox: RoomEvent[] = []
  #draining = false
  #peakDepth = 0
  #opts: RoomOptions

  constructor(opts: RoomOptions) {
    this.key = opts.key
    this.isPreset = opts.preset
    this.#name = opts.name
    this.#public = opts.public
    this.#maxPlayers = opts.maxPlayers
    this.#opts = opts
  }

  get name(): string {
    return this.#name
  }
  get isPublic(): boolean {
    return this.#public
  }
  get maxPlayers(): number {
    return this.#maxPlayers
  }
  get acceptConns(): boolean {
    return this.#acceptConns
  }
  get playerCount(): number {
    return this.#slots.size
  }
  get ended(): boolean {
    return this.#ended
  }
  get hostPresent(): boolean {
    return this.#host !== null
  }
  /**
   * The most events that waited behind the one being handled since the last call (the
   * mailbox drains synchronously, so a depth read at any other moment would be 0).
   */
  takePeakDepth(): number {
    const peak = this.#peakDepth
    this.#peakDepth = this.#mailbox.length
    return peak
  }

  /**
   * Attach the first host and hand it the room: returns the resume token (shown to the host
   * once in `prepare_reply`; only its digest is kept).
   */
  open(host: Host): string {
    const token = newToken()
    this.#tokenHash = hashToken(token)
    this.#host = host
    host.attached({ key: this.key, token })
    host.state(this.view())
    this.#changed()
    return token
  }

  /** The commands a host gives this room, bound to that host (ignored once it is replaced). */
  controlFor(host: Host): RoomControl {
    return {
      key: this.key,
      start: () => this.post({ type: 'start', host }),
      kick: (player) => this.post({ type: 'kick', host, player }),
      stop: () => this.post({ type: 'stop', host }),
      send: (data, to) => this.post({ type: 'send', host, data, to }),
    }
  }

  post(event: RoomEvent): void {
    if (this.#draining) {
      const depth = this.#mailbox.push(event)
      if (depth > this.#peakDepth) this.#peakDepth = depth
      return
    }
    this.#draining = true
    try {
      for (let e: RoomEvent | undefined = event; e !== undefined; e = this.#mailbox.shift()) this.#deliver(e)
    } finally {
      this.#draining = false
    }
  }

  #deliver(e: RoomEvent): void {
    if (!this.#ended || e.type === 'player-disconnect' || e.type === 'host-detached') this.#handle(e)
    else if (e.type === 'player-connect') e.port.close(CloseCode.NoSuchRoom)
  }

  view(): RoomStateView {
    return {
      name: this.#name,
      players: [...this.#slots.keys()],
      max_players: this.#maxPlayers,
      accept_conns: this.#acceptConns,
    }
  }

  record(): RoomRecord {
    const players = [...this.#slots.values()].map((s) => (s.sid === undefined ? { id: s.id } : { id: s.id, sid: s.sid }))
    return {
      key: this.key,
      node: this.#opts.node ?? '',
      name: this.#name,
      public: this.#public,
      maxPlayers: this.#maxPlayers,
      acceptConns: this.#acceptConns,
      tokenHash: this.#tokenHash,
      nextId: this.#nextId,
      players,
      kickedSids: [...this.#kickedSids],
    }
  }

  #handle(e: RoomEvent): void {
    switch (e.type) {
      case 'player-frame':
        return this.#playerFrame(e.port, e.data)
      case 'send':
        if (e.host === this.#host) this.#send(e.data, e.to)
        return
      case 'player-connect':
        return this.#playerConnect(e.port, e.sid)
      case 'player-disconnect':
        return this.#playerDisconnect(e.port)
      case 'start':
        if (e.host !== this.#host) return
        this.#acceptConns = false
        this.#host.state(this.view())
        this.#changed()
        return
      case 'kick':
        if (e.host === this.#host) this.#kick(e.host, e.player)
        return
      case 'stop':
        if (e.host === this.#host) this.#end(CloseCode.RoomStopped)
        return
      case 'host-detached':
        return this.#hostDetached(e.host)
      case 'host-resume':
        return this.#hostResume(e.host, e.token, e.onRefused)
      case 'host-grace-over':
        if (e.epoch === this.#hostEpoch && this.#host === null) this.#end(CloseCode.HostGone)
        return
      case 'player-grace-over':
        return this.#playerGraceOver(e.player, e.epoch)
      case 'shutdown':
        return this.#end(CloseCode.ServiceRestart)
    }
  }

  #playerConnect(port: PlayerPort, sid: string | undefined): void {
    if (sid !== undefined) {
      if (this.#kickedSids.has(sid)) return port.close(CloseCode.Kicked)
      for (const slot of this.#slots.values()) {
        if (slot.sid !== sid) continue
        // The same phone is back: same id, even if the room started or is full.
        if (slot.port) {
          this.#byPort.delete(slot.port)
          slot.port.close(CloseCode.Replaced)
        }
        clearTimeout(slot.timer)
        slot.timer = undefined
        slot.port = port
        this.#byPort.set(port, slot)
        return
      }
    }
    if (!this.#acceptConns) return port.close(CloseCode.RoomStarted)
    if (this.#slots.size >= this.#maxPlayers) return port.close(CloseCode.RoomFull)
    const slot: PlayerSlot = { id: this.#nextId++, sid, port, epoch: 0, timer: undefined }
    this.#slots.set(slot.id, slot)
    this.#byPort.set(port, slot)
    if (this.#host) {
      this.#host.playerJoined(slot.id)
      this.#host.state(this.view())
    }
    this.#changed()
  }

  #playerFrame(port: PlayerPort, data: Uint8Array | string): void {
    const slot = this.#byPort.get(port)
    if (!slot) return
    if (this.#host) return this.#host.fromPlayer(slot.id, data, port.address)
    // Host away: keep the frame for the resume, within bounds.
    const size = byteLength(data)
    const { keptFrames, keptBytes } = this.#opts.limits
    if (this.#kept.length >= keptFrames || this.#keptBytes + size > keptBytes) {
      this.#dropped++
      this.#opts.onDropped?.('kept-overflow', 1)
      return
    }
    this.#kept.push({ player: slot.id, data, address: port.address })
    this.#keptBytes += size
  }

  #playerDisconnect(port: PlayerPort): void {
    const slot = this.#byPort.get(port)
    if (!slot) return
    this.#byPort.delete(port)
    if (slot.port !== port) return
    slot.port = null
    if (this.#ended) return
    if (slot.sid !== undefined && this.#opts.limits.playerGraceMs > 0) {
      // Hold the place: the host sees nothing unless the grace period runs out.
      const epoch = ++slot.epoch
      slot.timer = setTimeout(() => this.post({ type: 'player-grace-over', player: slot.id, epoch }), this.#opts.limits.playerGraceMs)
      slot.timer.unref()
      return
    }
    this.#removePlayer(slot)
  }

  #playerGraceOver(player: number, epoch: number): void {
    const slot = this.#slots.get(player)
    if (!slot || slot.epoch !== epoch || slot.port !== null) return
    this.#removePlayer(slot)
  }

  #removePlayer(slot: PlayerSlot): void {
    clearTimeout(slot.timer)
    this.#slots.delete(slot.id)
    if (this.#host) {
      this.#host.playerLeft(slot.id)
      this.#host.state(this.view())
    }
    this.#changed()
  }

  #kick(host: Host, player: number): void {
    const slot = this.#slots.get(player)
    if (!slot) return host.error('unknown_player', `no player ${player} in this room`)
    if (slot.sid !== undefined) this.#kickedSids.add(slot.sid)
    if (slot.port) {
      this.#byPort.delete(slot.port)
      slot.port.close(CloseCode.Kicked)
      slot.port = null
    }
    this.#removePlayer(slot)
  }

  #send(data: Uint8Array | string, to: readonly number[] | undefined): void {
    if (to === undefined) {
      for (const slot of this.#slots.values()) {
        if (slot.port) slot.port.send(data)
        else this.#opts.onDropped?.('player-away', 1)
      }
      return
    }
    for (const id of to) {
      // Unknown ids are skipped: the player may have just left.
      const slot = this.#slots.get(id)
      if (!slot) continue
      if (slot.port) slot.port.send(data)
      else this.#opts.onDropped?.('player-away', 1)
    }
  }

  #hostDetached(host: Host): void {
    if (host !== this.#host || this.#ended) return
    this.#host = null
    if (this.isPreset) return
    const epoch = ++this.#hostEpoch
    this.#hostTimer = setTimeout(() => this.post({ type: 'host-grace-over', epoch }), this.#opts.limits.hostGraceMs)
    this.#hostTimer.unref()
  }

  #hostResume(host: Host, token: string, onRefused: (reason: 'bad_token' | 'ended') => void): void {
    if (this.isPreset || !tokenMatches(token, this.#tokenHash)) return onRefused('bad_token')
    const old = this.#host
    clearTimeout(this.#hostTimer)
    this.#hostEpoch++
    this.#host = host
    if (old) old.replaced()
    const fresh = newToken()
    this.#tokenHash = hashToken(fresh)
    const dropped = this.#dropped
    this.#dropped = 0
    host.attached({ key: this.key, token: fresh, dropped })
    host.state(this.view())
    const kept = this.#kept
    this.#kept = []
    this.#keptBytes = 0
    for (const f of kept) host.fromPlayer(f.player, f.data, f.address)
    this.#changed()
  }

  /** Ends the room: every player closed with `code`, the host told, then onEnded. */
  #end(code: CloseCode): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#hostTimer)
    for (const slot of this.#slots.values()) {
      clearTimeout(slot.timer)
      if (slot.port) slot.port.close(code)
    }
    this.#byPort.clear()
    this.#slots.clear()
    this.#kept = []
    const host = this.#host
    this.#host = null
    if (host) {
      if (code === CloseCode.ServiceRestart) host.restarting()
      else host.stopped()
    }
    this.#opts.onEnded(this, code)
  }

  #changed(): void {
    this.#opts.onChanged?.(this.record())
  }
}
