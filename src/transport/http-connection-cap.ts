/**
 * Plain HTTP connections one address may hold at once. A client that opens thousands of TCP
 * connections and sends nothing on them (or sends headers a byte at a time) holds a
 * descriptor each until the headers timeout; past this cap its next connection is answered
 * at accept, before anything is read: one raw HTTP 429 `too_many_connections` and a close,
 * so its descriptor is free again at once and every other address is served.
 *
 * A connection counts from accept until it closes, or until it is upgraded to a WebSocket
 * (from then on the WebSocket caps count it, by role: see connection-budget.ts). Requests
 * on one keep-alive connection count once.
 *
 * The key is the socket's peer (`addressKey`): at accept there are no headers, so behind a
 * proxy (`PARTYLINE_TRUST_PROXY`) the peer is the proxy and the cap is not applied; limiting
 * the connections of the proxy's clients is the proxy's job.
 */
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { Counter, type Registry } from 'prom-client'
import { HttpErrorCode } from '../errors.js'
import { addressKey } from './client-address.js'
import { rawRefusal } from './http-reply.js'

export interface HttpConnectionCounters {
  /** Connections refused at accept since start. */
  refused: number
}

/**
 * Counts `http`'s connections per address and refuses those past `perAddress`. Returns the
 * refusal counter (read by the metrics).
 */
export function capHttpConnections(http: Server, perAddress: number): HttpConnectionCounters {
  const counters: HttpConnectionCounters = { refused: 0 }
  const open = new Map<string, number>()
  /** The key each counted socket holds a place under, until it closes or is upgraded. */
  const held = new WeakMap<Duplex, string>()
  const release = (socket: Duplex): void => {
    const key = held.get(socket)
    if (key === undefined) return
    held.delete(socket)
    const n = (open.get(key) ?? 1) - 1
    if (n > 0) open.set(key, n)
    else open.delete(key)
  }
  http.on('connection', (socket: Socket) => {
    const key = addressKey(socket.remoteAddress ?? 'unknown')
    const n = open.get(key) ?? 0
    if (n >= perAddress) {
      counters.refused++
      socket.on('error', () => socket.destroy())
      socket.end(rawRefusal(HttpErrorCode.TooManyConnections,
        `this address already holds ${perAddress} HTTP connections (PARTYLINE_HTTP_CONNECTIONS_PER_ADDRESS); close one first`),
      () => socket.destroy())
      return
    }
    open.set(key, n + 1)
    held.set(socket, key)
    socket.once('close', () => release(socket))
  })
  // An upgraded socket leaves the HTTP count; the gateway's caps take it from here.
  http.on('upgrade', (_req, socket: Duplex) => release(socket))
  return counters
}

/** `partyline_http_connections_refused_total`, read from `counters` at scrape time. */
export function registerHttpConnectionMetrics(registry: Registry, counters: HttpConnectionCounters): void {
  new Counter({
    name: 'partyline_http_connections_refused_total',
    help: 'TCP connections refused at accept because their address held PARTYLINE_HTTP_CONNECTIONS_PER_ADDRESS plain HTTP connections (429 too_many_connections).',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(counters.refused)
    },
  })
}
