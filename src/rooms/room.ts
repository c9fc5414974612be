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
 *
 * What a join or a leave costs does not grow with the room: the host's `state` and the
 * room's record are rebuilt when it pays (see pacing.ts), a player is found by id, port or
 * sid in a map, and an ended room closes its players a slice per turn.
 */
import { CloseCode, ErrorCode } from '../errors.js'
import { silentHost, type Host, type HostControl, type RoomControl, type RoomStateView, type RosterEntry } from './host.js'
import type { PlayerPort } from './player-port.js'
import type { OperatorAction, OperatorOutcome, RoomEvent } from './room-events.js'
import type { RoomRecord } from '../store/store.js'
import { MAX_DELAY_MS, worthRebuilding } from './pacing.js'
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
  /** Called once, when the room has ended (its players are then closed with `code`, a slice per turn). */
  readonly onEnded: (room: Room, code: CloseCode) => void
  /**
   * Called when the room's record is due for a write (players, settings, token changed).
   * Paced like `state` (pacing.ts): read `record()` when writing, not per change.
   */
  readonly onChanged?: () => void
  /** Counts frames the room had to drop (host away and buffer full, target held). */
  readonly onDropped?: (reason: 'kept-overflow' | 'player-away', count: number) => void
  readonly node?: string
  /** The clock for `createdAt`, in ms since the epoch. */
  readonly now?: () => number
  /**
   * Rebuild a room another node ran (adoption, hand-over) instead of opening a new one:
   * same ids, sids, names, token, settings and next id. Every player is held as away (its
   * connection is elsewhere or gone) with a grace timer from now, and the room waits for
   * its host to resume.
   */
  readonly restore?: RoomRestore
}

/** What a room is rebuilt from on its new owner: its record and, after a hand-over, its kept frames. */
export interface RoomRestore {
  readonly record: RoomRecord
  readonly kept?: readonly KeptFrame[]
  readonly dropped?: number
  /** How long ago the room's connections were lost (its owner's lease lapsed): the graces are that much shorter. */
  readonly elapsedMs?: number
}

/** A room's end for a hand-over: its state, and the connections still to close (with 1012). */
export interface HandedOver {
  readonly restore: RoomRestore
  readonly ports: readonly PlayerPort[]
  readonly host: Host | null
}

/** Frames and their payload bytes, one way. */
export interface Traffic {
  readonly frames: number
  readonly bytes: number
}

/** A room's figures for operators (the admin API): read-only, read at any time. */
export interface RoomFigures {
  /** When the room was created, in ms since the epoch. */
  readonly createdAt: number
  /** Frames the players sent (each once). */
  readonly fromPlayers: Traffic
  /** Frames delivered to players (a broadcast to 8 players is 8 frames). */
  readonly toPlayers: Traffic
  /**
   * Every player: id, name if given, whether it is away (connection down, place held), and
   * the node its connection is on when that is another node (bridged).
   */
  readonly players: readonly (RosterEntry & { readonly node?: string })[]
}

/** Players an ended room closes per turn of the event loop. */
export const TEARDOWN_SLICE = 256

interface PlayerSlot {
  readonly id: number
  readonly sid: string | undefined
  name: string | undefined
  /** null while a player with a sid is away and its place is held. */
  port: PlayerPort | null
  /** Bumped on each disconnect, so a stale grace timer knows it is stale. */
  epoch: number
  timer: NodeJS.Timeout | undefined
  /** The last targeted send this player got a frame of: a `to` naming it twice sends once. */
  lastSend: number
}

/** A player frame kept while the host is away. */
export interface KeptFrame {
  readonly player: number
  readonly data: Uint8Array | string
  readonly address: string
}

const byteLength = (data: Uint8Array | string): number =>
  typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength

const rosterEntry = (s: PlayerSlot): RosterEntry =>
  s.name === undefined ? { id: s.id, away: s.port === null } : { id: s.id, name: s.name, away: s.port === null }

/** Stands in for a host not bound yet: no room ever has it as its host, so its commands are ignored. */
const NO_HOST: Host = silentHost()

