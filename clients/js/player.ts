/** A phone in a room: joins with a `sid` and a name, and comes back by itself after a drop. */
import { CloseCode, closeReason, PartylineError } from './codes.js'
import { Emitter } from './emitter.js'
import { notConnected, RetrySchedule, SendQueue, type ConnectionState, type ReconnectEvents, type ReconnectOption } from './link.js'
import { bytesOf, OPEN, openSocket, randomId, wsUrl, type ConnectOptions, type WebSocketLike } from './socket.js'
import { pageStorage, readItem, writeItem, type StorageLike } from './storage.js'

/** A connection's end: the WebSocket close code (see `CloseCode`) and its reason. */
export interface CloseInfo {
  readonly code: number
  readonly reason: string
}

/** What a `PlayerClient` emits: listen with `on`, or `await player.once(event)`. */
export type PlayerEvents = ReconnectEvents & {
  /** What the game sent to this player: bytes (`send`) or text (`sendText`). */
  message: (data: Uint8Array | string) => void
}

/**
 * Close codes after which a player does not come back: the room is gone for this phone
 * (4001 kicked, 4002 stopped, 4004 no such room, 4010 the host did not come back), another
 * connection took its place (4011: two tabs must not take turns), or the server refused it
 * by policy (1008: a retry would be refused the same way), or closed it normally (1000).
 * Every other end (a network drop, 1012 restart, 1013, 4029, …) is retried.
 */
export const PLAYER_FINAL_CODES: ReadonlySet<number> = new Set([
  CloseCode.Normal,
  CloseCode.PolicyViolation,
  CloseCode.Kicked,
  CloseCode.RoomStopped,
  CloseCode.NoSuchRoom,
  CloseCode.HostGone,
  CloseCode.Replaced,
])

export interface JoinOptions extends ConnectOptions {
  /**
   * Stable id of this phone in this room (16–64 URL-safe characters): a reconnect keeps the
   * player id. By default one is made up and kept in `storage` per room code, so a reload
   * comes back as the same player. `false` joins without one (and then does not reconnect).
   */
  readonly sid?: string | false
  /** The player's name, 1–32 characters; the host sees it in `player_joined` and `state`. */
  readonly name?: string
  /** Reconnect after a drop (the default), with this policy; `false` to stop at the first drop. */
  readonly reconnect?: ReconnectOption
  /** Where the `sid` is kept; defaults to the page's `localStorage` (nothing in Node). `null`: nowhere. */
  readonly storage?: StorageLike | null
  /**
   * How long a new connection must stay open before the join counts as accepted, in ms
   * (default 200). The server refuses a player by accepting the WebSocket and closing it at
   * once, with a code; a close inside this window is a refusal. A frame from the game ends
   * the window early.
   */
  readonly settleMs?: number
  /** For tests of the backoff: the random source of the jitter (default `Math.random`). */
  readonly random?: () => number
}

/** A phone in a room: send bytes or text to the game, receive what it sends. */
export class PlayerClient extends Emitter<PlayerEvents> {
  /** The room code, upper-case. */
  readonly code: string
  /** The sid this player joined with (kept across reconnects), if any. */
  readonly sid: string | undefined
  readonly name: string | undefined
  /** Resolves once, at the very end, with the last close code and reason. */
  readonly closed: Promise<CloseInfo>
  #resolveClosed!: (info: CloseInfo) => void
  #url: string
  #opts: JoinOptions
  #storage: StorageLike | undefined
  #ws: WebSocketLike | undefined
  #state: ConnectionState = 'connecting'
  #settle: ReturnType<typeof setTimeout> | undefined
  #retry: RetrySchedule
  #queue: SendQueue<Uint8Array | string>
  #userClosed = false
  #joined: { resolve: (p: PlayerClient) => void; reject: (e: PartylineError) => void } | undefined

