/**
 * The server's own HTTP routes: health, metrics and the lobby. Games (ClickPlanet) add
 * theirs through `HttpRoute`; whatever nobody answers is a JSON 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import type { Room } from '../rooms/room.js'
import type { RoomRegistry } from '../rooms/registry.js'
import type { RoomLocator } from '../rooms/room-locator.js'
import { normalizeCode } from '../rooms/room-code.js'
import type { AddressWindow } from './address-window.js'
import type { Readiness } from '../readiness.js'
import { HttpErrorCode } from '../errors.js'
import { corsHeaders, refuse, sendJson } from './http-reply.js'

/** A game's HTTP routes: answers and returns true, or returns false to pass. */
export interface HttpRoute {
  handleHttp(req: IncomingMessage, res: ServerResponse, url: URL, clientAddress: string): boolean
}

export interface LobbyOptions {
  readonly registry: RoomRegistry
  readonly locator: RoomLocator
  /**
   * The lobby of a cluster (every node's rooms, from the Store); absent on a single node,
   * whose lobby is its own rooms.
   */
  readonly clusterLobby?: ClusterLobby
  readonly joinThrottle: AddressWindow
  readonly metrics: Registry
  readonly serving: () => boolean
  readonly readiness: Readiness
}

/** A room in the lobby's shape; `players` is a count here. */
export interface LobbyEntry {
  readonly key: string
  readonly name: string
  readonly players: number
  readonly max_players: number
  readonly accept_conns: boolean
}

/** The rooms of every node, as the lobby shows them. */
export interface ClusterLobby {
  /** The public rooms. */
  publicRooms(): Promise<LobbyEntry[]>
  /** One room, public or not. */
  room(code: string): Promise<LobbyEntry | undefined>
}

export function lobbyEntry(room: Room): LobbyEntry {
  return { key: room.key, name: room.name, players: room.playerCount, max_players: room.maxPlayers, accept_conns: room.acceptConns }
}

const ROOM_LOOKUP = /^\/api\/rooms\/([^/]{1,64})\/?$/  // codes are plain letters: no decoding

/** The lobby is public: a game page on another origin may read it (GET, HEAD, preflight). */
const LOBBY_CORS = corsHeaders('GET, HEAD, OPTIONS')

/** Paths that answer while the server is stopping (everything else: 503 `shutting_down`). */
export const STOPPING_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics'])

export function lobbyRoutes(opts: LobbyOptions): HttpRoute {
  return {
    handleHttp(req, res, url, address) {
      const path = url.pathname
      if (path === '/healthz') {
        if (opts.serving()) sendJson(res, 200, { status: 'ok' })
        else sendJson(res, 503, { status: 'shutting down' })
        return true
      }
      if (path === '/readyz') {
        const report = opts.readiness.report()
        sendJson(res, report.status === 'ready' ? 200 : 503, report)
        return true
      }
      const lobby = path === '/api/rooms' || path === '/api/rooms/' || ROOM_LOOKUP.test(path)
      if (lobby && req.method === 'OPTIONS') {
        res.writeHead(204, LOBBY_CORS).end()
        return true
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        if (path === '/metrics' || lobby) {
          const allow = lobby ? 'GET, HEAD, OPTIONS' : 'GET, HEAD'
          refuse(res, HttpErrorCode.MethodNotAllowed, `${req.method} is not allowed here; use GET`, { allow, ...(lobby ? LOBBY_CORS : {}) })
          return true
        }
        return false
      }
      if (path === '/metrics') {
        opts.metrics.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': opts.metrics.contentType })
            res.end(text)
          },
          (err: unknown) => refuse(res, HttpErrorCode.InternalError, `metrics failed: ${(err as Error).message}`),
        )
        return true
      }
      if (path === '/api/rooms' || path === '/api/rooms/') {
        if (opts.clusterLobby) {
          // Preset rooms (PLANET) run on every node and are in no directory: this node's own.
          const presets = [...opts.registry.rooms()].filter((r) => r.isPreset && r.isPublic).map(lobbyEntry)
          opts.clusterLobby.publicRooms().then(
            (rooms) => sendJson(res, 200, { rooms: [...rooms, ...presets] }, LOBBY_CORS),
            (err: unknown) => refuse(res, HttpErrorCode.Unavailable, `the room directory is unavailable: ${(err as Error).message}`, LOBBY_CORS),
          )
          return true
        }
        const rooms = [...opts.registry.rooms()].filter((r) => r.isPublic).map(lobbyEntry)
        sendJson(res, 200, { rooms }, LOBBY_CORS)
        return true
      }
      const m = ROOM_LOOKUP.exec(path)
      if (m) {
        const throttle = opts.joinThrottle
        if (throttle.exhausted(address)) {
          refuse(res, HttpErrorCode.TooManyLookups, 'too many unknown room codes from this address; retry in a minute', { ...LOBBY_CORS, 'retry-after': '60' })
          return true
        }
        const code = normalizeCode(m[1]!)
        const answer = (entry: LobbyEntry | undefined): void => {
          if (entry) return sendJson(res, 200, entry, LOBBY_CORS)
          throttle.take(address)
          refuse(res, HttpErrorCode.NoSuchRoom, 'no such room', LOBBY_CORS)
        }
        const local = opts.locator.here(code)
        if (local || !opts.clusterLobby) {
          answer(local && lobbyEntry(local))
          return true
        }
        opts.clusterLobby.room(code).then(answer, (err: unknown) =>
          refuse(res, HttpErrorCode.Unavailable, `the room directory is unavailable: ${(err as Error).message}`, LOBBY_CORS),
        )
        return true
      }
      return false
    },
  }
}
