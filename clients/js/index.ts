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
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (ev: any) => void): void
}
export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface ConnectOptions {
  /** WebSocket implementation; defaults to `globalThis.WebSocket`. */
  readonly WebSocket?: WebSocketConstructor
}

export interface RoomState {
  readonly name: string
  readonly players: readonly number[]
  readonly max_players: number
  readonly accept_conns: boolean
}

type HostEvents = {
  state: (state: RoomState) => void
  player_joined: (player: number) => void
  player_left: (player: number) => void
  from: (player: number, data: Uint8Array) => void
  from_str: (player: number, data: string) => void
  error: (error: PartylineError) => void
  stop: () => void
  close: (code: number, reason: string) => void
}

/** A refusal from the server: a protocol `error` (code is an ErrorCode) or a close. */
export class PartylineError extends Error {
  constructor(readonly code: string | number, message: string) {
    super(message)
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

/** The game's side of a room. */
export class HostClient extends Emitter<HostEvents> {
  code = ''
  /** Secret for `resumeRoom`; rotates on every resume. */
  token = ''
  state: RoomState | undefined
  /** Resolves once the room is this host's (`prepare_reply` and the first `state`). */
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
    ws.addEventListener('message', (ev: { data: ArrayBuffer | string }) => this.#onMessage(ev.data))
    ws.addEventListener('close', (ev: { code: number; reason: string }) => this.emit('close', ev.code, ev.reason))
  }

  start(): void {
    this.#send({ cmd: 'start' })
  }
  kick(player: number): void {
    this.#send({ cmd: 'kick', player })
  }
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

  #onMessage(raw: ArrayBuffer | string): void {
    const m = (typeof raw === 'string' ? JSON.parse(raw) : this.#decoder.decode(new Uint8Array(raw))) as Record<string, unknown>
    switch (m.cmd) {
      case 'prepare_reply':
        this.code = String(m.key)
        this.token = String(m.token)
        return
      case 'state':
        this.state = m as unknown as RoomState
        return this.emit('state', this.state)
      case 'player_joined':
        return this.emit('player_joined', Number(m.player))
      case 'player_left':
        return this.emit('player_left', Number(m.player))
      case 'from': {
        const d = m.data
        return this.emit('from', Number(m.from), typeof d === 'string' ? fromBase64(d) : (d as Uint8Array))
      }
      case 'from_str':
        return this.emit('from_str', Number(m.from), String(m.data))
      case 'error':
        return this.emit('error', new PartylineError(String(m.code ?? 'error'), String(m.reason)))
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
  host.ready.catch(() => {})
  return host
}

type PlayerEvents = {
  message: (data: Uint8Array | string) => void
  close: (code: number, reason: string) => void
}

/** A phone in a room: send bytes or text to the game, receive what it sends. */
export class PlayerClient extends Emitter<PlayerEvents> {
  readonly code: string
  #ws: WebSocketLike

  /** @internal use joinRoom */
  constructor(ws: WebSocketLike, code: string) {
    super()
    this.#ws = ws
    this.code = code
    ws.addEventListener('message', (ev: { data: ArrayBuffer | string }) =>
      this.emit('message', typeof ev.data === 'string' ? ev.data : new Uint8Array(ev.data)),
    )
    ws.addEventListener('close', (ev: { code: number; reason: string }) => this.emit('close', ev.code, ev.reason))
  }

  send(data: Uint8Array | string): void {
    this.#ws.send(data)
  }

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
