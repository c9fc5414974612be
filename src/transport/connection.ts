/**
 * One WebSocket as the server uses it: bounded sends, counted frames, closes with a code from
 * the registry. A connection that does not keep up is closed with 1013 and dropped, so one
 * slow phone or listener never holds up a room or the process.
 */
import { randomFillSync } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { WebSocket } from 'ws'
import { CloseCode, closeReason } from '../errors.js'
import type { Role, ServerMetrics } from '../metrics.js'
import { pingFrame, writeFrame, type FrameCache, type WireFrame } from './wire-frame.js'

/**
 * The WebSocket class the server's sockets are made of. `ws` closes a connection by itself
 * when the peer breaks a limit (a frame over `maxPayload` → 1009) and sends no reason then;
 * here every close without a reason gets the registered one, so a page can show it.
 */
export class ReasonedWebSocket extends WebSocket {
  /** The Connection made of this socket, for the one shared 'pong' handler. */
  connection: Connection | undefined

  override close(code?: number, data?: string | Buffer): void {
    const registered = code !== undefined && Object.hasOwn(closeReason, code) ? closeReason[code as CloseCode] : undefined
    super.close(code, data ?? registered)
  }

  /**
   * Every frame the peer sends is counted here, on its way to the session's 'message'
   * listener: a second listener would cost every frame an emit to an array of listeners.
   * (ws emits at most two arguments.)
   */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    if (event === 'message') this.connection?.frameIn()
    return super.emit(event, a, b)
  }
}

/**
 * A coarse clock for judging sends, advanced by the gateway every `stallMs / STALL_TICKS`:
 * a send reads one number instead of asking the system for the time.
 */
export interface SendClock {
  readonly tick: number
}

/** A probe unanswered for more than this many ticks of the SendClock closes its connection. */
export const STALL_TICKS = 8
/** Ticks between two probes of one connection at least (a pong costs the server a few µs). */
const PROBE_TICKS = 2
/**
 * The inbound budget's tick, in ms: fine, so that a held connection is read again in small
 * steps spread over the second rather than all together once per SendClock tick.
 */
export const INBOUND_TICK_MS = 100

export interface ConnectionContext {
  readonly metrics: ServerMetrics
  /** Frames a connection may send per inbound tick (`INBOUND_TICK_MS`), by role. */
  readonly framesPerTick: Readonly<Record<Role, number>>
  /** Connections not read now; the gateway calls `release()` on each at every inbound tick. */
  readonly held: Set<Connection>
  /** Counts inbound ticks (advanced by the gateway every `INBOUND_TICK_MS`). */
  readonly inboundClock: SendClock
  /** Bytes the kernel has not yet taken (user space) past which a send closes with 1013. */
  readonly maxBuffered: number
  readonly clock: SendClock
  /** Frames payloads once for all the sockets a fan-out goes to. */
  readonly frames: FrameCache
  readonly logger: Logger
  /** A pong came: the peer is alive (the heartbeat's business). */
  readonly alive: (ws: WebSocket) => void
  /** Called once when a connection's socket has closed, after its own `onClose`. */
  readonly closed: (conn: Connection) => void
}

/** How long a peer may take to answer a close the server started before its socket is cut. */
const CLOSE_TIMEOUT_MS = 2_000
/** How long a refused or too slow connection's close frame may take to reach the kernel. */
const RELEASE_TIMEOUT_MS = 500

/**
 * Closes that refuse a connection as it arrives (often many, possibly hostile) or drop one
 * that stopped reading. These do not wait for the peer's closing frame: the close frame and
 * a FIN are handed to the kernel and the descriptor is released at once (the kernel still
 * delivers them). A peer that answers then meets a closed socket, after it has read the
 * code, which is all a page needs. Other closes (room ended, kicked, replaced, restart) end
 * a real session and wait up to CLOSE_TIMEOUT_MS for a clean closing handshake.
 */
const RELEASED_AT_ONCE: ReadonlySet<CloseCode> = new Set<CloseCode>([
  CloseCode.PolicyViolation,
  CloseCode.TryAgainLater,
  CloseCode.RoomStarted,
  CloseCode.NoSuchRoom,
  CloseCode.RoomFull,
  CloseCode.TooManyAttempts,
])

