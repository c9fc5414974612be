/**
 * WebSocket upgrades: which path is which role, and the checks every connection passes.
 *
 * - `/CREATE` (`?format=json` for JSON mode): a host, frames up to the host limit.
 * - `/ws/listen`, `/v2/ws/listen`, when a game claims them: a listener of that game.
 * - `/<CODE>` (case-insensitive, `?sid=` and `?name=` optional): a player, frames up to the
 *   player limit.
 *
 * A refused connection is accepted and then closed with a code, so a browser's `onclose`
 * can tell the person why (origin → 1008, throttled → 4029, unknown room → 4004, …); its
 * descriptor is released as soon as the close frame is with the kernel (connection.ts).
 *
 * Before any of that, the connection caps (ConnectionBudget): past its address's cap for the
 * role an upgrade is answered HTTP 429, past the total cap 503, before the handshake: no
 * `WebSocket` is made and the socket is released once the answer is written. A browser cannot
 * read that status (its `onclose` gets 1006), but these refuse floods, not people: the caps
 * sit far above what one household or a page opens. The reason is in the body and in an
 * `x-partyline-refused` header, for other clients and for logs.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { WebSocketServer } from 'ws'
import { CloseCode } from '../errors.js'
import type { Settings } from '../config.js'
import type { ServerMetrics, Role } from '../metrics.js'
import { commandParser } from '../protocol/commands.js'
import { CborCodec, JsonCodec } from '../protocol/host-codec.js'
import type { RoomRegistry } from '../rooms/registry.js'
import type { RoomLocator } from '../rooms/room-locator.js'
import type { RoomBridge } from '../rooms/room-bridge.js'
import type { PlayerEntry } from '../rooms/player-port.js'
import { normalizeCode } from '../rooms/room-code.js'
import { isPlayerName } from '../protocol/player-name.js'
import { AddressWindow } from './address-window.js'
import { clientAddress } from './client-address.js'
import { Connection, INBOUND_TICK_MS, ReasonedWebSocket, STALL_TICKS, type ConnectionContext } from './connection.js'
import { ConnectionBudget, type Refusal } from './connection-budget.js'
import { connectionCap, readDescriptorLimit } from './descriptor-limit.js'
import { FrameCache } from './wire-frame.js'
import { Heartbeat } from './heartbeat.js'
import { HostSession } from './host-session.js'
import { PlayerSession } from './player-session.js'

/** A game that serves its own WebSocket paths (ClickPlanet's update stream). */
export interface ListenerRoute {
  isListenPath(pathname: string): boolean
  /** A listener passed every check; the game owns it until it closes. */
  acceptListener(conn: Connection): void
}

export interface GatewayOptions {
  readonly settings: Settings
  readonly registry: RoomRegistry
  readonly locator: RoomLocator
  /** Rooms owned by other nodes (a cluster); absent on a single node. */
  readonly bridge?: RoomBridge
  readonly metrics: ServerMetrics
  readonly logger: Logger
  readonly joinThrottle: AddressWindow
  readonly listeners?: readonly ListenerRoute[]
}

const SID = /^[A-Za-z0-9_-]{16,64}$/
/**
 * 4029 closes an address past its join throttle is told, per window, with a full handshake
 * (so a page can read the code) before its further joins are refused before the handshake.
 */
export const THROTTLED_HANDSHAKES = 10
const ROOM_PATH = /^\/([A-Za-z0-9]{1,16})\/?$/

export class WsGateway {
  #opts: GatewayOptions
  #hostWss: WebSocketServer
  #playerWss: WebSocketServer
  #heartbeat: Heartbeat
  #sockets = new Set<Connection>()
  #connectionContext: ConnectionContext
  #budget: ConnectionBudget
  #clock = { tick: 0 }
  #clockTimer: NodeJS.Timeout
  #inboundClock = { tick: 0 }
  #inboundTimer: NodeJS.Timeout
  #roomCreations: AddressWindow
  /** 4029s told by handshake to each address past the join throttle (see THROTTLED_HANDSHAKES). */
  #throttledHandshakes: AddressWindow
  #parseCbor
  #parseJson
  #accepting = true

