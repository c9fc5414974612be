/**
 * The partyline client for browsers and Node: a host (the game on the TV) and a player (a
 * phone). It speaks the same protocol as any WMBP page, and reads close codes and error
 * codes from the server's own registry.
 *
 * @example
 * ```ts
 * const host = await createRoom('ws://localhost:8081', { maxPlayers: 8, name: 'Quiz' })
 * host.on('from', (player, data) => host.send(data, [player]))      // echo
 * const phone = await joinRoom('ws://localhost:8081', host.code)
 * phone.on('message', (data) => console.log(data))
 * ```
 * In Node 20, pass `{ WebSocket }` from the `ws` package (Node 22+ and browsers have one).
 */
import { Decoder, Encoder } from 'cbor-x'
import { CloseCode, ErrorCode } from '../../src/errors.js'
import { Emitter } from './emitter.js'

export { CloseCode, ErrorCode }

/** The part of the WHATWG WebSocket this client uses (browsers, Node 22+, `ws`). */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  send(data: string | ArrayBufferView | ArrayBuffer): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'message', listener: (ev: { readonly data: unknown }) => void): void
  addEventListener(type: 'close', listener: (ev: { readonly code: number; readonly reason: string }) => void): void
  addEventListener(type: 'open' | 'error', listener: (ev: unknown) => void): void
}
export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface ConnectOptions {
  /** WebSocket implementation; defaults to `globalThis.WebSocket`. */
  readonly WebSocket?: WebSocketConstructor
}

/** The room as the server last described it (its `state` message), in this API's casing. */
export interface RoomState {
  /** `""` when the room was prepared without a name. */
  readonly name: string
  /** Ids of the players in the room, including those holding their place (sid) while away. */
  readonly players: readonly number[]
  readonly maxPlayers: number
  /** `false` once the host has called `start`: new players are refused with 4003. */
  readonly acceptConns: boolean
}

/** A connection's end: the WebSocket close code (see `CloseCode`) and its reason. */
export interface CloseInfo {
  readonly code: number
  readonly reason: string
}

/** What a `HostClient` emits: listen with `on`, or `await host.once(event)`. */
export type HostEvents = {
  /** The room changed (players, `acceptConns`); the same value is in `host.state`. */
  state: (state: RoomState) => void
  player_joined: (player: number) => void
  player_left: (player: number) => void
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
  close: (code: number, reason: string) => void
}

/**
 * Codes of errors the client itself detects, beside the server's `ErrorCode`s.
 * `MalformedMessage`: a frame from the server that is not a CBOR (or JSON) map with a text
 * `cmd`, or whose fields have the wrong types. The frame is skipped; the connection stays open.
 */
export const ClientErrorCode = {
  MalformedMessage: 'malformed_message',
} as const
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode]

/**
 * A refusal or a failure: a protocol `error` from the server (`code` is an `ErrorCode`, or
 * `"error"` from a server that sends no code), a close (`code` is the close code), or a
 * `ClientErrorCode`. `reason` is the server's text (also the `message`).
 */
export class PartylineError extends Error {
  constructor(
    readonly code: string | number,
    readonly reason: string,
  ) {
    super(reason)
    this.name = 'PartylineError'
  }
}

const cbor = { useRecords: false, tagUint8Array: false, variableMapSize: true, mapsAsObjects: true } as const

function wsUrl(server: string, path: string): string {
  const base = server.replace(/^http/, 'ws').replace(/\/+$/, '')
  return base + path
}

function socketFor(url: string, opts: ConnectOptions): WebSocketLike {
  const Ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (!Ctor) throw new Error('no WebSocket implementation: pass { WebSocket } from the ws package')
  const ws = new Ctor(url)
  ws.binaryType = 'arraybuffer'
  return ws
}

const toBase64 = (b: Uint8Array): string => {
  let s = ''
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!)
  return btoa(s)
}
const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))

