/**
 * The HTTP server: routing to the lobby's and the games' routes, and what every request
 * passes whatever its route. Each request gets an answer with a registered code, including
 * the ones Node's parser refuses before there is a request:
 *
 * - headers not complete after `PARTYLINE_HTTP_HEADERS_TIMEOUT_MS`, or the whole request
 *   after `PARTYLINE_HTTP_REQUEST_TIMEOUT_MS`: 408 `request_timeout`, closed;
 * - headers over 16 KiB: 431; anything the parser rejects, no Host on HTTP/1.1, a target no
 *   URL parser takes: 400 `malformed_request`; CONNECT: 405;
 * - `Expect: 100-continue` with a body declared over the limit: 413 before the body is sent;
 * - while the server stops, only `STOPPING_PATHS` answer; the rest is 503 `shutting_down`.
 *
 * WebSocket upgrades are not handled here (the server hands them to the gateway).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import type { Settings } from '../config.js'
import { HttpErrorCode } from '../errors.js'
import { clientAddress } from './client-address.js'
import { rawRefusal, refuse } from './http-reply.js'
import { STOPPING_PATHS, type HttpRoute } from './http-routes.js'

export interface HttpServerOptions {
  readonly settings: Pick<Settings, 'trustProxy' | 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs'>
  /** Asked in order; the first that answers wins, none: 404 `no_route`. */
  readonly routes: readonly HttpRoute[]
  /** False once the server is stopping. */
  readonly serving: () => boolean
  /** The largest body any route takes (for `Expect: 100-continue`). */
  readonly maxBodyBytes: number
  readonly logger: Logger
}

export function createHttpServer(opts: HttpServerOptions): Server {
  const { settings, routes, logger, maxBodyBytes } = opts
  /** The response being written on each socket, so a raw refusal never cuts into one. */
  const answering = new WeakMap<Duplex, ServerResponse>()
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    answering.set(req.socket, res)
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://partyline')
    } catch {
      return refuse(res, HttpErrorCode.MalformedRequest, 'malformed request target', { connection: 'close' })
    }
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      return refuse(res, HttpErrorCode.MalformedRequest, 'an HTTP/1.1 request needs a Host header', { connection: 'close' })
    }
    if (!opts.serving() && !STOPPING_PATHS.has(url.pathname)) {
      return refuse(res, HttpErrorCode.ShuttingDown, 'the server is shutting down; retry on another node', { connection: 'close', 'retry-after': '1' })
    }
    const address = clientAddress(req, settings.trustProxy)
    try {
      for (const route of routes) if (route.handleHttp(req, res, url, address)) return
      refuse(res, HttpErrorCode.NoRoute, `no route ${req.method} ${url.pathname}`)
    } catch (err) {
      logger.error({ err, path: url.pathname }, 'http route failed')
      if (!res.headersSent) refuse(res, HttpErrorCode.InternalError, 'internal error')
      else res.destroy()
    }
  }
  // Node checks both timeouts every `connectionsCheckingInterval` (30 s by default, which
  // let a slowloris hold a socket 90 s): check often enough for them to mean what they say.
  const headersTimeout = Math.min(settings.httpHeadersTimeoutMs, settings.httpRequestTimeoutMs)
  const http = createServer({
    // Answered in `handle` with a code, rather than by Node with an empty 400.
    requireHostHeader: false,
    headersTimeout,
    requestTimeout: settings.httpRequestTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
  }, handle)
  http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length'])
    if (declared > maxBodyBytes) {
      return refuse(res, HttpErrorCode.BodyTooLarge, `a body of ${declared} bytes is over the ${maxBodyBytes} byte limit`, { connection: 'close' })
    }
    res.writeContinue()
    handle(req, res)
  })
  // Without a listener Node drops a CONNECT without a word: this is no proxy.
  http.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy())
    socket.end(rawRefusal(HttpErrorCode.MethodNotAllowed, 'CONNECT is not allowed: this is no proxy'), () => socket.destroy())
  })
  // A request Node's parser refused or timed out: answer raw (there is no ServerResponse),
  // unless a response is under way on the socket, which a second one would corrupt.
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const res = answering.get(socket)
    const busy = res !== undefined && res.headersSent && !res.writableFinished
    if (!socket.writable || busy || err.code === 'ECONNRESET') return void socket.destroy()
    const refusal = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? rawRefusal(HttpErrorCode.RequestTimeout, 'the request did not arrive in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? rawRefusal(HttpErrorCode.HeadersTooLarge, 'request headers too large')
        : rawRefusal(HttpErrorCode.MalformedRequest, 'malformed request')
    socket.end(refusal, () => socket.destroy())
  })
  return http
}
