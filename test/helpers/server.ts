/**
 * Test helpers: a real partyline server on port 0 and real WebSocket clients that record
 * what they receive, with bounded waits (never fixed sleeps).
 */
import { WebSocket } from 'ws'
import { Decoder, Encoder } from 'cbor-x'
import { defaultSettings, type Settings } from '../../src/config.js'
import { startServer, type PartylineServer, type ServerOptions } from '../../src/server.js'

export const cborOptions = { useRecords: false, tagUint8Array: false, mapsAsObjects: true } as const
export const encoder = new Encoder(cborOptions)
export const decoder = new Decoder(cborOptions)

export type Msg = Record<string, unknown> & { cmd: string }

/** Start a server on 127.0.0.1:0 with quiet logs; `t.teardown` stops it. */
export async function testServer(
  t: { teardown(fn: () => unknown): void },
  overrides: Partial<Settings> = {},
  opts: ServerOptions = {},
): Promise<PartylineServer & { ws: string }> {
  const server = await startServer(defaultSettings({ port: 0, host: '127.0.0.1', logLevel: 'silent', clickplanet: false, ...overrides }), opts)
  t.teardown(() => server.close())
  return Object.assign(server, { ws: server.url.replace(/^http/, 'ws') })
}

/** Resolves when `check()` is true; rejects after `ms` with `what`. Polls on a short timer. */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A recorded WebSocket: every frame and the close, kept in order. */
export class Peer {
  readonly ws: WebSocket
  readonly frames: (Buffer | string)[] = []
  closed: { code: number; reason: string } | undefined
  readonly opened: Promise<void>
  #read = 0

