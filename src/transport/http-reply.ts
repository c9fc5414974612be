/**
 * How the server answers HTTP, for every route (the lobby, health, ClickPlanet): JSON
 * bodies, refusals with a registered code, CORS. One place, so every error body has the
 * same shape: `{"error": reason, "code": code}` with the status of the code's registry entry.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http'
import { httpErrors, type HttpErrorCode } from '../errors.js'

export type Headers = Readonly<Record<string, string>>

/** A JSON answer; `no-store` unless `headers` say otherwise. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/** The body of a refusal. `reason` is for people and never quotes what the client sent. */
export function errorBody(code: HttpErrorCode, reason: string): { error: string; code: HttpErrorCode } {
  return { error: reason, code }
}

/** Refuses the request with `code`'s status and `{"error": reason, "code": code}`. */
export function refuse(res: ServerResponse, code: HttpErrorCode, reason: string, headers: Headers = {}): void {
  sendJson(res, httpErrors[code].status, errorBody(code, reason), headers)
}

/** A refusal thrown from inside a route, answered by the route's catch with `refuse`. */
export class HttpRefusal extends Error {
  override readonly name = 'HttpRefusal'
  constructor(readonly code: HttpErrorCode, reason: string, readonly headers: Headers = {}) {
    super(reason)
  }

  get status(): number {
    return httpErrors[this.code].status
  }
}

/**
 * A whole refusal as bytes for a raw socket, where there is no `ServerResponse` (a request
 * Node's parser rejected, a timeout before the request was complete). Always closes.
 */
export function rawRefusal(code: HttpErrorCode, reason: string): string {
  const { status } = httpErrors[code]
  const body = JSON.stringify(errorBody(code, reason))
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'cache-control: no-store\r\nconnection: close\r\n\r\n' + body
}

/**
 * CORS for public read routes: any origin may read them (they carry no credentials and
 * nothing private). `methods` is what a preflight allows.
 */
export function corsHeaders(methods: string): Headers {
  return {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': methods,
    'access-control-allow-headers': 'Content-Type',
    'access-control-max-age': '86400',
    // Not CORS-safelisted, so a page could not read them otherwise (Retry-After on 429).
    'access-control-expose-headers': 'ETag, Retry-After',
  }
}
