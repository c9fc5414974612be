/**
 * The server's own HTTP routes: health, metrics and the lobby. Games (ClickPlanet) add
 * theirs through `HttpRoute`; whatever nobody answers is a JSON 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'
import type { Room } from '../rooms/room.js'
import type { RoomRegistry } from '../rooms/registry.js'
import { normalizeCode } from '../rooms/room-code.js'
import type { AddressWindow } from './address-window.js'
import type { Readiness } from '../readiness.js'

/** A game's HTTP routes: answers and returns true, or returns false to pass. */
export interface HttpRoute {
  handleHttp(req: IncomingMessage, res: ServerResponse, url: URL, clientAddress: string): boolean
}

export interface LobbyOptions {
  readonly registry: RoomRegistry
  readonly joinThrottle: AddressWindow
  readonly metrics: Registry
  readonly serving: () => boolean
  readonly readiness: Readiness
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/** A room in the lobby's shape; `players` is a count here. */
function lobbyEntry(room: Room) {
  return { key: room.key, name: room.name, players: room.playerCount, max_players: room.maxPlayers, accept_conns: room.acceptConns }
}

const ROOM_LOOKUP = /^\/api\/rooms\/([^/]{1,64})\/?$/  // codes are plain letters: no decoding

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
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        if (path === '/metrics' || path === '/api/rooms' || ROOM_LOOKUP.test(path)) {
          sendJson(res, 405, { error: `${req.method} is not allowed here; use GET` }, { allow: 'GET, HEAD' })
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
          (err: unknown) => sendJson(res, 500, { error: `metrics failed: ${(err as Error).message}` }),
        )
        return true
      }
      if (path === '/api/rooms' || path === '/api/rooms/') {
        const rooms = [...opts.registry.rooms()].filter((r) => r.isPublic).map(lobbyEntry)
        sendJson(res, 200, { rooms })
        return true
      }
      const m = ROOM_LOOKUP.exec(path)
      if (m) {
        const throttle = opts.joinThrottle
        if (throttle.exhausted(address)) {
          sendJson(res, 429, { error: 'too many unknown room codes from this address; retry in a minute' }, { 'retry-after': '60' })
          return true
        }
        const room = opts.registry.get(normalizeCode(m[1]!))
        if (!room) {
          throttle.take(address)
          sendJson(res, 404, { error: 'no such room' })
          return true
        }
        sendJson(res, 200, lobbyEntry(room))
        return true
      }
      return false
    },
  }
}
