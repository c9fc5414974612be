/**
 * A game page on `/CREATE`: decodes its frames into commands and carries them to its room;
 * implements `Host`, so the room's effects become protocol messages on this socket.
 *
 * Frames are handled one at a time in arrival order; while an asynchronous step runs (room
 * creation reserves a code in the Store), later frames wait in `#queue`, so a page that
 * pipelines `prepare` and `to` sees them applied in order.
 *
 * Text frames reach this session unchecked (the host endpoint skips ws's own UTF-8 check), so
 * that a frame that is not UTF-8 is answered with `error` before the connection is failed
 * with 1007 (RFC 6455 §8.1 requires the close; the `error` tells the page why).
 */
import { isUtf8 } from 'node:buffer'
import type { Logger } from 'pino'
import type { WebSocket } from 'ws'
import { CloseCode, ErrorCode } from '../errors.js'
import type { CommandParser } from '../protocol/commands.js'
import type { HostCodec } from '../protocol/host-codec.js'
import type { HostCommand, ServerMessage } from '../protocol/messages.js'
import type { AttachInfo, Host, HostControl, RoomStateView } from '../rooms/host.js'
import type { CreateOutcome } from '../rooms/registry.js'
import type { RoomRegistry } from '../rooms/registry.js'
import type { Room } from '../rooms/room.js'
import type { RoomLocator } from '../rooms/room-locator.js'
import type { RoomBridge } from '../rooms/room-bridge.js'
import { normalizeCode } from '../rooms/room-code.js'
import type { AddressWindow } from './address-window.js'
import type { Connection } from './connection.js'
import type { ServerMetrics } from '../metrics.js'

export interface HostSessionContext {
  readonly registry: RoomRegistry
  readonly locator: RoomLocator
  /** Rooms owned by other nodes (a cluster); absent on a single node. */
  readonly bridge?: RoomBridge
  readonly parse: CommandParser
  readonly roomCreations: AddressWindow
  readonly joinThrottle: AddressWindow
  readonly metrics: ServerMetrics
  readonly logger: Logger
}

/** Wrong resume tokens one connection may present before it is closed with 1008. */
const MAX_BAD_TOKENS = 3

export class HostSession implements Host {
  #conn: Connection
  #codec: HostCodec
  #ctx: HostSessionContext
  #address: string
  #control: HostControl | null = null
  #busy = false
  #queue: { data: Buffer; isBinary: boolean }[] = []
  #badTokens = 0
  /** Set once the room ended or another connection took it: this socket has no room. */
  #detached = false