/**
 * Contract: the Connection is the only listener of its socket's 'close', 'error' and 'pong'
 * (one each, so a connection costs few closures: 5,000 idle phones are mostly ws's own
 * memory); whoever owns the connection hears of the close through `onClose`.
 *
 * Keeping up is judged at each send, two ways:
 * - bytes the kernel has not taken (`writableLength`) past `maxBuffered`: a peer that reads
 *   too slowly for what it is sent, whatever the frame size;
 * - a probe unanswered for `stallMs`: a peer that stopped reading while its frames are small.
 *   The kernel takes megabytes of those into its buffers (and the peer's), so user space
 *   never fills and only time tells. Sends carry a ping with a random payload at most once
 *   per PROBE_TICKS clock ticks, while none is outstanding; its pong, which the peer writes
 *   only after it has read everything sent before the ping, answers it (a peer cannot answer
 *   a ping it has not read). So a connection is closed once what it was sent has stayed
 *   unread for `stallMs` (to a quarter of it more: a probe may leave up to PROBE_TICKS after
 *   the frames it answers for) while more is due.
 */
export class Connection {
  readonly ws: WebSocket
  readonly role: Role
  /** The key of the client's address (see client-address.ts). */
  readonly address: string
  /** Set by the session that owns the connection: runs once, when the socket has closed. */
  onClose: (() => void) | undefined
  /** The upgraded TCP socket under `ws`: sends write whole frames to it (see wire-frame.ts). */
  #socket: Duplex
  #ctx: ConnectionContext
  #closing = false
  #closeCode: CloseCode | undefined
  #cut: NodeJS.Timeout | undefined
  /** The outstanding probe (a ping frame; its payload is the nonce), if any. */
  #probe: Buffer | undefined
  /** The SendClock tick of the last probe sent. */
  #probeTick = -PROBE_TICKS
  /**
   * Frames received and not yet paid for by elapsed inbound ticks (as of tick `#inTick`):
   * a token bucket run in debt, since one socket read may bring many frames at once.
   */
  #inFrames = 0
  #inTick = 0
  #held = false

  constructor(ws: ReasonedWebSocket, socket: Duplex, role: Role, address: string, ctx: ConnectionContext) {
    this.ws = ws
    this.#socket = socket
    this.role = role
    this.address = address
    this.#ctx = ctx
    ws.connection = this
    ctx.metrics.connections[role]++
    ws.on('close', socketClosed)
    ws.on('error', socketError)
    ws.on('pong', socketPong)
  }

