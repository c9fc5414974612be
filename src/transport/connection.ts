/**
 * One WebSocket as the server uses it: bounded sends, counted frames, closes with a code from
 * the registry. A connection whose send buffer passes `maxBuffered` is closed with 1013 and
 * dropped, so one slow phone never holds up a room or the process.
 */
import { WebSocket } from 'ws'
import { CloseCode, closeReason } from '../errors.js'
import type { Role, ServerMetrics } from '../metrics.js'

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
}

/** How long a closing socket may take to finish the closing handshake before it is cut. */
const CLOSE_TIMEOUT_MS = 2_000

export class Connection {
  readonly ws: WebSocket
  readonly role: Role
  #ctx: ConnectionContext
  #closing = false

  constructor(ws: WebSocket, role: Role, ctx: ConnectionContext) {
    this.ws = ws
    this.role = role
    this.#ctx = ctx
    ctx.metrics.connections[role]++
    ws.once('close', () => ctx.metrics.connections[role]--)
    // An oversize frame is closed by `ws` itself (1009): count it like the server's own closes.
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || this.#closing) return
      this.#closing = true
      ctx.metrics.closed(CloseCode.MessageTooBig)
    })
  }

  get closing(): boolean {
    return this.#closing
  }

  /** Sends one frame, unless the peer is gone or too slow; never throws. */
  send(data: Uint8Array | string): boolean {
    const ws = this.ws
    if (this.#closing || ws.readyState !== 1) return false
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
    // Judge what is already waiting, not the new frame: a large frame to a phone that keeps
    // up is fine; a phone that has let `maxBuffered` pile up is not keeping up.
    if (ws.bufferedAmount > this.#ctx.maxBuffered) {
      this.#ctx.metrics.drop('slow-consumer')
      this.close(CloseCode.TryAgainLater, 500)
      return false
    }
    const m = this.#ctx.metrics
    m.frames.out++
    m.bytes.out += size
    ws.send(data, { binary: typeof data !== 'string' })
    return true
  }

  /**
   * Close with `code` and its registered reason. The socket is cut if the closing handshake
   * has not finished within `cutAfterMs` (a peer that stopped reading never answers).
   */
  close(code: CloseCode, cutAfterMs = CLOSE_TIMEOUT_MS): void {
    if (this.#closing) return
    this.#closing = true
    this.#ctx.metrics.closed(code)
    const ws = this.ws
    if (ws.readyState === 0 || ws.readyState === 1) ws.close(code, closeReason[code])
    const cut = setTimeout(() => ws.terminate(), cutAfterMs)
    cut.unref()
    ws.once('close', () => clearTimeout(cut))
  }
}
