/**
 * The ClickPlanet client: claim tiles, read the map, the owners and the leaderboard over
 * HTTP, and follow every change over `/ws/listen`, reconnecting by itself.
 */
import protobuf from 'protobufjs/minimal.js'
import { PartylineError, ClientErrorCode } from './codes.js'
import { Emitter } from './emitter.js'
import { RetrySchedule, type ConnectionState, type ReconnectEvents, type ReconnectOption } from './link.js'
import { bytesOf, fromBase64, httpUrl, OPEN, openSocket, toBase64, wsUrl, type ConnectOptions, type WebSocketLike } from './socket.js'

/** What a click got: when the server accepted it (Unix ns) and its id. */
export interface ClickReceipt {
  readonly timestampNs: bigint
  readonly clickId: string
}
/** A tile's owner (`countryId`, lower-case ISO 3166-1 alpha-2) since `timestampNs`. */
export interface Ownership {
  readonly tileId: number
  readonly countryId: string
  readonly timestampNs: bigint
}
/** A tile changed hands; `previousCountryId` is `""` for a first claim. */
export interface PlanetUpdate {
  readonly tileId: number
  readonly countryId: string
  readonly previousCountryId: string
}
export interface LeaderboardEntry {
  readonly countryId: string
  /** Tiles the country holds now. */
  readonly score: number
}
/**
 * The map (`GET /api/map/tiles`): tile `i` is at (`lat[i]`, `lon[i]`) degrees and lies in
 * country `countries[country[i] - 1]` (`country[i]` 0: land in no country).
 */
export interface PlanetMap {
  readonly countries: readonly string[]
  readonly lat: Float32Array
  readonly lon: Float32Array
  readonly country: Uint8Array
  /** Points of the Fibonacci sphere the tiles were kept from (their spacing follows from it). */
  readonly spherePoints: number
}

export interface PlanetOptions extends ConnectOptions {
  /** `fetch` implementation; defaults to `globalThis.fetch` (browsers, Node 18+). */
  readonly fetch?: typeof fetch
}

export interface ListenOptions {
  /** Reconnect after a drop (the default), with this policy; `false` to stop at the first drop. */
  readonly reconnect?: ReconnectOption
  /** For tests of the backoff: the random source of the jitter. */
  readonly random?: () => number
}

const { Reader, Writer } = protobuf

// Field numbers and wire types of package clicks.v1 (proto/clicks.proto).
const VARINT = 0
const BYTES = 2
const tag = (field: number, wire: number): number => (field << 3) | wire

function encodeClickRequest(tile: number, country: string): Uint8Array {
  return Writer.create().uint32(tag(1, VARINT)).int32(tile).uint32(tag(2, BYTES)).string(country).finish()
}
function encodeBatchRequest(start: number, end: number): Uint8Array {
  return Writer.create().uint32(tag(1, VARINT)).int32(start).uint32(tag(2, VARINT)).int32(end).finish()
}

type FieldReader = (field: number, r: protobuf.Reader) => boolean

/** Calls `onField` for every field up to `end`; it reads the field and returns true, or false to skip it. */
function readFields(r: protobuf.Reader, end: number, onField: FieldReader): void {
  while (r.pos < end) {
    const t = r.uint32()
    if (!onField(t >>> 3, r)) r.skipType(t & 7)
  }
}

/** Fields of a whole message. */
function readMessage(bytes: Uint8Array, onField: FieldReader): void {
  const r = Reader.create(bytes)
  readFields(r, r.len, onField)
}

/** Every embedded message of a repeated field 1, each read by `onField`. */
function readRepeated<T>(bytes: Uint8Array, item: () => { onField: FieldReader; done: () => T }): T[] {
  const out: T[] = []
  readMessage(bytes, (f, r) => {
    if (f !== 1) return false
    const end = r.uint32() + r.pos
    const one = item()
    readFields(r, end, one.onField)
    out.push(one.done())
    return true
  })
  return out
}

