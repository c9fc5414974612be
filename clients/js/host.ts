/** The game's side of a room (the TV): creates the room, and resumes it after a drop. */
import { Decoder, Encoder } from 'cbor-x'
import { ClientErrorCode, CloseCode, closeReason, ErrorCode, PartylineError } from './codes.js'
import { Emitter } from './emitter.js'
import { notConnected, RetrySchedule, SendQueue, type ConnectionState, type ReconnectEvents, type ReconnectOption } from './link.js'
import { readServerMessage, type RoomState, type ServerMessage } from './host-messages.js'
import { OPEN, openSocket, toBase64, wsUrl, type ConnectOptions, type WebSocketLike } from './socket.js'
import { pageStorage, readItem, writeItem, type StorageLike } from './storage.js'

/** What a `HostClient` emits: listen with `on`, or `await host.once(event)`. */
export type HostEvents = ReconnectEvents & {
  /** The room changed (players, names, who is away, `acceptConns`); the same value is in `host.state`. */
  state: (state: RoomState) => void
  /** A player joined; `name` is the one it joined with, if any. */
  player_joined: (player: number, name: string | undefined) => void
  /** A player is gone for good (left without a sid, its grace period ran out, or kicked). */
  player_left: (player: number) => void
  /** A player with a sid lost its connection; its place is held for the grace period. */
  player_away: (player: number) => void
  /** That player is back, with the same id. */
  player_back: (player: number) => void
  /** A player sent a binary frame. */
  from: (player: number, data: Uint8Array) => void
  /** A player sent a text frame. */
  from_str: (player: number, data: string) => void
  /**
   * The server refused the last command (`code` is an `ErrorCode`, `reason` its text), or
   * sent a frame this client cannot read (`ClientErrorCode.MalformedMessage`; the frame is
   * skipped). Either way the connection stays open.
   */
  error: (error: PartylineError) => void
  /** The room has ended (after `stop`); `close` follows. */
  stop: () => void
}

/**
 * Close codes after which a host does not resume: the room ended (1000 after `stop`), the
 * server refused it by policy (1008), another connection resumed the room (4011), or a
 * frame was over the limit (1009: the page sends something it should not). Every other end
 * (a network drop, 1012 restart, 1013) is retried with `resume`.
 */
export const HOST_FINAL_CODES: ReadonlySet<number> = new Set([CloseCode.Normal, CloseCode.PolicyViolation, CloseCode.MessageTooBig, CloseCode.Replaced])

const cbor = { useRecords: false, tagUint8Array: false, variableMapSize: true, mapsAsObjects: true } as const

type Command = Record<string, unknown>

export interface HostOptions extends ConnectOptions {
  /** `json` speaks JSON text frames instead of CBOR (debugging, scripts). */
  readonly format?: 'cbor' | 'json'
  /** Resume after a drop (the default), with this policy; `false` to stop at the first drop. */
  readonly reconnect?: ReconnectOption
  /**
   * Where the room code and resume token are kept, so that a reloaded page takes its room
   * back; defaults to the page's `sessionStorage` (nothing in Node). `null`: nowhere.
   */
  readonly storage?: StorageLike | null
  /** The key under which they are kept (default `partyline.host`); one per game on a page. */
  readonly storageKey?: string
  /** For tests of the backoff: the random source of the jitter (default `Math.random`). */
  readonly random?: () => number
}

/** The game's side of a room: what the server says arrives as `HostEvents`. */
export class HostClient extends Emitter<HostEvents> {
  /** The room code players join with (set by `prepare_reply`). */
  code = ''
  /** Secret for resuming the room; rotates on every resume. */
  token = ''
  /** The room as the last `state` described it; `undefined` until the first one. */
  state: RoomState | undefined
  /**
   * How many player frames the server dropped while this host was away, because more came
   * than it keeps (1,000 frames or 1 MiB by default). Set on each resume; 0 for a new room.
   */
  dropped = 0
  /** True when this room was taken back from storage rather than created. */
  resumed = false
  /**
   * Resolves once the room is this host's (`prepare_reply` and the first `state`). Rejects
   * with the server's `error`, a malformed reply or the close that came first; the
   * connection is then closed.
   */
  readonly ready: Promise<void>
  #resolveReady!: () => void
  #rejectReady!: (e: PartylineError) => void
  #server: string | undefined
  #opts: HostOptions
  #json: boolean
  #ws: WebSocketLike | undefined
  #first: Command
  /** A `prepare` to send if `#first` (a resume from storage) is refused. */
  #fallback: Command | undefined
  #state: ConnectionState = 'connecting'
  #retry: RetrySchedule
  #queue: SendQueue<Command>
  #storage: StorageLike | undefined
  #storageKey: string
  #userClosed = false
  #stopped = false
  #encoder = new Encoder(cbor)
  #decoder = new Decoder(cbor)