/** A server-to-host message whose fields have been checked. */
type ServerMessage =
  | { readonly cmd: 'prepare_reply'; readonly key: string; readonly token: string; readonly dropped: number }
  | { readonly cmd: 'state'; readonly state: RoomState }
  | { readonly cmd: 'player_joined' | 'player_left'; readonly player: number }
  | { readonly cmd: 'from'; readonly from: number; readonly data: Uint8Array }
  | { readonly cmd: 'from_str'; readonly from: number; readonly data: string }
  | { readonly cmd: 'error'; readonly code: string; readonly reason: string }
  | { readonly cmd: 'stop' }

const isText = (v: unknown): v is string => typeof v === 'string'
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isId = (v: unknown): v is number => isCount(v) && v > 0

function field<T>(m: Readonly<Record<string, unknown>>, key: string, ok: (v: unknown) => v is T, what: string): T {
  const v = m[key]
  if (!ok(v)) throw new Error(`${typeof m.cmd === 'string' ? `${m.cmd}: ` : ''}\`${key}\` is not ${what}`)
  return v
}

function bytesOf(raw: unknown): Uint8Array | undefined {
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw)
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
  return undefined
}

/**
 * Decode and check one frame from the server. Throws (with what is wrong) on a frame that is
 * not a map with a text `cmd` or whose fields have the wrong types; `undefined` for a
 * command this client does not know, which it ignores as the original WMBP host does.
 */
function readServerMessage(raw: unknown, json: boolean, decoder: Decoder): ServerMessage | undefined {
  let decoded: unknown
  if (json) {
    if (typeof raw !== 'string') throw new Error('a binary frame on a JSON connection')
    decoded = JSON.parse(raw)
  } else {
    const bytes = bytesOf(raw)
    if (!bytes) throw new Error('a text frame on a CBOR connection')
    decoded = decoder.decode(bytes)
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded) || ArrayBuffer.isView(decoded)) {
    throw new Error('not a map')
  }
  const m = decoded as Readonly<Record<string, unknown>>
  const cmd = field(m, 'cmd', isText, 'text')
  switch (cmd) {
    case 'prepare_reply':
      return {
        cmd,
        key: field(m, 'key', isText, 'text'),
        // An original WMBP server sends neither (it has no resume).
        token: m.token === undefined ? '' : field(m, 'token', isText, 'text'),
        dropped: m.dropped === undefined ? 0 : field(m, 'dropped', isCount, 'a count'),
      }
    case 'state': {
      const players = field(m, 'players', (v): v is unknown[] => Array.isArray(v), 'an array')
      if (!players.every(isId)) throw new Error('state: `players` holds something other than player ids')
      const name = m.name === undefined || m.name === null ? '' : field(m, 'name', isText, 'text')
      const maxPlayers = field(m, 'max_players', isCount, 'a count')
      const acceptConns = field(m, 'accept_conns', (v): v is boolean => typeof v === 'boolean', 'a boolean')
      return { cmd, state: { name, players, maxPlayers, acceptConns } }
    }
    case 'player_joined':
    case 'player_left':
      return { cmd, player: field(m, 'player', isId, 'a player id') }
    case 'from': {
      const from = field(m, 'from', isId, 'a player id')
      const data = json ? fromBase64(field(m, 'data', isText, 'base64 text')) : field(m, 'data', (v): v is Uint8Array => v instanceof Uint8Array, 'bytes')
      return { cmd, from, data }
    }
    case 'from_str':
      return { cmd, from: field(m, 'from', isId, 'a player id'), data: field(m, 'data', isText, 'text') }
    case 'error':
      return { cmd, reason: field(m, 'reason', isText, 'text'), code: m.code === undefined ? 'error' : field(m, 'code', isText, 'text') }
    case 'stop':
      return { cmd }
    default:
      return undefined
  }
}

/** The game's side of a room: what the server says arrives as `HostEvents`. */
export class HostClient extends Emitter<HostEvents> {
  /** The room code players join with (set by `prepare_reply`). */
  code = ''
  /** Secret for `resumeRoom`; rotates on every resume. */
  token = ''
  /** The room as the last `state` described it; `undefined` until the first one. */
  state: RoomState | undefined
  /**
   * How many player frames the server dropped while this host was away, because more came
   * than it keeps (1,000 frames or 1 MiB by default). Set on resume; 0 for a new room.
   */
  dropped = 0
  /**
   * Resolves once the room is this host's (`prepare_reply` and the first `state`). Rejects
   * with the server's `error`, a malformed reply or the close that came first; the
   * connection is then closed.
   */
  ready: Promise<void> = Promise.resolve()
  #ws: WebSocketLike
  #json: boolean
  #encoder = new Encoder(cbor)
  #decoder = new Decoder(cbor)

