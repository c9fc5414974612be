/**
 * Clients for the connection-limit tests: a WebSocket attempt that reports either the open
 * socket or the HTTP refusal, and a raw TCP client that performs the handshake by hand and
 * then does only what a test says (a hostile one never answers a close, never reads).
 */
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { WebSocket } from 'ws'
import { until } from '../helpers/server.js'

export type Attempt =
  | { readonly open: true; readonly ws: WebSocket }
  | { readonly open: false; readonly status: number; readonly refused: string | undefined; readonly body: string }

/** Opens `url`; resolves with the socket, or with the HTTP answer that refused it. */
export function attempt(url: string, headers: Record<string, string> = {}): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    ws.on('error', () => {})
    ws.once('open', () => resolve({ open: true, ws }))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => {
        const refused = res.headers['x-partyline-refused']
        resolve({ open: false, status: res.statusCode ?? 0, refused: Array.isArray(refused) ? refused[0] : refused, body })
      })
      res.on('error', reject)
    })
    ws.once('close', (code) => reject(new Error(`closed before open or refusal: ${code}`)))
  })
}

/** Opens `n` sockets to `url` one after another; all must open. */
export async function openMany(url: string, n: number, headers: Record<string, string> = {}): Promise<WebSocket[]> {
  const out: WebSocket[] = []
  for (let i = 0; i < n; i++) {
    const a = await attempt(url, headers)
    if (!a.open) throw new Error(`socket ${i + 1} of ${n} refused: ${a.status} ${a.body}`)
    out.push(a.ws)
  }
  return out
}

/**
 * A WebSocket handshake over a bare TCP socket, then nothing: no close frame is answered,
 * nothing is sent. Records what arrives and whether the server ended (FIN) or closed the
 * connection.
 */
export class RawUpgrade {
  readonly socket: Socket
  received = Buffer.alloc(0)
  /** The server sent FIN. */
  ended = false
  closed = false

  constructor(port: number, path: string, headers: Record<string, string> = {}) {
    this.socket = connect(port, '127.0.0.1')
    this.socket.on('data', (d: Buffer) => (this.received = Buffer.concat([this.received, d])))
    this.socket.on('end', () => (this.ended = true))
    this.socket.on('close', () => (this.closed = true))
    this.socket.on('error', () => {})
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    this.socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    )
  }

  /** The HTTP status line the server answered with. */
  get statusLine(): string | undefined {
    const end = this.received.indexOf('\r\n')
    return end === -1 ? undefined : this.received.subarray(0, end).toString('latin1')
  }

  /** The close code of the server's close frame, once it has arrived whole. */
  get closeCode(): number | undefined {
    const start = this.received.indexOf('\r\n\r\n')
    if (start === -1) return undefined
    const frame = this.received.subarray(start + 4)
    if (frame.length < 4 || frame[0] !== 0x88) return undefined
    return frame.readUInt16BE(2)
  }

  async closeFrame(): Promise<number> {
    await until(() => this.closeCode !== undefined || this.closed, 'the close frame')
    if (this.closeCode === undefined) throw new Error(`closed without a close frame: ${this.statusLine}`)
    return this.closeCode
  }

  destroy(): void {
    this.socket.destroy()
  }
}