export class Room {
  readonly key: string
  readonly isPreset: boolean
  readonly createdAt: number
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
  #bySid = new Map<string, PlayerSlot>()
  #kickedSids = new Set<string>()
  #kept: KeptFrame[] = []
  #keptBytes = 0
  #dropped = 0
  #mailbox: RoomEvent[] = []
  #draining = false
  #peakDepth = 0
  #sendSeq = 0
  #fromPlayers = { frames: 0, bytes: 0 }
  #toPlayers = { frames: 0, bytes: 0 }
  /** Changes the host has not seen in a `state` yet, and changes not yet in a record write. */
  #stateChanges = 0
  #recordChanges = 0
  /** A `settle` is due at the end of this turn. */
  #settling = false
  #deadline: NodeJS.Timeout | undefined
  /** While an ended room closes its players: the code and where it got to. */
  #teardown: { readonly code: CloseCode; readonly slots: Iterator<PlayerSlot> } | undefined
  #opts: RoomOptions

  constructor(opts: RoomOptions) {
    this.key = opts.key
    this.isPreset = opts.preset
    this.createdAt = (opts.now ?? Date.now)()
    this.#name = opts.name
    this.#public = opts.public
    this.#maxPlayers = opts.maxPlayers
    this.#opts = opts
    if (opts.restore) {
      this.createdAt = opts.restore.record.createdAt ?? this.createdAt
      this.#restore(opts.restore)
    }
  }