  /** @internal the socket has closed (its ws's 'close'). */
  socketClosed(): void {
    clearTimeout(this.#cut)
    this.#ctx.held.delete(this)
    ;(this.ws as ReasonedWebSocket).connection = undefined
    this.#ctx.metrics.connections[this.role]--
    this.onClose?.()
    this.#ctx.closed(this)
  }

  /** @internal Errors (bad frames, oversize) end in 'close' too; only the 1009 needs counting here. */
  socketError(err: Error & { code?: string }): void {
    this.#ctx.logger.debug({ err: err.message, role: this.role }, 'socket error')
    // An oversize frame is closed by `ws` itself (1009): count it like the server's own closes.
    if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || this.#closing) return
    this.#closing = true
    this.#closeCode = CloseCode.MessageTooBig
    this.#ctx.metrics.closed(CloseCode.MessageTooBig)
  }

  /** @internal A pong: the peer is alive, and if it echoes the outstanding probe, it has read up to it. */
  socketPong(data: Buffer): void {
    this.#ctx.alive(this.ws)
    const probe = this.#probe
    if (probe !== undefined && data.length === probe.length - 2 && probe.compare(data, 0, data.length, 2) === 0) this.#probe = undefined
  }

  /**
   * @internal A frame came from the peer. Past its role's budget the socket is read no more
   * until the ticks since have paid for what it sent: the peer's frames wait in TCP buffers
   * and then in its own send buffer, so a flood slows its sender to the budget on average
   * (frames that came in one read past the budget are debt, paid before it is read again),
   * costs the server nothing meanwhile, and nothing is dropped. Frames already read still
   * reach the session.
   */
  frameIn(): void {
    const budget = this.#payBack()
    if (++this.#inFrames <= budget || this.#held || this.#closing) return
    this.#held = true
    this.#ctx.metrics.inboundHeld++
    this.ws.pause()
    this.#ctx.held.add(this)
  }

  /** @internal An inbound tick: read the socket again once its debt is paid, else stay held. */
  release(): void {
    if (this.#closing || this.ws.readyState !== 1) return
    if (this.#inFrames >= this.#payBack()) {
      this.#ctx.held.add(this)
      return
    }
    this.#held = false
    this.ws.resume()
  }

  /** Pays the debt down by the budget of each inbound tick since the last look; the budget. */
  #payBack(): number {
    const budget = this.#ctx.framesPerTick[this.role]
    const tick = this.#ctx.inboundClock.tick
    if (tick !== this.#inTick) {
      this.#inFrames = Math.max(0, this.#inFrames - budget * (tick - this.#inTick))
      this.#inTick = tick
    }
    return budget
  }

  get closing(): boolean {
    return this.#closing
  }

  /** The code the server closed this connection with, if it did. */
  get closeCode(): CloseCode | undefined {
    return this.#closeCode
  }

  /**
   * Sends one frame (text for a string, binary for bytes), unless the peer is gone or too
   * slow; never throws. `data` must not be changed afterwards (it may be written later).
   *
   * The frame is written to the socket directly rather than through `ws.send`: with no
   * permessage-deflate, ws's sender never queues, so whole frames written here interleave
   * correctly with the control frames ws writes itself (pongs, the closing frame), and a
   * payload sent to many sockets is framed once (FrameCache).
   */
  send(data: Uint8Array | string): boolean {
    if (!this.#keepingUp()) return false
    this.#write(this.#ctx.frames.frame(data))
    return true
  }

  /** Sends frames already framed (`frameBatch`, shared by a fan-out), like `send`. */
  sendFramed(frame: WireFrame): boolean {
    if (!this.#keepingUp()) return false
    this.#write(frame)
    return true
  }

  /** Whether a frame may be written now; closes with 1013 a peer that is not keeping up. */
  #keepingUp(): boolean {
    if (this.#closing || this.ws.readyState !== 1) return false
    // Judge what is already waiting, not the new frame: a large frame to a phone that keeps
    // up is fine; a phone that has let `maxBuffered` pile up is not keeping up.
    if (this.#socket.writableLength > this.#ctx.maxBuffered) {
      this.#ctx.metrics.drop('slow-consumer')
      this.close(CloseCode.TryAgainLater)
      return false
    }
    if (this.#probe !== undefined && this.#ctx.clock.tick - this.#probeTick > STALL_TICKS) {
      this.#ctx.metrics.drop('send-stall')
      this.close(CloseCode.TryAgainLater)
      return false
    }
    return true
  }

  #write(frame: WireFrame): void {
    const m = this.#ctx.metrics
    m.frames.out += frame.frames
    m.bytes.out += frame.payloadBytes
    const tick = this.#ctx.clock.tick
    if (this.#probe !== undefined || tick - this.#probeTick < PROBE_TICKS) return writeFrame(this.#socket, frame)
    this.#probeTick = tick
    this.#probe = pingFrame(randomFillSync(Buffer.allocUnsafe(8)))
    writeFrame(this.#socket, frame, this.#probe)
  }

  /**
   * Close with `code` and its registered reason. Refusals and 1013 release the socket as
   * soon as the close frame is with the kernel (see RELEASED_AT_ONCE), cutting it after
   * RELEASE_TIMEOUT_MS if it never gets there (a peer that stopped reading: it is reset, so
   * the kernel frees what it held for it). Other closes wait for the peer's closing frame and
   * cut the socket after CLOSE_TIMEOUT_MS.
   */
  close(code: CloseCode): void {
    if (this.#closing) return
    this.#closing = true
    this.#closeCode = code
    this.#ctx.metrics.closed(code)
    const ws = this.ws
    if (ws.readyState === 0 || ws.readyState === 1) ws.close(code, closeReason[code])
    if (ws.readyState === 3) return
    const socket = this.#socket
    const metrics = this.#ctx.metrics
    if (RELEASED_AT_ONCE.has(code)) {
      socket.end()
      if (socket.writableFinished) socket.destroy()
      else socket.once('finish', destroySocket)
      this.#cut = setTimeout(() => {
        metrics.closesCut++
        resetSocket(socket)
      }, RELEASE_TIMEOUT_MS)
    } else {
      this.#cut = setTimeout(() => {
        metrics.closesCut++
        ws.terminate()
      }, CLOSE_TIMEOUT_MS)
    }
    this.#cut.unref()
  }
}

// Shared listeners (`this` is the socket): no closure per connection.
function socketClosed(this: WebSocket): void {
  ;(this as ReasonedWebSocket).connection?.socketClosed()
}
function socketError(this: WebSocket, err: Error & { code?: string }): void {
  ;(this as ReasonedWebSocket).connection?.socketError(err)
}
function socketPong(this: WebSocket, data: Buffer): void {
  ;(this as ReasonedWebSocket).connection?.socketPong(data)
}
function destroySocket(this: Duplex): void {
  this.destroy()
}

/** Aborts with a TCP reset where the socket can (frees the kernel's buffers at once). */
function resetSocket(socket: Duplex): void {
  const tcp = socket as Duplex & { resetAndDestroy?: () => void }
  if (typeof tcp.resetAndDestroy === 'function' && !socket.destroyed) tcp.resetAndDestroy()
  else socket.destroy()
}
