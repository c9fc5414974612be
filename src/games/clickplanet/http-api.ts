import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { HttpErrorCode } from '../../errors.js'
import type { LargeResponses } from '../../transport/http-large-responses.js'
import { corsHeaders, HttpRefusal, refuse, type Headers } from '../../transport/http-reply.js'
import type { ClickCommands } from './click-commands.js'
import { parseDataEnvelope, readBody, type BodyLimits } from './http-body.js'
import type { ClickPlanetMap } from './map.js'
import { decodeBatchRequest, decodeClickRequest, encodeClickResponse, MessageDecodeError } from './messages.js'
import { dataBody, type ReadModels } from './read-models.js'

export interface HttpApiDeps {
  readonly map: ClickPlanetMap
  readonly commands: ClickCommands
  readonly reads: ReadModels
  readonly body: BodyLimits
  /** The server's bounds on large answers in flight (ownerships, batches, the map asset). */
  readonly responses: LargeResponses
  readonly logger: Logger
}

/** Protobuf requests are a few bytes; a body past this is not one (the JSON array form is ~4× the bytes). */
const MAX_MESSAGE_BYTES = 256

const CORS = corsHeaders('GET, POST, OPTIONS')

type Route =
  | { readonly name: 'click' | 'ownerships' | 'ownerships-by-batch' | 'leaderboard' | 'map/summary' | 'map/tiles' }
  | { readonly name: 'map/countries'; readonly country: string }

const RPC = new Set(['click', 'ownerships', 'ownerships-by-batch', 'leaderboard'])
const POST_ROUTES = new Set(['click', 'ownerships-by-batch'])

