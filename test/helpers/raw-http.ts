/**
 * HTTP/1.1 spoken by hand over real TCP sockets, for what fetch cannot do: stop reading
 * after the headers, stall in the middle of a request, send from another loopback address
 * (127.0.0.2, 127.0.0.3, …: Linux routes all of 127/8 to lo, so each is another client
 * address to the server).
 */
import { connect, type Socket } from 'node:net'
import { until } from './server.js'

/** What came back on a connection: every byte until it closed, and how it closed. */
export interface RawAnswer {
  readonly text: string
  /** The status code of the first response, or undefined when none arrived. */
  readonly status: number | undefined
  /** The connection ended with a reset (ECONNRESET / EPIPE) rather than a FIN. */
  readonly reset: boolean
}

export interface RawOptions {
  readonly localAddress?: string
}

function open(port: number, opts: RawOptions): Socket {
  return connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) })
}

function statusOf(text: string): number | undefined {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text)
  return m ? Number(m[1]) : undefined
}

/**
 * Opens a connection, runs `talk` on it (writes, possibly spread out), and resolves with
 * everything the server sent once the connection has closed (bounded by `ms`).
 */
export async function rawExchange(port: number, talk: (socket: Socket) => void | Promise<void>, opts: RawOptions & { ms?: number } = {}): Promise<RawAnswer> {
  const socket = open(port, opts)
  const chunks: Buffer[] = []
  let reset = false
  let closed = false
  socket.on('data', (d: Buffer) => chunks.push(d))
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true
  })
  socket.on('close', () => (closed = true))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  await talk(socket)
  try {
    await until(() => closed, 'the server to close the connection', opts.ms ?? 10_000)
  } finally {
    socket.destroy()
  }
  const text = Buffer.concat(chunks).toString('latin1')
  return { text, status: statusOf(text), reset }
}

/** The JSON body of a raw answer whose body is JSON (after the blank line), or undefined. */
export function rawJson(answer: RawAnswer): unknown {
  const at = answer.text.indexOf('\r\n\r\n')
  if (at === -1) return undefined
  try {
    return JSON.parse(answer.text.slice(at + 4))
  } catch {
    return undefined
  }
}

/**
 * A client that sends one request, reads the response's head, and then stops reading, as
 * a stalled phone or a hostile script would: the server's body is left to pile up.
 */
export class StalledReader {
  readonly socket: Socket
  /** Status line and headers, once they arrived. */
  head = ''
  /** The start of the body, as far as it came with the head (a small answer is whole here). */
  bodyStart = ''
  closed = false
  #buffered = 0

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('error', () => {})
    socket.on('close', () => (this.closed = true))
  }

  static async open(port: number, request: string, opts: RawOptions = {}): Promise<StalledReader> {
    const reader = new StalledReader(open(port, opts))
    const { socket } = reader
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    let text = ''
    const onData = (d: Buffer): void => {
      reader.#buffered += d.length
      text += d.toString('latin1', 0, Math.min(d.length, 4096))
      const end = text.indexOf('\r\n\r\n')
      if (end !== -1 && reader.head === '') {
        reader.head = text.slice(0, end)
        reader.bodyStart = text.slice(end + 4)
        socket.pause()
        socket.off('data', onData)
      }
    }
    socket.on('data', onData)
    socket.write(request)
    await until(() => reader.head !== '' || reader.closed, 'the response head', 10_000)
    return reader
  }

  get status(): number | undefined {
    return statusOf(this.head)
  }

  header(name: string): string | undefined {
    const m = new RegExp(`^${name}: (.*)$`, 'im').exec(this.head)
    return m?.[1]?.trim()
  }

  /**
   * Reads on until the connection ends and resolves with the body bytes that arrived (a
   * paused socket does not see the server's close until it reads again).
   */
  async readToEnd(ms = 10_000): Promise<number> {
    let bytes = this.#buffered - (this.head.length + 4)
    this.socket.on('data', (d: Buffer) => (bytes += d.length))
    this.socket.resume()
    await until(() => this.closed, 'the connection to end', ms)
    return bytes
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** `GET path` as a raw request (keep-alive). */
export function rawGet(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: partyline\r\n\r\n`
}

/** `POST path` with a JSON body as a raw request. */
export function rawPost(path: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: partyline\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/** One response read off a kept-alive connection. */
export interface KeptAliveAnswer {
  readonly status: number
  readonly head: string
  readonly body: string
}

/**
 * One kept-alive connection that sends requests one after the other, as a load balancer's
 * health checker does, so a test can tell what an already open connection is answered.
 */
export class KeepAliveClient {
  readonly socket: Socket
  #buffer = ''
  closed = false

  private constructor(socket: Socket) {
    this.socket = socket
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => (this.#buffer += d))
    socket.on('error', () => {})
    socket.on('close', () => (this.closed = true))
  }

  static async open(port: number): Promise<KeepAliveClient> {
    const client = new KeepAliveClient(open(port, {}))
    await new Promise<void>((resolve, reject) => {
      client.socket.once('connect', resolve)
      client.socket.once('error', reject)
    })
    return client
  }

  /** `GET path` on this connection; rejects if the connection closes before the answer. */
  async get(path: string): Promise<KeptAliveAnswer> {
    if (this.closed) throw new Error('the connection is closed')
    this.socket.write(rawGet(path))
    let answer: KeptAliveAnswer | undefined
    await until(() => (answer = this.#take()) !== undefined || this.closed, `the answer to GET ${path}`)
    if (answer === undefined) throw new Error(`the connection closed before the answer to GET ${path}`)
    return answer
  }

  #take(): KeptAliveAnswer | undefined {
    const end = this.#buffer.indexOf('\r\n\r\n')
    if (end === -1) return undefined
    const head = this.#buffer.slice(0, end)
    const length = Number(/^content-length: (\d+)$/im.exec(head)?.[1] ?? 0)
    if (this.#buffer.length < end + 4 + length) return undefined
    const body = this.#buffer.slice(end + 4, end + 4 + length)
    this.#buffer = this.#buffer.slice(end + 4 + length)
    return { status: statusOf(head) ?? 0, head, body }
  }

  destroy(): void {
    this.socket.destroy()
  }
}