  /** @internal use createRoom / openRoom / resumeRoom */
  constructor(server: string | undefined, first: Command, fallback: Command | undefined, opts: HostOptions) {
    super()
    this.#server = server
    this.#opts = opts
    this.#json = opts.format === 'json'
    this.#first = first
    this.#fallback = fallback
    this.#retry = new RetrySchedule(opts.reconnect, opts.random)
    this.#queue = new SendQueue(this.#retry.policy.maxQueued)
    this.#storage = opts.storage === null ? undefined : (opts.storage ?? pageStorage('sessionStorage'))
    this.#storageKey = opts.storageKey ?? 'partyline.host'
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    // A host whose room was refused is of no use; createRoom callers have no handle to close it.
    this.ready.catch(() => this.close())
    this.#open()
  }

  /** Where the connection stands: `connecting`, `connected`, `reconnecting` or `closed`. */
  get connection(): ConnectionState {
    return this.#userClosed ? 'closed' : this.#state
  }

  /**
   * Stop accepting players; a `state` with `acceptConns: false` follows.
   *
   * @example
   * ```ts
   * startButton.onclick = () => host.start()
   * ```
   */
  start(): void {
    this.#send({ cmd: 'start' })
  }
  /**
   * Disconnect a player (it sees close 4001); `player_left` and `state` follow.
   *
   * @example
   * ```ts
   * host.kick(3)
   * ```
   */
  kick(player: number): void {
    this.#send({ cmd: 'kick', player })
  }
  /**
   * End the room: every player is closed with 4002, then `stop` and `close` arrive.
   *
   * @example
   * ```ts
   * host.once('stop').then(() => show('game over'))
   * host.stop()
   * ```
   */
  stop(): void {
    this.#send({ cmd: 'stop' })
    this.#stopped = true
  }
  /**
   * Bytes to the listed players, or to every player when `to` is omitted.
   *
   * @example
   * ```ts
   * host.send(new Uint8Array([1, 2, 3]), [playerId])
   * ```
   */
  send(data: Uint8Array, to?: readonly number[]): void {
    this.#send(to ? { cmd: 'to', to, data: data.slice() } : { cmd: 'to', data: data.slice() })
  }
  /**
   * Text to the listed players, or to every player.
   *
   * @example
   * ```ts
   * host.sendText(JSON.stringify({ question: '7 × 8?' }))
   * ```
   */
  sendText(data: string, to?: readonly number[]): void {
    this.#send(to ? { cmd: 'to_str', to, data } : { cmd: 'to_str', data })
  }
  /**
   * Drop the connection without ending the room (it can be resumed within the grace period,
   * with `resumeRoom`) and stop reconnecting.
   *
   * @example
   * ```ts
   * const { code, token } = host
   * host.close()
   * const again = await resumeRoom(server, code, token) // within the grace period
   * ```
   */
  close(): void {
    if (this.#state === 'closed') return
    this.#userClosed = true
    this.#retry.cancel()
    // `close` is emitted when the socket has closed (at once when there is none).
    if (this.#ws && this.#ws.readyState <= OPEN) this.#ws.close(1000)
    else this.#end(1000, 'closed by the client', false)
  }

  /**
   * Forget the room kept in storage (a page that wants a new room next time, not this one).
   *
   * @example
   * ```ts
   * newRoomButton.onclick = () => { host.forget(); host.stop(); location.reload() }
   * ```
   */
  forget(): void {
    writeItem(this.#storage, this.#storageKey, undefined)
  }

  /** @internal a command as given, for tests of what the server does with odd ones. */
  sendRaw(message: Command): void {
    this.#send(message)
  }

  #open(): void {
    let ws: WebSocketLike
    try {
      ws = openSocket(wsUrl(this.#server, this.#json ? '/CREATE?format=json' : '/CREATE'), this.#opts)
    } catch (e) {
      return this.#dropped(1006, e instanceof Error ? e.message : String(e))
    }
    this.#ws = ws
    const first = this.#state === 'connecting' ? this.#first : { cmd: 'resume', key: this.code, token: this.token }
    ws.addEventListener('open', () => {
      if (this.#ws === ws) this.#write(ws, first)
    })
    ws.addEventListener('message', (ev) => {
      if (this.#ws === ws) this.#onMessage(ws, ev.data)
    })
    ws.addEventListener('close', (ev) => {
      if (this.#ws !== ws) return
      this.#ws = undefined
      this.#dropped(ev.code, ev.reason)
    })
  }

  #send(message: Command): void {
    if (this.#state === 'closed' || this.#userClosed) throw notConnected('host')
    const ws = this.#ws
    if (this.#state === 'connected' && ws?.readyState === OPEN) return this.#write(ws, message)
    this.#queue.push(message)
  }

  #write(ws: WebSocketLike, message: Command): void {
    if (!this.#json) return ws.send(this.#encoder.encode(message))
    const data = message.data
    ws.send(JSON.stringify(data instanceof Uint8Array ? { ...message, data: toBase64(data) } : message))
  }

  #onMessage(ws: WebSocketLike, raw: unknown): void {
    let message: ServerMessage | undefined
    try {
      message = readServerMessage(raw, this.#json, this.#decoder)
    } catch (e) {
      // A frame the server got wrong must not throw out of the socket's listener: report it, skip it.
      const why = e instanceof Error ? e.message : String(e)
      const err = new PartylineError(ClientErrorCode.MalformedMessage, `malformed message from the server: ${why}`)
      if (this.#state === 'connecting') this.#rejectReady(err)
      return this.emit('error', err)
    }
    if (message) this.#dispatch(ws, message)
  }

  #dispatch(ws: WebSocketLike, m: ServerMessage): void {
    switch (m.cmd) {
      case 'prepare_reply':
        if (this.#state === 'connecting') this.resumed = this.#first.cmd === 'resume' && this.#fallback !== undefined
        this.code = m.key
        this.token = m.token
        this.dropped = m.dropped
        if (m.token) writeItem(this.#storage, this.#storageKey, JSON.stringify({ key: m.key, token: m.token }))
        return
      case 'state': {
        this.state = m.state
        if (this.#state !== 'connected') this.#attached(ws)
        return this.emit('state', m.state)
      }
      case 'player_joined':
        return this.emit('player_joined', m.player, m.name)
      case 'player_left':
      case 'player_away':
      case 'player_back':
        return this.emit(m.cmd, m.player)
      case 'from':
        return this.emit('from', m.from, m.data)
      case 'from_str':
        return this.emit('from_str', m.from, m.data)
      case 'error':
        return this.#onError(ws, new PartylineError(m.code, m.reason))
      case 'stop':
        this.#stopped = true
        writeItem(this.#storage, this.#storageKey, undefined)
        return this.emit('stop')
    }
  }

  /** The room is this host's again (first `state` after `prepare_reply`). */
  #attached(ws: WebSocketLike): void {
    const first = this.#state === 'connecting'
    this.#state = 'connected'
    this.#retry.succeeded()
    for (const m of this.#queue.drain()) this.#write(ws, m)
    if (first) this.#resolveReady()
    else this.emit('reconnected')
  }

  #onError(ws: WebSocketLike, err: PartylineError): void {
    const refusedResume = err.code === ErrorCode.NoSuchRoom || err.code === ErrorCode.BadToken
    if (this.#state === 'connecting') {
      if (refusedResume && this.#fallback) {
        // The kept room is gone (or its token is stale): make a new one on this connection.
        writeItem(this.#storage, this.#storageKey, undefined)
        const prepare = this.#fallback
        this.#fallback = undefined
        return this.#write(ws, prepare)
      }
      this.#rejectReady(err)
      return this.emit('error', err)
    }
    if (this.#state === 'reconnecting') {
      this.#ws = undefined
      ws.close(1000)
      if (refusedResume) {
        writeItem(this.#storage, this.#storageKey, undefined)
        const code = err.code === ErrorCode.NoSuchRoom ? CloseCode.NoSuchRoom : CloseCode.PolicyViolation
        return this.#end(code, `the room could not be resumed: ${err.reason}`, true)
      }
      // Refused for now (rate_limited, unavailable): try again later.
      return this.#dropped(1013, err.reason)
    }
    this.emit('error', err)
  }

  #dropped(code: number, reason: string): void {
    const why = reason || closeReason[code as CloseCode] || `closed with ${code}`
    if (this.#state === 'connecting') {
      this.#rejectReady(new PartylineError(code, why))
      return this.#end(code, why, false)
    }
    if (this.#userClosed || this.#stopped) return this.#end(code, why, false)
    if (HOST_FINAL_CODES.has(code) || !this.#retry.enabled) return this.#end(code, why, true)
    this.#state = 'reconnecting'
    const { attempt, delay } = this.#retry.schedule(() => this.#open())
    this.emit('reconnecting', attempt, delay)
  }

  #end(code: number, reason: string, lost: boolean): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#retry.cancel()
    this.#queue.drain()
    if (lost) this.emit('lost', code, reason)
    this.emit('close', code, reason)
  }
}

export interface CreateRoomOptions extends HostOptions {
  readonly maxPlayers: number
  readonly name?: string
  /** List the room in the lobby. */
  readonly public?: boolean
  /**
   * Take back the room kept in `storage` if there is one (a reloaded page), and create a
   * new room only if that fails. Default `true`.
   */
  readonly resume?: boolean
}

function storedRoom(opts: HostOptions): { key: string; token: string } | undefined {
  if (opts.storage === null) return undefined
  const raw = readItem(opts.storage ?? pageStorage('sessionStorage'), opts.storageKey ?? 'partyline.host')
  if (!raw) return undefined
  try {
    const v = JSON.parse(raw) as { key?: unknown; token?: unknown }
    return typeof v.key === 'string' && typeof v.token === 'string' ? { key: v.key, token: v.token } : undefined
  } catch {
    return undefined
  }
}

/**
 * `createRoom` without waiting: the client is returned at once so handlers can be attached
 * before anything arrives; `ready` resolves once the room has its code.
 *
 * @example
 * ```ts
 * const host = openRoom({ maxPlayers: 4 })
 * host.on('player_joined', (id) => console.log(id, 'joined'))
 * await host.ready
 * ```
 */
export function openRoom(opts: CreateRoomOptions): HostClient
export function openRoom(server: string | undefined, opts: CreateRoomOptions): HostClient
export function openRoom(a: string | undefined | CreateRoomOptions, b?: CreateRoomOptions): HostClient {
  const [server, opts] = typeof a === 'object' ? [undefined, a] : [a, b!]
  const prepare: Command = { cmd: 'prepare', max_players: opts.maxPlayers }
  if (opts.name !== undefined) prepare.name = opts.name
  if (opts.public !== undefined) prepare.public = opts.public
  const kept = opts.resume === false ? undefined : storedRoom(opts)
  if (kept) return new HostClient(server, { cmd: 'resume', key: kept.key, token: kept.token }, prepare, opts)
  return new HostClient(server, prepare, undefined, opts)
}

/**
 * Create a room and be its host (the game on the TV). Resolves once the room has its code
 * (`host.code`); rejects with a `PartylineError` (`invalid_field`, `rate_limited`, …) if the
 * server refuses. In a page, the room code and resume token are kept in `sessionStorage`:
 * a reloaded page takes the same room back, players and all. After a drop the client
 * resumes by itself (`reconnecting`, `reconnected`, `lost` events).
 *
 * In a page, `server` may be left out: the page's own origin is used.
 *
 * @example
 * ```ts
 * import { createRoom } from '/sdk/partyline.js'
 * const host = await createRoom({ maxPlayers: 8, name: 'Quiz' })
 * show(host.code) // "KQZT": players open /KQZT
 * host.on('player_joined', (id, name) => console.log(name ?? `player ${id}`, 'joined'))
 * host.on('from_str', (id, text) => host.sendText(`you said ${text}`, [id]))
 * ```
 */
export function createRoom(opts: CreateRoomOptions): Promise<HostClient>
export function createRoom(server: string | undefined, opts: CreateRoomOptions): Promise<HostClient>
export async function createRoom(a: string | undefined | CreateRoomOptions, b?: CreateRoomOptions): Promise<HostClient> {
  const host = typeof a === 'object' ? openRoom(a) : openRoom(a, b!)
  await host.ready
  return host
}

/**
 * `resumeRoom` without waiting. The kept player frames arrive right after `ready`: attach
 * `from`/`from_str` handlers before awaiting it.
 *
 * @example
 * ```ts
 * const host = reopenRoom(server, code, token)
 * host.on('from_str', (id, text) => console.log('kept while away:', id, text))
 * await host.ready
 * ```
 */
export function reopenRoom(server: string | undefined, code: string, token: string, opts: HostOptions = {}): HostClient {
  return new HostClient(server, { cmd: 'resume', key: code, token }, undefined, opts)
}

/**
 * Take back a room after the host's connection dropped, with the last token it was given
 * (`host.token`). A page rarely needs this: `createRoom` resumes from storage by itself.
 *
 * @example
 * ```ts
 * const again = await resumeRoom('ws://localhost:8081', saved.code, saved.token)
 * console.log(again.dropped, 'player frames were lost while away')
 * ```
 */
export async function resumeRoom(server: string | undefined, code: string, token: string, opts: HostOptions = {}): Promise<HostClient> {
  const host = reopenRoom(server, code, token, opts)
  await host.ready
  return host
}