  constructor(conn: Connection, codec: HostCodec, address: string, ctx: HostSessionContext) {
    this.#conn = conn
    this.#codec = codec
    this.#address = address
    this.#ctx = ctx
    const ws: WebSocket = conn.ws
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onFrame(data, isBinary))
    conn.onClose = () => this.#onClose()
  }

  // ---- Host: what the room tells its game ----
  attached(info: AttachInfo, control: HostControl): void {
    this.#control = control
    this.#send(
      info.dropped === undefined
        ? { cmd: 'prepare_reply', key: info.key, token: info.token }
        : { cmd: 'prepare_reply', key: info.key, token: info.token, dropped: info.dropped },
    )
  }
  state(s: RoomStateView): void {
    this.#send({ cmd: 'state', name: s.name, players: s.players, max_players: s.max_players, accept_conns: s.accept_conns, roster: s.roster })
  }
  playerJoined(player: number, name?: string): void {
    this.#send(name === undefined ? { cmd: 'player_joined', player } : { cmd: 'player_joined', player, name })
  }
  playerLeft(player: number): void {
    this.#send({ cmd: 'player_left', player })
  }
  playerAway(player: number): void {
    this.#send({ cmd: 'player_away', player })
  }
  playerBack(player: number, replaced: boolean): void {
    this.#send(replaced ? { cmd: 'player_back', player, replaced } : { cmd: 'player_back', player })
  }
  fromPlayer(player: number, data: Uint8Array | string): void {
    this.#send(typeof data === 'string' ? { cmd: 'from_str', from: player, data } : { cmd: 'from', from: player, data })
  }
  error(code: ErrorCode, reason: string): void {
    this.#send({ cmd: 'error', reason, code })
  }
  stopped(): void {
    this.#detach()
    this.#send({ cmd: 'stop' })
    this.#conn.close(CloseCode.Normal)
  }
  restarting(): void {
    this.#detach()
    this.#conn.close(CloseCode.ServiceRestart)
  }
  replaced(): void {
    this.#detach()
    this.#conn.close(CloseCode.Replaced)
  }

  // ---- frames from the page ----
  #onFrame(data: Buffer, isBinary: boolean): void {
    const m = this.#ctx.metrics
    m.frames.in++
    m.bytes.in += data.byteLength
    // Even a refusal waits its turn: the answers come in the order of the frames.
    if (this.#busy) {
      this.#queue.push({ data, isBinary })
      return
    }
    this.#handle(data, isBinary)
  }

  #handle(frame: Buffer, isBinary: boolean): void {
    if (!isBinary && !isUtf8(frame)) {
      this.#refuse(ErrorCode.MalformedFrame, 'a text frame that is not valid UTF-8; closing the connection (1007)')
      return this.#conn.close(CloseCode.InvalidPayload)
    }
    if (isBinary !== this.#codec.binary) {
      return this.#refuse(ErrorCode.WrongFrameType, this.#codec.binary ? 'host frames are CBOR in binary frames (or open /CREATE?format=json)' : 'this session speaks JSON in text frames')
    }
    const decoded = this.#codec.decode(frame)
    if (!decoded.ok) return this.#refuse(decoded.code, decoded.reason)
    const parsed = this.#ctx.parse(decoded.value)
    if (!parsed.ok) return this.#refuse(parsed.code, parsed.reason)
    const command = parsed.command
    if (this.#detached) return this.error(ErrorCode.NotPrepared, 'this connection no longer has a room')
    const control = this.#control
    if (control === null) return this.#withoutRoom(command)
    switch (command.cmd) {
      case 'to':
      case 'to_str':
        return control.send(command.data, command.to)
      case 'start':
        return control.start()
      case 'kick':
        return control.kick(command.player)
      case 'stop':
        return control.stop()
      case 'prepare':
      case 'resume':
        return this.#refuse(ErrorCode.AlreadyPrepared, `${command.cmd}: this connection already has room ${control.key}`)
    }
  }

  /**
   * Refuse a frame the room never saw. The room may owe this host a `state` for changes the
   * host's earlier frames made (`start`, a kick): it is shown first, so answers keep the order
   * of the frames.
   */
  #refuse(code: ErrorCode, reason: string): void {
    if (this.#control && !this.#detached) this.#control.showState()
    this.error(code, reason)
  }

  #withoutRoom(command: HostCommand): void {
    if (command.cmd === 'prepare') return this.#prepare(command)
    if (command.cmd === 'resume') return this.#resume(command.key, command.token)
    this.error(ErrorCode.NotPrepared, `${command.cmd}: send prepare (or resume) first`)
  }

  #prepare(command: Extract<HostCommand, { cmd: 'prepare' }>): void {
    if (!this.#ctx.roomCreations.take(this.#address)) {
      return this.error(ErrorCode.RateLimited, 'prepare: too many rooms created from this address; retry in a minute')
    }
    this.#busy = true
    this.#ctx.registry
      .create(this, { name: command.name ?? '', public: command.public ?? false, maxPlayers: command.max_players })
      .then(
        (outcome: CreateOutcome) => {
          if (!outcome.ok) this.error(outcome.code, outcome.reason)
          else if (this.#conn.ws.readyState !== 1) this.#control?.detached()
        },
        (err: unknown) => {
          this.#ctx.logger.error({ err }, 'room creation failed')
          this.error(ErrorCode.Unavailable, 'prepare: the room directory is unavailable; retry')
        },
      )
      .finally(() => this.#drainQueue())
  }

  #resume(rawKey: string, token: string): void {
    // Resuming probes codes like joining does: the same per-address throttle applies.
    const throttle = this.#ctx.joinThrottle
    if (throttle.exhausted(this.#address)) return this.#conn.close(CloseCode.TooManyAttempts)
    const code = normalizeCode(rawKey)
    const notFound = (): void => {
      throttle.take(this.#address)
      this.error(ErrorCode.NoSuchRoom, `resume: no room ${rawKey.slice(0, 16)}`)
    }
    const onRefused = (why: 'bad_token' | 'ended'): void => {
      // The room ended between the lookup and the resume: as if it had not been found.
      if (why === 'ended') return notFound()
      this.#badTokens++
      this.#ctx.joinThrottle.take(this.#address)
      if (this.#badTokens >= MAX_BAD_TOKENS) return this.#conn.close(CloseCode.PolicyViolation)
      this.error(ErrorCode.BadToken, 'resume: wrong token')
    }
    const local = this.#ctx.locator.here(code)
    if (local) return this.#resumeHere(local, token, onRefused)
    this.#busy = true
    this.#ctx.locator
      .locate(code)
      .then((where) => {
        if (where.kind === 'here') this.#resumeHere(where.room, token, onRefused)
        else if (where.kind === 'elsewhere' && this.#ctx.bridge) this.#ctx.bridge.resumeHost(code, where.owner, this, token, onRefused)
        else notFound()
      }, notFound)
      .finally(() => this.#drainQueue())
  }

  #resumeHere(room: Room, token: string, onRefused: (why: 'bad_token' | 'ended') => void): void {
    if (room.isPreset) return onRefused('ended')
    room.post({ type: 'host-resume', host: this, token, onRefused })
  }

  #drainQueue(): void {
    this.#busy = false
    while (!this.#busy && this.#queue.length > 0) {
      const next = this.#queue.shift()!
      this.#handle(next.data, next.isBinary)
    }
  }

  #onClose(): void {
    this.#queue = []
    if (this.#control && !this.#detached) this.#control.detached()
  }

  #detach(): void {
    this.#detached = true
    this.#control = null
  }

  #send(message: ServerMessage): void {
    this.#conn.send(this.#codec.encode(message))
  }
}
