/**
 * One WebSocket as the server uses it: bounded sends, counted frames, closes with a code from
 * the registry. A connection whose send buffer passes `maxBuffered` is closed with 1013 and
 * dropped, so one slow phone never holds up a room or the process.
 */
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { WebSocket } from 'ws'
import { CloseCode, closeReason } from '../errors.js'
import type { Role, ServerMetrics } from '../metrics.js'
import { writeFrame, type FrameCache } from './wire-frame.js'

/**
 * The WebSocket class the server's sockets are made of. `ws` closes a connection by itself
 * when the peer breaks a limit (a frame over `maxPayload` → 1009) and sends no reason then;
 * here every close without a reason gets the registered one, so a page can show it.
 */
export class ReasonedWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    const registered = code !== undefined && Object.hasOwn(closeReason, code) ? closeReason[code as CloseCode] : undefined
    super.close(code, data ?? registered)
  }
}

export interface ConnectionContext {
  readonly metrics: ServerMetrics
  readonly maxBuffered: number
  /** Frames payloads once for all the sockets a fan-out goes to. */
  readonly frames: FrameCache
  readonly logger: Logger
  /** Called once when a connection's socket has closed, after its own `onClose`. */
  readonly closed: (conn: Connection) => void
}

/** How long a closing socket may take to finish the closing handshake before it is cut. */
const CLOSE_TIMEOUT_MS = 2_000

/**
 * Contract: the Connection is the only listener of its socket's 'close' and 'error' (one
 * each, so a connection costs few closures: 5,000 idle phones are mostly ws's own memory);
 * whoever owns the connection hears of the close through `onClose`.
 */
export class Connection {
  readonly ws: WebSocket
  readonly role: Role
  /** Set by the session that owns the connection: runs once, when the socket has closed. */
  onClose: (() => void) | undefined
  /** The upgraded TCP socket under `ws`: sends write whole frames to it (see wire-frame.ts). */
  #socket: Duplex
  #ctx: ConnectionContext
  #closing = false
  #closeCode: CloseCode | undefined
  #cut: NodeJS.Timeout | undefined

  constructor(ws: WebSocket, socket: Duplex, role: Role, ctx: ConnectionContext) {
    this.ws = ws
    this.#socket = socket
    this.role = role
    this.#ctx = ctx
    ctx.metrics.connections[role]++
    ws.on('close', () => this.#socketClosed())
    ws.on('error', (err: Error & { code?: string }) => this.#socketError(err))
  }

  #socketClosed(): void {
    clearTimeout(this.#cut)
    this.#ctx.metrics.connections[this.role]--
    this.onClose?.()
    this.#ctx.closed(this)
  }

  /** Errors (bad frames, oversize) end in 'close' too; only the 1009 needs counting here. */
  #socketError(err: Error & { code?: string }): void {
    this.#ctx.logger.debug({ err: err.message, role: this.role }, 'socket error')
    // An oversize frame is closed by `ws` itself (1009): count it like the server's own closes.
    if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || this.#closing) return
    this.#closing = true
    this.#closeCode = CloseCode.MessageTooBig
    this.#ctx.metrics.closed(CloseCode.MessageTooBig)
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
    if (this.#closing || this.ws.readyState !== 1) return false
    const socket = this.#socket
    // Judge what is already waiting, not the new frame: a large frame to a phone that keeps
    // up is fine; a phone that has let `maxBuffered` pile up is not keeping up.
    if (socket.writableLength > this.#ctx.maxBuffered) {
      this.#ctx.metrics.drop('slow-consumer')
      this.close(CloseCode.TryAgainLater, 500)
      return false
    }
    const frame = this.#ctx.frames.frame(data)
    const m = this.#ctx.metrics
    m.frames.out++
    m.bytes.out += frame.payloadBytes
    writeFrame(socket, frame)
    return true
  }

  /**
   * Close with `code` and its registered reason. The socket is cut if the closing handshake
   * has not finished within `cutAfterMs` (a peer that stopped reading never answers).
   */
  close(code: CloseCode, cutAfterMs = CLOSE_TIMEOUT_MS): void {
    if (this.#closing) return
    this.#closing = true
    this.#closeCode = code
    this.#ctx.metrics.closed(code)
    const ws = this.ws
    if (ws.readyState === 0 || ws.readyState === 1) ws.close(code, closeReason[code])
    if (ws.readyState === 3) return
    this.#cut = setTimeout(() => ws.terminate(), cutAfterMs)
    this.#cut.unref()
  }
}