const u64 = (r: protobuf.Reader): bigint => {
  const v = r.uint64() as unknown as number | { low: number; high: number }
  return typeof v === 'number' ? BigInt(v) : (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)
}

function decodeClickResponse(bytes: Uint8Array): ClickReceipt {
  let timestampNs = 0n
  let clickId = ''
  readMessage(bytes, (f, r) => (f === 1 ? ((timestampNs = u64(r)), true) : f === 2 ? ((clickId = r.string()), true) : false))
  return { timestampNs, clickId }
}

function decodeOwnershipState(bytes: Uint8Array): Ownership[] {
  return readRepeated(bytes, () => {
    let tileId = 0
    let countryId = ''
    let timestampNs = 0n
    return {
      onField: (f, r) => (f === 1 ? ((tileId = r.uint32()), true) : f === 2 ? ((countryId = r.string()), true) : f === 3 ? ((timestampNs = u64(r)), true) : false),
      done: () => ({ tileId, countryId, timestampNs }),
    }
  })
}

function decodeLeaderboard(bytes: Uint8Array): LeaderboardEntry[] {
  return readRepeated(bytes, () => {
    let countryId = ''
    let score = 0
    return {
      onField: (f, r) => (f === 1 ? ((countryId = r.string()), true) : f === 2 ? ((score = r.uint32()), true) : false),
      done: () => ({ countryId, score }),
    }
  })
}

/**
 * Decode one `UpdateNotification` (a `/ws/listen` frame). Throws on bytes that are not one.
 *
 * @example
 * ```ts
 * socket.onmessage = (ev) => paint(decodeUpdate(new Uint8Array(ev.data)))
 * ```
 */
export function decodeUpdate(bytes: Uint8Array): PlanetUpdate {
  let tileId = 0
  let countryId = ''
  let previousCountryId = ''
  readMessage(bytes, (f, r) => (f === 1 ? ((tileId = r.int32()), true) : f === 2 ? ((countryId = r.string()), true) : f === 3 ? ((previousCountryId = r.string()), true) : false))
  return { tileId, countryId, previousCountryId }
}

/**
 * Decode the map asset (`GET /api/map/tiles`; its layout is in the README).
 *
 * @example
 * ```ts
 * const map = decodePlanetMap(await (await fetch('/api/map/tiles')).arrayBuffer())
 * ```
 */
export function decodePlanetMap(buffer: ArrayBuffer): PlanetMap {
  const view = new DataView(buffer)
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4))
  if (buffer.byteLength < 24 || magic !== 'CPMP') throw new Error('not a ClickPlanet map (no CPMP header)')
  if (view.getUint16(4, true) !== 1) throw new Error(`map version ${view.getUint16(4, true)} is not 1`)
  const C = view.getUint16(6, true)
  const T = view.getUint32(8, true)
  const spherePoints = view.getUint32(12, true)
  const L = 24 + ((2 * C + 3) & ~3)
  if (buffer.byteLength !== L + 9 * T) throw new Error(`map of ${buffer.byteLength} bytes, expected ${L + 9 * T}`)
  const countries: string[] = []
  for (let k = 0; k < C; k++) countries.push(String.fromCharCode(view.getUint8(24 + 2 * k), view.getUint8(25 + 2 * k)))
  // Little-endian columns: typed arrays map onto them where the platform is little-endian too.
  const column = (offset: number): Float32Array => {
    const out = new Float32Array(T)
    for (let i = 0; i < T; i++) out[i] = view.getFloat32(offset + 4 * i, true)
    return out
  }
  return { countries, lat: column(L), lon: column(L + 4 * T), country: new Uint8Array(buffer.slice(L + 8 * T, L + 9 * T)), spherePoints }
}

/** What a `PlanetListener` emits. */
export type PlanetListenerEvents = ReconnectEvents & {
  /** The stream is open (first time and after each reconnect): updates from now on arrive. */
  open: () => void
}