  /** @internal use createRoom / resumeRoom */
  constructor(ws: WebSocketLike, json: boolean) {
    super()
    this.#ws = ws
    this.#json = json
    ws.addEventListener('message', (ev) => this.#onMessage(ev.data))
    ws.addEventListener('close', (ev) => this.emit('close', ev.code, ev.reason))
  }

  /** Stop accepting players; a `state` with `acceptConns: false` follows. */
  start(): void {
    this.#send({ cmd: 'start' })
  }
  /** Disconnect a player (it sees close 4001); `player_left` and `state` follow. */
  kick(player: number): void {
    this.#send({ cmd: 'kick', player })
  }
  /** End the room: every player is closed with 4002, then `stop` and `close` arrive. */
  stop(): void {
    this.#send({ cmd: 'stop' })
  }
  /** Bytes to the listed players, or to every player when `to` is omitted. */
  send(data: Uint8Array, to?: readonly number[]): void {
    this.#send(to ? { cmd: 'to', to, data } : { cmd: 'to', data })
  }
  /** Text to the listed players, or to every player. */
  sendText(data: string, to?: readonly number[]): void {
    this.#send(to ? { cmd: 'to_str', to, data } : { cmd: 'to_str', data })
  }
  /** Drop the connection without ending the room (it can be resumed within the grace period). */
  close(): void {
    this.#ws.close(1000)
  }

  /** @internal */
  sendRaw(message: Record<string, unknown>): void {
    this.#send(message)
  }

  #send(message: Record<string, unknown>): void {
    if (!this.#json) return this.#ws.send(this.#encoder.encode(message))
    const data = message.data
    this.#ws.send(JSON.stringify(data instanceof Uint8Array ? { ...message, data: toBase64(data) } : message))
  }

  #onMessage(raw: unknown): void {
    let message: ServerMessage | undefined
    try {
      message = readServerMessage(raw, this.#json, this.#decoder)
    } catch (e) {
      // A frame the server got wrong must not throw out of the socket's listener: report it, skip it.
      const why = e instanceof Error ? e.message : String(e)
      return this.emit('error', new PartylineError(ClientErrorCode.MalformedMessage, `malformed message from the server: ${why}`))
    }
    if (message) this.#dispatch(message)
  }

  #dispatch(m: ServerMessage): void {
    switch (m.cmd) {
      case 'prepare_reply':
        this.code = m.key
        this.token = m.token
        this.dropped = m.dropped
        return
      case 'state':
        this.state = m.state
        return this.emit('state', m.state)
      case 'player_joined':
      case 'player_left':
        return this.emit(m.cmd, m.player)
      case 'from':
        return this.emit('from', m.from, m.data)
      case 'from_str':
        return this.emit('from_str', m.from, m.data)
      case 'error':
        return this.emit('error', new PartylineError(m.code, m.reason))
      case 'stop':
        return this.emit('stop')
    }
  }
}

export interface CreateRoomOptions extends ConnectOptions {
  readonly maxPlayers: number
  readonly name?: string
  /** List the room in the lobby. */
  readonly public?: boolean
  /** `json` speaks JSON text frames instead of CBOR (debugging, scripts). */
  readonly format?: 'cbor' | 'json'
}

/**
 * Open `/CREATE` and prepare a room. The client is returned at once so handlers can be
 * attached before anything arrives; `ready` resolves once the room has its code.
 */
export function openRoom(server: string, opts: CreateRoomOptions): HostClient {
  const msg: Record<string, unknown> = { cmd: 'prepare', max_players: opts.maxPlayers }
  if (opts.name !== undefined) msg.name = opts.name
  if (opts.public !== undefined) msg.public = opts.public
  return openHost(server, opts.format === 'json', msg, opts)
}