/** ClickPlanet's route for a path, or undefined when the path is not ClickPlanet's. */
export function routeOf(pathname: string): Route | undefined {
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname
  for (const prefix of ['/api/', '/v2/rpc/']) {
    if (!path.startsWith(prefix)) continue
    const rest = path.slice(prefix.length)
    if (RPC.has(rest)) return { name: rest as 'click' }
    if (prefix !== '/api/') return undefined
    if (rest === 'map/summary' || rest === 'map/tiles') return { name: rest }
    const m = /^map\/countries\/([^/]+)$/.exec(rest)
    if (m) return { name: 'map/countries', country: safeDecode(m[1]!) }
  }
  return undefined
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/** The ClickPlanet HTTP routes (see `index.ts` for the formats). */
export class HttpApi {
  readonly #d: HttpApiDeps
  readonly #countryBodies = new Map<string, Buffer>()
  #summary: Buffer | undefined
  readonly #etag: string

  constructor(deps: HttpApiDeps) {
    this.#d = deps
    this.#etag = `"cpmp-${deps.map.checksum.toString(16)}"`
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL, clientAddress: string): boolean {
    const route = routeOf(url.pathname)
    if (route === undefined) return false
    const method = req.method ?? 'GET'
    if (method === 'OPTIONS') {
      res.writeHead(204, CORS).end()
      return true
    }
    const post = POST_ROUTES.has(route.name)
    const allowed = post ? method === 'POST' : method === 'GET' || method === 'HEAD'
    if (!allowed) {
      refuse(res, HttpErrorCode.MethodNotAllowed, `${method} not allowed on ${url.pathname}`, {
        ...CORS, allow: post ? 'POST, OPTIONS' : 'GET, HEAD, OPTIONS',
      })
      return true
    }
    this.#dispatch(route, req, res, clientAddress).catch((err: unknown) => {
      if (err instanceof HttpRefusal) return refuse(res, err.code, err.message, { ...CORS, ...err.headers })
      // The client went away (or was timed out) while its body was being read.
      if (req.socket.destroyed) return
      this.#d.logger.error({ err, path: url.pathname }, 'clickplanet: request failed')
      if (!res.headersSent) refuse(res, HttpErrorCode.InternalError, 'internal error', CORS)
      else res.destroy()
    })
    return true
  }

  async #dispatch(route: Route, req: IncomingMessage, res: ServerResponse, client: string): Promise<void> {
    const { reads, map } = this.#d
    const send = (status: number, body: Buffer, type: string, headers: Headers = {}): void =>
      this.#d.responses.send(res, client, status, body, { ...CORS, 'content-type': type, 'cache-control': 'no-store', ...headers })
    switch (route.name) {
      case 'ownerships': {
        // The current state's ETag is known without encoding anything.
        if (matches(req.headers['if-none-match'], reads.currentEtag())) return notModified(res, reads.currentEtag())
        const o = await reads.ownerships()
        return send(200, o.body, 'application/json', { etag: o.etag, 'cache-control': 'no-cache' })
      }
      case 'leaderboard': {
        const l = reads.leaderboardRead()
        if (matches(req.headers['if-none-match'], l.etag)) return notModified(res, l.etag)
        return send(200, l.body, 'application/json', { etag: l.etag, 'cache-control': 'no-cache' })
      }
      case 'ownerships-by-batch': {
        const b = decodeOr400(await this.#message(req), decodeBatchRequest, 'BatchRequest')
        return send(200, await reads.batch(b.startTileId, b.endTileId), 'application/json')
      }
      case 'click': {
        const click = decodeOr400(await this.#message(req), decodeClickRequest, 'ClickRequest')
        const outcome = await this.#d.commands.click(click, client)
        if (outcome.ok) return send(200, dataBody(encodeClickResponse(outcome.response)), 'application/json')
        if (outcome.kind === 'invalid') throw new HttpRefusal(HttpErrorCode.InvalidClick, outcome.error)
        if (outcome.kind === 'rate-limited') {
          throw new HttpRefusal(HttpErrorCode.RateLimited, outcome.error, { 'retry-after': String(Math.max(1, Math.ceil(outcome.retryAfterSeconds))) })
        }
        throw new HttpRefusal(HttpErrorCode.Unavailable, outcome.error)
      }
      case 'map/summary':
        this.#summary ??= Buffer.from(JSON.stringify({
          tiles: map.tileCount,
          spherePoints: map.spherePoints,
          noCountry: map.noCountryTiles,
          countries: map.countries(),
        }))
        return send(200, this.#summary, 'application/json', { 'cache-control': 'public, max-age=3600', etag: this.#etag })
      case 'map/tiles':
        if (matches(req.headers['if-none-match'], this.#etag)) return notModified(res, this.#etag)
        return send(200, map.asset, 'application/octet-stream', { 'cache-control': 'public, max-age=3600', etag: this.#etag })
      case 'map/countries': {
        const cc = route.country
        // Any two lower-case letters is a well-formed code: those with no territory on this
        // map (unassigned like zz, user-assigned like xk, reserved like eu, or ISO but too
        // small for a tile) are simply not found.
        if (!/^[a-z]{2}$/.test(cc)) throw new HttpRefusal(HttpErrorCode.InvalidCountry, 'a country code is two lower-case letters (ISO 3166-1 alpha-2)')
        const tiles = map.tilesOf(cc)
        if (tiles === undefined) throw new HttpRefusal(HttpErrorCode.NoTerritory, `no territory for ${cc} on this map`)
        let body = this.#countryBodies.get(cc)
        if (body === undefined) {
          body = Buffer.from(`{"tiles":[${tiles.join(',')}]}`)
          this.#countryBodies.set(cc, body)
        }
        return send(200, body, 'application/json', { 'cache-control': 'public, max-age=3600' })
      }
    }
  }

  async #message(req: IncomingMessage): Promise<Uint8Array> {
    const body = await readBody(req, this.#d.body)
    const bytes = parseDataEnvelope(body, req.headers['content-type'])
    if (bytes.length > MAX_MESSAGE_BYTES) {
      throw new HttpRefusal(HttpErrorCode.InvalidBody, `"data" is ${bytes.length} bytes, more than any request message (${MAX_MESSAGE_BYTES})`)
    }
    return bytes
  }
}

function decodeOr400<T>(bytes: Uint8Array, decode: (b: Uint8Array) => T, what: string): T {
  try {
    return decode(bytes)
  } catch (err) {
    throw new HttpRefusal(HttpErrorCode.InvalidBody, err instanceof MessageDecodeError ? `"data" is ${err.message}` : `"data" is not a ${what}`)
  }
}

/** `If-None-Match` (a list of entity tags, or `*`) names `etag`; weak comparison, as RFC 9110 asks. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  for (const raw of header.split(',')) {
    const tag = raw.trim()
    if (tag === '*' || tag === etag || tag === `W/${etag}`) return true
  }
  return false
}

function notModified(res: ServerResponse, etag: string): void {
  res.writeHead(304, { ...CORS, etag }).end()
}