/**
 * A live stream of ClickPlanet updates (`/ws/listen`) that reconnects by itself. Updates
 * made while it was down are not replayed: read `ownerships()` again on `reconnected`.
 */
export class PlanetListener extends Emitter<PlanetListenerEvents> {
  #url: string
  #opts: PlanetOptions
  #onUpdate: (u: PlanetUpdate) => void
  #ws: WebSocketLike | undefined
  #state: ConnectionState = 'connecting'
  #retry: RetrySchedule
  #userClosed = false

  /** @internal use ClickPlanet.listen */
  constructor(url: string, onUpdate: (u: PlanetUpdate) => void, opts: PlanetOptions & ListenOptions) {
    super()
    this.#url = url
    this.#opts = opts
    this.#onUpdate = onUpdate
    this.#retry = new RetrySchedule(opts.reconnect, opts.random)
    this.#open()
  }

  get connection(): ConnectionState {
    return this.#userClosed ? 'closed' : this.#state
  }

  /**
   * Stop listening (and reconnecting).
   *
   * @example
   * ```ts
   * const live = planet.listen(paint)
   * window.addEventListener('pagehide', () => live.close())
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
      const again = this.#state === 'reconnecting'
      this.#state = 'connected'
      this.#retry.succeeded()
      this.emit('open')
      if (again) this.emit('reconnected')
    })
    ws.addEventListener('message', (ev) => {
      const bytes = this.#ws === ws ? bytesOf(ev.data) : undefined
      if (!bytes) return
      let update: PlanetUpdate
      try {
        update = decodeUpdate(bytes)
      } catch {
        return // not an UpdateNotification: skip it, the stream goes on
      }
      this.#onUpdate(update)
    })
    ws.addEventListener('close', (ev) => {
      if (this.#ws !== ws) return
      this.#ws = undefined
      this.#dropped(ev.code, ev.reason)
    })
  }

  #dropped(code: number, reason: string): void {
    if (this.#userClosed) return this.#end(code, reason, false)
    // 1008: refused by policy (origin); a retry would be refused the same way.
    if (code === 1008 || !this.#retry.enabled) return this.#end(code, reason || `closed with ${code}`, true)
    this.#state = 'reconnecting'
    const { attempt, delay } = this.#retry.schedule(() => this.#open())
    this.emit('reconnecting', attempt, delay)
  }

  #end(code: number, reason: string, lost: boolean): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#retry.cancel()
    if (lost) this.emit('lost', code, reason)
    this.emit('close', code, reason)
  }
}

/** ClickPlanet on one server: see `clickPlanet`. */
export class ClickPlanet {
  #server: string | undefined
  #opts: PlanetOptions

  /** @internal use clickPlanet */
  constructor(server: string | undefined, opts: PlanetOptions) {
    this.#server = server
    this.#opts = opts
  }