  constructor(opts: GatewayOptions) {
    this.#opts = opts
    const { settings } = opts
    const common = { noServer: true, perMessageDeflate: false, clientTracking: false, WebSocket: ReasonedWebSocket } as const
    // Hosts get an `error` before a 1007 for a text frame that is not UTF-8: HostSession checks.
    this.#hostWss = new WebSocketServer({ ...common, maxPayload: settings.hostMaxFrame, skipUTF8Validation: true })
    this.#playerWss = new WebSocketServer({ ...common, maxPayload: settings.playerMaxFrame })
    this.#heartbeat = new Heartbeat(settings.pingIntervalMs)
    this.#roomCreations = new AddressWindow(settings.roomsPerMinute)
    this.#throttledHandshakes = new AddressWindow(THROTTLED_HANDSHAKES)
    this.#parseCbor = commandParser('cbor', settings.maxPlayers)
    this.#parseJson = commandParser('json', settings.maxPlayers)
    const cap = connectionCap(settings.maxConnections, settings.fdReserve, readDescriptorLimit())
    if (cap.warning) opts.logger.warn({ totalCap: cap.total }, cap.warning)
    this.#budget = new ConnectionBudget({
      perAddress: { host: settings.hostsPerAddress, player: settings.playersPerAddress, listener: settings.listenersPerAddress },
      total: cap.total,
    })
    opts.logger.info({ total: cap.total, perAddress: this.#budget.limits.perAddress }, 'connection caps')
    const clock = this.#clock
    const tickMs = Math.max(1, settings.sendStallMs / STALL_TICKS)
    this.#clockTimer = setInterval(() => clock.tick++, tickMs)
    this.#clockTimer.unref()
    const held = new Set<Connection>()
    const inboundClock = this.#inboundClock
    this.#inboundTimer = setInterval(() => {
      inboundClock.tick++
      // A connection still in debt puts itself back.
      const due = [...held]
      held.clear()
      for (const conn of due) conn.release()
    }, INBOUND_TICK_MS)
    this.#inboundTimer.unref()
    const perTick = (perSecond: number): number => Math.max(1, Math.round((perSecond * INBOUND_TICK_MS) / 1000))
    // One context for every connection (the hooks are not closures per connection).
    this.#connectionContext = {
      metrics: opts.metrics,
      maxBuffered: settings.maxBuffered,
      framesPerTick: { host: perTick(settings.hostFramesPerSecond), player: perTick(settings.playerFramesPerSecond), listener: perTick(settings.playerFramesPerSecond) },
      held,
      inboundClock,
      clock,
      frames: new FrameCache(),
      logger: opts.logger,
      alive: (ws) => this.#heartbeat.alive(ws),
      closed: (conn) => {
        this.#sockets.delete(conn)
        this.#heartbeat.unwatch(conn.ws)
        this.#budget.release(conn.address, conn.role)
      },
    }
  }

  /** The `upgrade` handler of the HTTP server. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Not a closure: a closure made here would keep this call's whole scope (the request,
    // its headers, the URL) alive as long as the socket lives.
    socket.on('error', destroySocket)
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://partyline')
    } catch {
      // A request target no URL parser takes (`//[`): throwing here would end the process.
      socket.once('finish', destroySocket)
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
      return
    }
    const path = url.pathname
    const isHost = /^\/CREATE\/?$/i.test(path)
    const listener = isHost ? undefined : this.#opts.listeners?.find((l) => l.isListenPath(path))
    const wss = isHost ? this.#hostWss : this.#playerWss
    const role: Role = isHost ? 'host' : listener ? 'listener' : 'player'
    const address = clientAddress(req, this.#opts.settings.trustProxy)
    const refusal = (role === 'player' && this.#pastThrottle(address)) || this.#budget.admit(address, role)
    if (refusal) {
      this.#opts.metrics.refused(refusal.reason, role)
      return refuseUpgrade(socket, refusal)
    }
    let upgraded = false
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true
      const conn = this.#connection(ws as ReasonedWebSocket, socket, role, address)
      if (!this.#accepting) return conn.close(CloseCode.ServiceRestart)
      if (!this.#originAllowed(req)) return conn.close(CloseCode.PolicyViolation)
      if (listener) {
        this.#heartbeat.watch(ws)
        return listener.acceptListener(conn)
      }
      if (isHost) this.#host(conn, url, address)
      else this.#player(conn, path, url, address)
    })
    // With no `verifyClient`, ws completes or refuses (400) a handshake before returning: a
    // refused one never became a Connection, so its place is free again.
    if (!upgraded) this.#budget.release(address, role)
  }

  /**
   * A join from an address past its join throttle is told 4029 with a handshake a few times
   * per window; past that, the address is flooding, not a person retrying: HTTP 429 before
   * the handshake, which costs the server one write instead of a WebSocket.
   */
  #pastThrottle(address: string): Refusal | undefined {
    if (!this.#opts.joinThrottle.exhausted(address) || this.#throttledHandshakes.take(address)) return undefined
    return { status: 429, reason: 'join-throttled', message: 'too many failed joins from this address: PARTYLINE_JOIN_ATTEMPTS_PER_MINUTE; retry in a minute' }
  }

  /** Stop taking connections and close every open one with `code` (1012 on restart). */
  closeAll(code: CloseCode): void {
    this.#accepting = false
    this.#heartbeat.stop()
    clearInterval(this.#clockTimer)
    clearInterval(this.#inboundTimer)
    for (const conn of this.#sockets) conn.close(code)
  }

  get openConnections(): number {
    return this.#sockets.size
  }

  #connection(ws: ReasonedWebSocket, socket: Duplex, role: Role, address: string): Connection {
    const conn = new Connection(ws, socket, role, address, this.#connectionContext)
    this.#sockets.add(conn)
    return conn
  }

  /** Browsers always send Origin; non-browser clients send none and pass. */
  #originAllowed(req: IncomingMessage): boolean {
    const allowed = this.#opts.settings.allowedOrigins
    const origin = req.headers.origin
    return allowed.length === 0 || origin === undefined || allowed.includes(origin)
  }

  #host(conn: Connection, url: URL, address: string): void {
    const json = url.searchParams.get('format') === 'json'
    const { cborMaxDepth: maxDepth, cborMaxContainers: maxContainers, cborMaxMapEntries: maxMapEntries } = this.#opts.settings
    const limits = { maxDepth, maxContainers, maxMapEntries }
    const codec = json ? new JsonCodec(limits) : new CborCodec(limits)
    this.#heartbeat.watch(conn.ws)
    new HostSession(conn, codec, address, {
      registry: this.#opts.registry,
      locator: this.#opts.locator,
      ...(this.#opts.bridge ? { bridge: this.#opts.bridge } : {}),
      parse: json ? this.#parseJson : this.#parseCbor,
      roomCreations: this.#roomCreations,
      joinThrottle: this.#opts.joinThrottle,
      metrics: this.#opts.metrics,
      logger: this.#opts.logger,
    })
  }

  #player(conn: Connection, path: string, url: URL, address: string): void {
    const throttle = this.#opts.joinThrottle
    if (throttle.exhausted(address)) return conn.close(CloseCode.TooManyAttempts)
    const sid = url.searchParams.get('sid') ?? undefined
    if (sid !== undefined && !SID.test(sid)) return conn.close(CloseCode.PolicyViolation)
    const name = url.searchParams.get('name') ?? undefined
    if (name !== undefined && !isPlayerName(name)) return conn.close(CloseCode.PolicyViolation)
    const match = ROOM_PATH.exec(path)
    const code = match ? normalizeCode(match[1]!) : undefined
    const join = (entry: PlayerEntry | undefined): void => {
      if (!entry) {
        throttle.take(address)
        return conn.close(CloseCode.NoSuchRoom)
      }
      this.#heartbeat.watch(conn.ws)
      new PlayerSession(conn, entry, { sid, name }, address, { metrics: this.#opts.metrics, joinThrottle: throttle })
    }
    const { locator, bridge } = this.#opts
    const local = code === undefined ? undefined : locator.here(code)
    if (code === undefined || local || !locator.clustered) return join(local)
    // Another node may own it: hold the phone's frames until the directory answered.
    conn.ws.pause()
    locator.locate(code).then(
      (where) => {
        if (conn.ws.readyState !== conn.ws.OPEN) return
        conn.ws.resume()
        join(where.kind === 'here' ? where.room : where.kind === 'elsewhere' ? bridge?.playerEntry(code, where.owner) : undefined)
      },
      () => {
        conn.ws.resume()
        join(undefined)
      },
    )
  }
}

function destroySocket(this: Duplex): void {
  this.destroy()
}

const STATUS_TEXT = { 429: 'Too Many Requests', 503: 'Service Unavailable' } as const

/** Answers an upgrade with `refusal`'s status and releases the socket once it is written. */
function refuseUpgrade(socket: Duplex, refusal: Refusal): void {
  const body = JSON.stringify({ error: refusal.message })
  socket.once('finish', destroySocket)
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_TEXT[refusal.status]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'cache-control: no-store\r\n' +
      `retry-after: ${refusal.status === 429 ? 10 : 5}\r\n` +
      `x-partyline-refused: ${refusal.reason}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  )
}