  #restore({ record, kept, dropped, elapsedMs = 0 }: RoomRestore): void {
    this.#acceptConns = record.acceptConns
    this.#tokenHash = record.tokenHash
    this.#nextId = record.nextId
    for (const sid of record.kickedSids) this.#kickedSids.add(sid)
    const { playerGraceMs, hostGraceMs } = this.#opts.limits
    // A phone without a sid is held too: its socket may be on a live node that re-attaches it.
    const grace = Math.max(0, (playerGraceMs > 0 ? playerGraceMs : hostGraceMs) - elapsedMs)
    for (const p of record.players) {
      const slot: PlayerSlot = { id: p.id, sid: p.sid, name: p.name, port: null, epoch: 1, timer: undefined, lastSend: 0 }
      slot.timer = setTimeout(() => this.post({ type: 'player-grace-over', player: slot.id, epoch: 1 }), grace)
      slot.timer.unref()
      this.#slots.set(p.id, slot)
      if (p.sid !== undefined) this.#bySid.set(p.sid, slot)
    }
    for (const f of kept ?? []) {
      this.#kept.push(f)
      this.#keptBytes += byteLength(f.data)
    }
    this.#dropped = dropped ?? 0
    const epoch = ++this.#hostEpoch
    this.#hostTimer = setTimeout(() => this.post({ type: 'host-grace-over', epoch }), Math.max(0, hostGraceMs - elapsedMs))
    this.#hostTimer.unref()
  }

  /**
   * End this room here because another node takes it over: resolves, in mailbox order,
   * with everything the new owner needs, and with the connections still open here (the
   * caller closes them with 1012 once the new owner has the room). The record is kept.
   */
  handOver(): Promise<HandedOver | undefined> {
    return new Promise((reply) => this.post({ type: 'hand-over', reply }))
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
  /** The node this room runs on. */
  get node(): string {
    return this.#opts.node ?? ''
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
   * once in `prepare_reply`; only its digest is kept). `token`: one whose digest the caller
   * already wrote to the room's record.
   */
  open(host: Host, token: string = newToken()): string {
    return this.#open(host, this.#controlFor(() => host), token)
  }

  /**
   * Open a preset room: its in-process game makes its Host from the control it is given,
   * so the control is bound to whatever Host `make` returns.
   */
  openPreset(make: (control: RoomControl) => Host): void {
    let host: Host | undefined
    const control = this.#controlFor(() => host)
    host = make(control)
    this.#open(host, control, newToken())
  }

  #open(host: Host, control: HostControl, token: string): string {
    this.#tokenHash = hashToken(token)
    this.#host = host
    host.attached({ key: this.key, token }, control)
    host.state(this.view())
    this.#changed(false)
    return token
  }

  /** The commands a host gives this room, bound to that host (ignored once it is replaced). */
  #controlFor(bound: () => Host | undefined): HostControl {
    const host = (): Host => bound() ?? NO_HOST
    return {
      key: this.key,
      start: () => this.post({ type: 'start', host: host() }),
      kick: (player) => this.post({ type: 'kick', host: host(), player }),
      stop: () => this.post({ type: 'stop', host: host() }),
      send: (data, to) => this.post({ type: 'send', host: host(), data, to }),
      detached: () => this.post({ type: 'host-detached', host: host() }),
      showState: () => this.post({ type: 'show-state', host: host() }),
    }
  }

  /**
   * An operator's `start`, `kick` or `stop` (the admin API): handled in the mailbox in turn
   * with everything else, with or without a host. Resolves once it was carried out or refused.
   */
  operate(action: OperatorAction): Promise<OperatorOutcome> {
    return new Promise((reply) => this.post({ type: 'operator', action, reply }))
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
    if (!this.#ended) return this.#handle(e)
    switch (e.type) {
      case 'player-disconnect':
        return this.#playerDisconnect(e.port)
      case 'teardown':
        return this.#closeSlice()
      case 'player-connect':
        return e.port.refuse(CloseCode.NoSuchRoom)
      case 'host-resume':
        return e.onRefused('ended')
      case 'operator':
        return e.reply({ ok: false, code: ErrorCode.NoSuchRoom, reason: `room ${this.key} has ended` })
      case 'hand-over':
        return e.reply(undefined)
    }
  }

  /** The `state` a host is shown: O(players), built only when one is sent. */
  view(): RoomStateView {
    const players: number[] = []
    const roster: RosterEntry[] = []
    for (const slot of this.#slots.values()) {
      players.push(slot.id)
      roster.push(rosterEntry(slot))
    }
    return { name: this.#name, players, max_players: this.#maxPlayers, accept_conns: this.#acceptConns, roster }
  }

  /** Traffic and players, for operators. */
  figures(): RoomFigures {
    return {
      createdAt: this.createdAt,
      fromPlayers: { ...this.#fromPlayers },
      toPlayers: { ...this.#toPlayers },
      players: Array.from(this.#slots.values(), (s) => (s.port?.node === undefined ? rosterEntry(s) : { ...rosterEntry(s), node: s.port.node })),
    }
  }

  /** The room as the Store keeps it: O(players), so read when a write is due (`onChanged`). */
  record(): RoomRecord {
    const players = Array.from(this.#slots.values(), ({ id, sid, name }) =>
      sid === undefined ? (name === undefined ? { id } : { id, name }) : name === undefined ? { id, sid } : { id, sid, name },
    )
    return {
      key: this.key,
      node: this.node,
      name: this.#name,
      public: this.#public,
      maxPlayers: this.#maxPlayers,
      acceptConns: this.#acceptConns,
      tokenHash: this.#tokenHash,
      nextId: this.#nextId,
      players,
      kickedSids: [...this.#kickedSids],
      createdAt: this.createdAt,
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
        return this.#playerConnect(e.port, e.sid, e.name, e.rejoin)
      case 'player-disconnect':
        return this.#playerDisconnect(e.port)
      case 'start':
        if (e.host === this.#host) this.#start()
        return
      case 'kick':
        if (e.host !== this.#host) return
        if (!this.#kick(e.player)) {
          this.#showStateIfDue()
          e.host.error(ErrorCode.UnknownPlayer, `no player ${e.player} in this room`)
        }
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
      case 'show-state':
        if (e.host === this.#host) this.#showStateIfDue()
        return
      case 'settle':
        return this.#settle(e.deadline)
      case 'teardown':
        return
      case 'operator':
        return e.reply(this.#operate(e.action))
      case 'shutdown':
        return this.#end(CloseCode.ServiceRestart)
      case 'hand-over':
        return e.reply(this.#handOver())
    }
  }

  #playerConnect(port: PlayerPort, sid: string | undefined, name: string | undefined, rejoin?: number): void {
    if (rejoin !== undefined) {
      const slot = this.#slots.get(rejoin)
      if (slot && slot.sid === sid) return this.#playerBack(slot, port, name)
    }
    if (sid !== undefined) {
      if (this.#kickedSids.has(sid)) return port.refuse(CloseCode.Kicked)
      const slot = this.#bySid.get(sid)
      if (slot) return this.#playerBack(slot, port, name)
    }
    if (!this.#acceptConns) return port.refuse(CloseCode.RoomStarted)
    if (this.#slots.size >= this.#maxPlayers) return port.refuse(CloseCode.RoomFull)
    const slot: PlayerSlot = { id: this.#nextId++, sid, name, port, epoch: 0, timer: undefined, lastSend: 0 }
    this.#slots.set(slot.id, slot)
    this.#byPort.set(port, slot)
    if (sid !== undefined) this.#bySid.set(sid, slot)
    port.joined?.(slot.id)
    this.#host?.playerJoined(slot.id, name)
    this.#changed()
  }

  /** The same phone is back (same sid): same id, even if the room started or is full. */
  #playerBack(slot: PlayerSlot, port: PlayerPort, name: string | undefined): void {
    const replaced = slot.port !== null
    if (slot.port) {
      this.#byPort.delete(slot.port)
      slot.port.close(CloseCode.Replaced)
    }
    clearTimeout(slot.timer)
    slot.timer = undefined
    slot.port = port
    this.#byPort.set(port, slot)
    port.joined?.(slot.id)
    const renamed = name !== undefined && name !== slot.name
    if (renamed) slot.name = name
    this.#host?.playerBack?.(slot.id, replaced)
    // A takeover changes nothing the roster shows, unless the new connection brought a new name.
    if (!replaced || renamed) this.#changed(true, renamed)
  }

  #playerFrame(port: PlayerPort, data: Uint8Array | string): void {
    const slot = this.#byPort.get(port)
    if (!slot) return
    const size = byteLength(data)
    this.#fromPlayers.frames++
    this.#fromPlayers.bytes += size
    if (this.#host) {
      // The host hears of a join (in a `state`) before it hears from the player, as it always did.
      if (this.#stateChanges > 0) this.#showStateIfDue()
      return this.#host.fromPlayer(slot.id, data, port.address)
    }
    // Host away: keep the frame for the resume, within bounds.
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
      // Hold the place: the host hears `player_away`, and `player_left` only if the grace runs out.
      const epoch = ++slot.epoch
      slot.timer = setTimeout(() => this.post({ type: 'player-grace-over', player: slot.id, epoch }), this.#opts.limits.playerGraceMs)
      slot.timer.unref()
      this.#host?.playerAway?.(slot.id)
      this.#changed(true, false)
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
    if (slot.sid !== undefined) this.#bySid.delete(slot.sid)
    this.#host?.playerLeft(slot.id)
    this.#changed()
  }

  #start(): void {
    if (!this.#acceptConns) return
    this.#acceptConns = false
    this.#changed()
  }

  /** Kicks `player` (closed 4001, its sid refused from now on); false if no such player. */
  #kick(player: number): boolean {
    const slot = this.#slots.get(player)
    if (!slot) return false
    if (slot.sid !== undefined) this.#kickedSids.add(slot.sid)
    if (slot.port) {
      this.#byPort.delete(slot.port)
      slot.port.close(CloseCode.Kicked)
      slot.port = null
    }
    this.#removePlayer(slot)
    return true
  }

  #operate(action: OperatorAction): OperatorOutcome {
    if (action.kind === 'kick') {
      if (this.#kick(action.player)) return { ok: true }
      return { ok: false, code: ErrorCode.UnknownPlayer, reason: `no player ${action.player} in room ${this.key}` }
    }
    if (this.isPreset) return { ok: false, code: ErrorCode.PresetRoom, reason: `${this.key} is a preset room: it is never started or stopped` }
    if (action.kind === 'start') this.#start()
    else this.#end(CloseCode.RoomStopped)
    return { ok: true }
  }

  #send(data: Uint8Array | string, to: readonly number[] | undefined): void {
    const size = byteLength(data)
    if (to === undefined) {
      for (const slot of this.#slots.values()) this.#sendTo(slot, data, size)
      return
    }
    // Each listed player gets the frame once, however often it is listed; unknown ids are
    // skipped (the player may have just left). So a send costs at most the room's size in frames.
    const seq = ++this.#sendSeq
    for (const id of to) {
      const slot = this.#slots.get(id)
      if (slot === undefined || slot.lastSend === seq) continue
      slot.lastSend = seq
      this.#sendTo(slot, data, size)
    }
  }

  #sendTo(slot: PlayerSlot, data: Uint8Array | string, size: number): void {
    if (!slot.port) {
      this.#opts.onDropped?.('player-away', 1)
      return
    }
    slot.port.send(data)
    this.#toPlayers.frames++
    this.#toPlayers.bytes += size
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
    host.attached({ key: this.key, token: fresh, dropped }, this.#controlFor(() => host))
    this.#sendState()
    const kept = this.#kept
    this.#kept = []
    this.#keptBytes = 0
    for (const f of kept) host.fromPlayer(f.player, f.data, f.address)
    this.#changed(false)
  }

  #handOver(): HandedOver {
    const restore = { record: this.record(), kept: this.#kept, dropped: this.#dropped }
    this.#ended = true
    clearTimeout(this.#hostTimer)
    clearTimeout(this.#deadline)
    const host = this.#host
    this.#host = null
    this.#kept = []
    const ports: PlayerPort[] = []
    for (const slot of this.#slots.values()) {
      clearTimeout(slot.timer)
      if (slot.port) ports.push(slot.port)
      slot.port = null
    }
    this.#slots.clear()
    this.#byPort.clear()
    this.#bySid.clear()
    this.#opts.onEnded(this, CloseCode.ServiceRestart)
    return { restore, ports, host }
  }

  /**
   * Ends the room: the host is told at once and `onEnded` called; the players are closed with
   * `code` a slice per turn (closing 10,000 sockets at once would hold the event loop).
   */
  #end(code: CloseCode): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#hostTimer)
    clearTimeout(this.#deadline)
    this.#kept = []
    const host = this.#host
    this.#host = null
    if (host) {
      if (code === CloseCode.ServiceRestart) host.restarting()
      else host.stopped()
    }
    this.#teardown = { code, slots: this.#slots.values() }
    this.#closeSlice()
    this.#opts.onEnded(this, code)
  }

  #closeSlice(): void {
    const teardown = this.#teardown
    if (!teardown) return
    for (let i = 0; i < TEARDOWN_SLICE; i++) {
      const next = teardown.slots.next()
      if (next.done === true) {
        this.#teardown = undefined
        this.#slots.clear()
        this.#byPort.clear()
        this.#bySid.clear()
        return
      }
      const slot = next.value
      clearTimeout(slot.timer)
      const port = slot.port
      if (!port) continue
      slot.port = null
      this.#byPort.delete(port)
      port.close(teardown.code)
    }
    setImmediate(() => this.post({ type: 'teardown' }))
  }

  /** Count a change of what `state` shows and of what the record holds. */
  #changed(state = true, record = true): void {
    if (state) this.#stateChanges++
    if (record && this.#opts.onChanged) this.#recordChanges++
    if (this.#settling) return
    this.#settling = true
    setImmediate(this.#settleTurn)
  }

  readonly #settleTurn = (): void => this.post({ type: 'settle', deadline: false })
  readonly #settleLate = (): void => this.post({ type: 'settle', deadline: true })

  /** End of a turn with changes (or the deadline): rebuild what pays for itself (pacing.ts). */
  #settle(deadline: boolean): void {
    if (deadline) this.#deadline = undefined
    else this.#settling = false
    const players = this.#slots.size
    if (this.#stateChanges > 0 && (deadline || worthRebuilding(this.#stateChanges, players))) this.#sendState()
    if (this.#recordChanges > 0 && (deadline || worthRebuilding(this.#recordChanges, players))) {
      this.#recordChanges = 0
      this.#opts.onChanged?.()
    }
    if (this.#stateChanges === 0 && this.#recordChanges === 0) {
      clearTimeout(this.#deadline)
      this.#deadline = undefined
    } else if (this.#deadline === undefined) {
      this.#deadline = setTimeout(this.#settleLate, MAX_DELAY_MS)
      this.#deadline.unref()
    }
  }

  /** Before the host hears anything but a join or leave: the pending `state`, if it pays. */
  #showStateIfDue(): void {
    if (this.#stateChanges > 0 && worthRebuilding(this.#stateChanges, this.#slots.size)) this.#sendState()
  }

  #sendState(): void {
    this.#stateChanges = 0
    this.#host?.state(this.view())
  }
}