/** `openRoom`, resolved once the room has its code. */
export async function createRoom(server: string, opts: CreateRoomOptions): Promise<HostClient> {
  const host = openRoom(server, opts)
  await host.ready
  return host
}

/**
 * Take back a room after the host's connection dropped, with the last token it was given.
 * The kept player frames arrive right after `ready`: attach `from`/`from_str` handlers
 * before awaiting it.
 */
export function reopenRoom(server: string, code: string, token: string, opts: ConnectOptions & { format?: 'cbor' | 'json' } = {}): HostClient {
  return openHost(server, opts.format === 'json', { cmd: 'resume', key: code, token }, opts)
}

/** `reopenRoom`, resolved once the room is back (kept frames may already have been emitted). */
export async function resumeRoom(server: string, code: string, token: string, opts: ConnectOptions & { format?: 'cbor' | 'json' } = {}): Promise<HostClient> {
  const host = reopenRoom(server, code, token, opts)
  await host.ready
  return host
}

function openHost(server: string, json: boolean, first: Record<string, unknown>, opts: ConnectOptions): HostClient {
  const ws = socketFor(wsUrl(server, json ? '/CREATE?format=json' : '/CREATE'), opts)
  const host = new HostClient(ws, json)
  ws.addEventListener('open', () => host.sendRaw(first))
  host.ready = new Promise((resolve, reject) => {
    // The first `state` follows `prepare_reply`: the room is ready.
    host.once('state').then(() => resolve())
    host.once('error').then(([err]) => reject(err))
    host.once('close').then(([code, reason]) => reject(new PartylineError(code, reason || `closed with ${code}`)))
  })
  // A host whose room was refused is of no use; createRoom callers have no handle to close it.
  host.ready.catch(() => host.close())
  return host
}

/** What a `PlayerClient` emits. */
export type PlayerEvents = {
  /** What the game sent to this player: bytes (`send`) or text (`sendText`). */
  message: (data: Uint8Array | string) => void
  /** The connection ended; `code` says why (`CloseCode`: 4001 kicked, 4002 stopped, 4003 started, ...). */
  close: (code: number, reason: string) => void
}

/** A phone in a room: send bytes or text to the game, receive what it sends. */
export class PlayerClient extends Emitter<PlayerEvents> {
  readonly code: string
  /**
   * Resolves when the connection ends, with its close code: a refused join (room started,
   * full, no such room) is opened and then closed, so this is where the refusal shows.
   */
  readonly closed: Promise<CloseInfo>
  #ws: WebSocketLike

  /** @internal use joinRoom */
  constructor(ws: WebSocketLike, code: string) {
    super()
    this.#ws = ws
    this.code = code
    ws.addEventListener('message', (ev) => {
      const data = typeof ev.data === 'string' ? ev.data : bytesOf(ev.data)
      if (data !== undefined) this.emit('message', data)
    })
    this.closed = new Promise((resolve) =>
      ws.addEventListener('close', (ev) => {
        resolve({ code: ev.code, reason: ev.reason })
        this.emit('close', ev.code, ev.reason)
      }),
    )
  }

  /** A binary frame (bytes) or a text frame (string) to the game. */
  send(data: Uint8Array | string): void {
    this.#ws.send(data)
  }

  /** Leave the room (with a `sid`, the place is held for the grace period). */
  close(): void {
    this.#ws.close(1000)
  }
}

export interface JoinOptions extends ConnectOptions {
  /** Stable id of this phone (16–64 URL-safe characters): reconnects keep the player id. */
  readonly sid?: string
}

/**
 * Open `/<code>`. Resolves when the socket is open; a refusal (full, started, no such room)
 * arrives as `close` with its code right after, so listen for `close`.
 */
export function joinRoom(server: string, code: string, opts: JoinOptions = {}): Promise<PlayerClient> {
  const query = opts.sid ? `?sid=${encodeURIComponent(opts.sid)}` : ''
  const ws = socketFor(wsUrl(server, `/${encodeURIComponent(code)}${query}`), opts)
  const player = new PlayerClient(ws, code.toUpperCase())
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(player))
    ws.addEventListener('error', () => reject(new Error(`could not connect to ${server}`)))
  })
}