  /** @internal use joinRoom */
  constructor(server: string | undefined, code: string, opts: JoinOptions) {
    super()
    this.code = code.toUpperCase()
    this.#opts = opts
    this.#storage = opts.storage === null ? undefined : (opts.storage ?? pageStorage('localStorage'))
    const sidKey = `partyline.sid.${this.code}`
    this.sid = opts.sid === false ? undefined : (opts.sid ?? readItem(this.#storage, sidKey) ?? randomId())
    if (this.sid !== undefined && opts.sid === undefined) writeItem(this.#storage, sidKey, this.sid)
    this.name = opts.name
    const query = new URLSearchParams()
    if (this.sid !== undefined) query.set('sid', this.sid)
    if (this.name !== undefined) query.set('name', this.name)
    const q = query.toString()
    this.#url = wsUrl(server, `/${encodeURIComponent(code)}${q ? `?${q}` : ''}`)
    // Without a sid a reconnect would be a new player: a different id, a second `player_joined`.
    this.#retry = new RetrySchedule(this.sid === undefined ? false : opts.reconnect, opts.random)
    this.#queue = new SendQueue(this.#retry.policy.maxQueued)
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve))
  }

  /** Where the connection stands: `connecting`, `connected`, `reconnecting` or `closed`. */
  get connection(): ConnectionState {
    return this.#userClosed ? 'closed' : this.#state
  }

  /**
   * A binary frame (bytes) or a text frame (string) to the game. Returns `'sent'`, or
   * `'queued'` while reconnecting (it goes out, in order, once the connection is back).
   * Throws `PartylineError` (`queue_full`, `not_connected`) when it cannot be kept: a send
   * is never dropped silently.
   *
   * @example
   * ```ts
   * if (player.send(JSON.stringify({ answer: 2 })) === 'queued') showNote('will be sent when back online')
   * ```
   */
  send(data: Uint8Array | string): 'sent' | 'queued' {
    if (this.#state === 'closed' || this.#userClosed) throw notConnected('player')
    if (this.#state === 'connected' && this.#ws?.readyState === OPEN) {
      this.#ws.send(data)
      return 'sent'
    }
    // Bytes are copied: the caller may reuse its buffer before the connection is back.
    this.#queue.push(typeof data === 'string' ? data : data.slice())
    return 'queued'
  }

  /**
   * Leave the room and stop reconnecting. With a `sid` the server holds the place for its
   * grace period, so `joinRoom` with the same sid (the default in a page) comes back.
   *
   * @example
   * ```ts
   * window.addEventListener('pagehide', () => player.close())
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

  /** @internal */
  connect(joined: { resolve: (p: PlayerClient) => void; reject: (e: PartylineError) => void }): void {
    this.#joined = joined
    this.#open()
  }

  #open(): void {
    let ws: WebSocketLike
    try {
      ws = openSocket(this.#url, this.#opts)
    } catch (e) {
      return this.#dropped(1006, e instanceof Error ? e.message : String(e))
    }
    this.#ws = ws
    ws.addEventListener('open', () => {
      if (this.#ws !== ws) return
      this.#settle = setTimeout(() => this.#settled(ws), this.#opts.settleMs ?? 200)
    })
    ws.addEventListener('message', (ev) => {
      if (this.#ws !== ws) return
      // The game spoke: the server took this connection.
      if (this.#state !== 'connected') this.#settled(ws)
      const data = typeof ev.data === 'string' ? ev.data : bytesOf(ev.data)
      if (data !== undefined) this.emit('message', data)
    })
    ws.addEventListener('close', (ev) => {
      if (this.#ws !== ws) return
      clearTimeout(this.#settle)
      this.#ws = undefined
      this.#dropped(ev.code, ev.reason)
    })
  }

  #settled(ws: WebSocketLike): void {
    clearTimeout(this.#settle)
    if (this.#ws !== ws || this.#state === 'connected' || this.#state === 'closed') return
    const first = this.#state === 'connecting'
    this.#state = 'connected'
    this.#retry.succeeded()
    for (const data of this.#queue.drain()) ws.send(data)
    if (first) this.#joined?.resolve(this)
    else this.emit('reconnected')
  }

  #dropped(code: number, reason: string): void {
    const why = reason || closeReason[code as CloseCode] || (code === 1006 ? `could not reach ${this.#url.replace(/\?.*/, '')}` : `closed with ${code}`)
    if (this.#state === 'connecting') {
      // A refused join: the caller learns it from the rejection, not from events.
      this.#joined?.reject(new PartylineError(code, why))
      return this.#end(code, why, false)
    }
    if (this.#userClosed) return this.#end(code, why, false)
    if (PLAYER_FINAL_CODES.has(code) || !this.#retry.enabled) {
      // The room is gone for this phone: a later join must not reuse a refused sid.
      if (code !== CloseCode.Replaced && this.#opts.sid === undefined) writeItem(this.#storage, `partyline.sid.${this.code}`, undefined)
      return this.#end(code, why, true)
    }
    this.#state = 'reconnecting'
    const { attempt, delay } = this.#retry.schedule(() => this.#open())
    this.emit('reconnecting', attempt, delay)
  }

  #end(code: number, reason: string, lost = false): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#retry.cancel()
    this.#queue.drain()
    if (lost) this.emit('lost', code, reason)
    this.#resolveClosed({ code, reason })
    this.emit('close', code, reason)
  }
}

/**
 * Join room `code` as a player. Resolves once the server has taken the player; a refused
 * join (no such room, full, started, throttled) rejects with a `PartylineError` whose
 * `code` is the close code (4004, 4009, 4003, 4029, …) and `reason` the server's reason.
 * After that the client reconnects by itself (same sid, so the same player id) until the
 * room is gone: listen for `reconnecting`, `reconnected` and `lost`.
 *
 * In a page, `server` may be left out: the page's own origin is used.
 *
 * @example
 * ```ts
 * import { joinRoom } from '/sdk/partyline.js'
 * try {
 *   const player = await joinRoom('KQZT', { name: 'Ann' })
 *   player.on('message', (data) => console.log('the game says', data))
 *   player.on('reconnecting', () => show('reconnecting…'))
 *   player.on('lost', (code, reason) => show(reason))
 *   player.send('ready')
 * } catch (e) {
 *   show(e.reason) // "no such room" (e.code 4004), "the room is full" (4009), …
 * }
 * ```
 */
export function joinRoom(code: string, opts?: JoinOptions): Promise<PlayerClient>
export function joinRoom(server: string | undefined, code: string, opts?: JoinOptions): Promise<PlayerClient>
export function joinRoom(a: string | undefined, b?: string | JoinOptions, c?: JoinOptions): Promise<PlayerClient> {
  const [server, code, opts] = typeof b === 'string' ? [a, b, c ?? {}] : [undefined, a ?? '', b ?? {}]
  const player = new PlayerClient(server, code, opts)
  return new Promise((resolve, reject) => player.connect({ resolve, reject }))
}