  /**
   * Claim `tile` for `country` (lower-case ISO 3166-1 alpha-2). Rejects with a
   * `PartylineError` whose `code` is the HTTP status: 400 with the reason for a bad tile or
   * country, 429 when this address clicks too fast (`retryAfterMs` says when to try again).
   *
   * @example
   * ```ts
   * try {
   *   await planet.click(1234, 'fr')
   * } catch (e) {
   *   if (e.code === 429) show(`slow down: try again in ${Math.ceil(e.retryAfterMs / 1000)} s`)
   * }
   * ```
   */
  async click(tile: number, country: string): Promise<ClickReceipt> {
    return decodeClickResponse(await this.#rpc('POST', '/api/click', encodeClickRequest(tile, country)))
  }

  /**
   * Every owned tile.
   *
   * @example
   * ```ts
   * for (const { tileId, countryId } of await planet.ownerships()) paint(tileId, countryId)
   * ```
   */
  async ownerships(): Promise<Ownership[]> {
    return decodeOwnershipState(await this.#rpc('GET', '/api/ownerships'))
  }

  /**
   * Owned tiles with `start ≤ id ≤ end` (empty when `start > end`).
   *
   * @example
   * ```ts
   * const first = await planet.ownershipsByBatch(0, 9999)
   * ```
   */
  async ownershipsByBatch(start: number, end: number): Promise<Ownership[]> {
    return decodeOwnershipState(await this.#rpc('POST', '/api/ownerships-by-batch', encodeBatchRequest(start, end)))
  }

  /**
   * Every country holding at least one tile, highest score first (ties by country id).
   *
   * @example
   * ```ts
   * const [top] = await planet.leaderboard()
   * console.log(`${top.countryId} holds ${top.score} tiles`)
   * ```
   */
  async leaderboard(): Promise<LeaderboardEntry[]> {
    return decodeLeaderboard(await this.#rpc('GET', '/api/leaderboard'))
  }

  /**
   * The map: every tile's position and country (about 2.3 MB for the default map).
   *
   * @example
   * ```ts
   * const map = await planet.map()
   * console.log(map.lat.length, 'tiles in', map.countries.length, 'countries')
   * ```
   */
  async map(): Promise<PlanetMap> {
    const res = await this.#fetch('GET', '/api/map/tiles')
    return decodePlanetMap(await res.arrayBuffer())
  }

  /**
   * Follow every change of owner, live; reconnects by itself after a drop (backoff with
   * jitter). Call `close()` on the result to stop.
   *
   * @example
   * ```ts
   * const live = planet.listen((u) => paint(u.tileId, u.countryId))
   * live.on('reconnected', () => planet.ownerships().then(repaintAll)) // catch up on what was missed
   * ```
   */
  listen(onUpdate: (update: PlanetUpdate) => void, opts: ListenOptions = {}): PlanetListener {
    return new PlanetListener(wsUrl(this.#server, '/ws/listen'), onUpdate, { ...this.#opts, ...opts })
  }

  async #fetch(method: 'GET' | 'POST', path: string, body?: Uint8Array): Promise<Response> {
    const f = this.#opts.fetch ?? globalThis.fetch
    const url = httpUrl(this.#server, path)
    let res: Response
    try {
      res = await f(url, {
        method,
        ...(body ? { body: JSON.stringify({ data: toBase64(body) }), headers: { 'content-type': 'application/json' } } : {}),
      })
    } catch (e) {
      throw new PartylineError(ClientErrorCode.Unreachable, `could not reach ${url}: ${e instanceof Error ? e.message : String(e)}`)
    }
    if (res.ok) return res
    let reason = `HTTP ${res.status}`
    try {
      const j = (await res.json()) as { error?: unknown }
      if (typeof j.error === 'string') reason = j.error
    } catch {
      // not JSON: keep the status
    }
    const retry = Number(res.headers.get('retry-after'))
    throw new PartylineError(res.status, reason, Number.isFinite(retry) && retry > 0 ? retry * 1000 : undefined)
  }

  async #rpc(method: 'GET' | 'POST', path: string, body?: Uint8Array): Promise<Uint8Array> {
    const res = await this.#fetch(method, path, body)
    const j = (await res.json()) as { data?: unknown }
    if (typeof j.data !== 'string') throw new PartylineError(ClientErrorCode.MalformedMessage, `${path}: the answer has no base64 "data"`)
    return fromBase64(j.data)
  }
}

/**
 * A ClickPlanet client for `server` (its origin, `http(s)://` or `ws(s)://`; in a page,
 * the page's own origin when left out).
 *
 * @example
 * ```ts
 * import { clickPlanet } from '/sdk/partyline.js'
 * const planet = clickPlanet()
 * await planet.click(1234, 'fr')
 * console.log(await planet.leaderboard())
 * planet.listen((u) => console.log(`tile ${u.tileId}: ${u.previousCountryId || 'nobody'} → ${u.countryId}`))
 * ```
 */
export function clickPlanet(server?: string, opts: PlanetOptions = {}): ClickPlanet {
  return new ClickPlanet(server, opts)
}