  constructor(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
    this.ws = new WebSocket(url, options)
    this.ws.on('message', (data: Buffer, isBinary: boolean) => this.frames.push(isBinary ? data : data.toString('utf8')))
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }))
    this.ws.on('error', () => {})
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('close', (code) => reject(new Error(`closed before open: ${code}`)))
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    })
    this.opened.catch(() => {})
  }

  /** The next frame not yet read. */
  async next(what = 'a frame', ms = 5000): Promise<Buffer | string> {
    await until(() => this.frames.length > this.#read || this.closed !== undefined && this.frames.length <= this.#read, what, ms)
    if (this.frames.length <= this.#read) throw new Error(`closed (${this.closed?.code}) while waiting for ${what}`)
    return this.frames[this.#read++]!
  }

  /** Frames not yet read, without waiting. */
  unread(): (Buffer | string)[] {
    return this.frames.slice(this.#read)
  }

  async closedWith(ms = 5000): Promise<{ code: number; reason: string }> {
    await until(() => this.closed !== undefined, 'close', ms)
    return this.closed!
  }

  send(data: Buffer | Uint8Array | string): void {
    this.ws.send(data)
  }

  close(): void {
    this.ws.close()
  }
}

/** A game page speaking CBOR (or JSON with `json: true`) on `/CREATE`. */
export class HostPeer extends Peer {
  readonly json: boolean
  constructor(server: { ws: string }, json = false, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
    super(`${server.ws}/CREATE${json ? '?format=json' : ''}`, options)
    this.json = json
  }

  command(message: Record<string, unknown>): void {
    this.send(this.json ? JSON.stringify(message) : encoder.encode(message))
  }

  /** The next message, decoded; with `cmd`, fails if the next one is another command. */
  async message(cmd?: string, ms = 5000): Promise<Msg> {
    const frame = await this.next(cmd ?? 'a message', ms)
    const m = (typeof frame === 'string' ? JSON.parse(frame) : decoder.decode(frame)) as Msg
    if (cmd !== undefined && m.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(m)}`)
    return m
  }

  /** `prepare` a room and read `prepare_reply` + `state`; returns the code and token. */
  async prepare(fields: Record<string, unknown> = {}): Promise<{ key: string; token: string; state: Msg }> {
    await this.opened
    this.command({ cmd: 'prepare', max_players: 8, ...fields })
    const reply = await this.message('prepare_reply')
    const state = await this.message('state')
    return { key: String(reply.key), token: String(reply.token), state }
  }
}

/** A phone on `/<code>`. */
export class PlayerPeer extends Peer {
  constructor(server: { ws: string }, code: string, sid?: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
    super(`${server.ws}/${code}${sid ? `?sid=${sid}` : ''}`, options)
  }
}

/** Host + room + `n` joined players, with their ids in join order. */
export async function roomWithPlayers(server: { ws: string }, n: number, fields: Record<string, unknown> = {}) {
  const host = new HostPeer(server)
  const { key, token } = await host.prepare(fields)
  const players: PlayerPeer[] = []
  const ids: number[] = []
  for (let i = 0; i < n; i++) {
    const p = new PlayerPeer(server, key)
    await p.opened
    const joined = await host.message('player_joined')
    await host.message('state')
    players.push(p)
    ids.push(Number(joined.player))
  }
  return { host, key, token, players, ids }
}

/** An HTTP answer of the server: status, headers, raw text and the JSON body when there is one. */
export interface HttpAnswer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: unknown
}

/** `GET` a path of the server (lobby, health, metrics). */
export async function httpGet(server: { url: string }, path: string): Promise<HttpAnswer> {
  const res = await fetch(server.url + path)
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, headers: res.headers, text, body }
}

/**
 * The value of one sample in a Prometheus text exposition (0 when absent), e.g.
 * `metricValue(text, 'partyline_frames_total', { direction: 'in' })`.
 */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = (m[2] ?? '').split(',').filter((s) => s.length > 0)
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) return Number(m[3])
  }
  return 0
}

/** Current scrape of `/metrics`. */
export async function scrape(server: { url: string }): Promise<string> {
  return (await httpGet(server, '/metrics')).text
}

/**
 * Stop reading from a client's TCP socket, as a phone that froze would: the server's sends
 * pile up in its buffers, and pings go unanswered. `ws` keeps the socket private, hence the cast.
 */
export function stopReading(peer: Peer): void {
  ;(peer.ws as unknown as { _socket: { pause(): void } })._socket.pause()
}

/** A URL-safe sid of `n` characters (16 to 64 are valid). */
export function newSid(n = 22): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let s = ''
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)]
  return s
}

/**
 * A round trip through the host's session that proves every earlier command was handled:
 * an unknown command is answered with `error` in order, so whatever the host was due
 * before has arrived by the time this returns. Returns the messages that came before it.
 */
export async function fence(host: HostPeer, ms = 5000): Promise<Msg[]> {
  const marker = `fence-${Math.random().toString(36).slice(2)}`
  host.command({ cmd: marker })
  const before: Msg[] = []
  for (;;) {
    const m = await host.message(undefined, ms)
    if (m.cmd === 'error' && typeof m.reason === 'string' && m.reason.includes(marker)) return before
    before.push(m)
  }
}

/** A phone joins `key`; resolves with it and the id the host was told (`player_joined`, `state`). */
export async function joinPlayer(
  server: { ws: string },
  host: HostPeer,
  key: string,
  sid?: string,
): Promise<{ player: PlayerPeer; id: number }> {
  const player = new PlayerPeer(server, key, sid)
  await player.opened
  const joined = await host.message('player_joined')
  await host.message('state')
  return { player, id: Number(joined.player) }
}

/** Start reading a client's socket again after `stopReading`. */
export function resumeReading(peer: Peer): void {
  ;(peer.ws as unknown as { _socket: { resume(): void } })._socket.resume()
}

/** Run `sends` with the client's socket corked, so its frames leave in one TCP write. */
export function burst(peer: Peer, sends: () => void): void {
  const socket = (peer.ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket
  socket.cork()
  try {
    sends()
  } finally {
    socket.uncork()
  }
}
