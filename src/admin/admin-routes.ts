/**
 * The admin view and its API, on when `PARTYLINE_ADMIN_TOKEN` is set (else both answer 404,
 * as any unknown path):
 * - `GET /admin`: the page (it asks for the token);
 * - `GET /api/admin/rooms`: the rooms with their players and figures (`AdminOverview`);
 * - `POST /api/admin/rooms/<code>/start`, `…/kick` `{"player": id}`, `…/stop`: 204, or a
 *   refusal with its code (404 `no_such_room` / `no_such_player`, 409 `preset_room`, 400
 *   `invalid_action`).
 * Every API call needs `Authorization: Bearer <token>` (else 401 `unauthorized`). Each
 * action is logged with the room, the action and the player, never a body or a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { ErrorCode, HttpErrorCode } from '../errors.js'
import type { OperatorAction } from '../rooms/room-events.js'
import { normalizeCode } from '../rooms/room-code.js'
import { refuse, sendJson } from '../transport/http-reply.js'
import type { HttpRoute } from '../transport/http-routes.js'
import type { StaticFiles } from '../transport/static-routes.js'
import type { AdminDirectory } from './admin-directory.js'

export interface AdminRoutesOptions {
  /** `PARTYLINE_ADMIN_TOKEN`; empty: the admin view and API are off. */
  readonly token: string
  readonly directory: AdminDirectory
  /** Where `admin.html` is served from (the pages' files). */
  readonly pages: StaticFiles
  readonly logger: Logger
}

const ACTION = /^\/api\/admin\/rooms\/([A-Za-z0-9]{1,16})\/(start|kick|stop)$/
/** Action bodies are tiny (`{"player": 12}`); anything longer is not one. */
const MAX_BODY = 1024

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

export function adminRoutes(opts: AdminRoutesOptions): HttpRoute {
  const expected = digest(opts.token)
  const authorized = (req: IncomingMessage): boolean => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    // Digests have one length, so the comparison takes the same time for any token sent.
    return m !== null && timingSafeEqual(digest(m[1]!.trim()), expected)
  }
  const log = opts.logger.child({ component: 'admin' })
  return {
    handleHttp(req, res, url) {
      if (opts.token === '') return false
      const path = url.pathname
      if (path === '/admin' || path === '/admin/') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return false
        return opts.pages.send(req, res, 'admin.html')
      }
      if (!path.startsWith('/api/admin/')) return false
      if (!authorized(req)) {
        refuse(res, HttpErrorCode.Unauthorized, 'the admin API needs Authorization: Bearer <PARTYLINE_ADMIN_TOKEN>', { 'www-authenticate': 'Bearer realm="partyline admin"' })
        return true
      }
      if (path === '/api/admin/rooms') {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          refuse(res, HttpErrorCode.MethodNotAllowed, `${req.method} is not allowed here; use GET`, { allow: 'GET, HEAD' })
          return true
        }
        opts.directory.overview().then(
          (overview) => sendJson(res, 200, overview),
          (err: unknown) => {
            log.error({ err }, 'admin overview failed')
            refuse(res, HttpErrorCode.InternalError, 'the rooms could not be listed')
          },
        )
        return true
      }
      const m = ACTION.exec(path)
      if (!m) {
        refuse(res, HttpErrorCode.NoRoute, `no admin route ${path}`)
        return true
      }
      if (req.method !== 'POST') {
        refuse(res, HttpErrorCode.MethodNotAllowed, `${req.method} is not allowed here; use POST`, { allow: 'POST' })
        return true
      }
      void act(req, res, normalizeCode(m[1]!), m[2] as OperatorAction['kind'])
      return true
    },
  }

  async function act(req: IncomingMessage, res: ServerResponse, code: string, kind: OperatorAction['kind']): Promise<void> {
    let action: OperatorAction
    try {
      const body = await readBody(req)
      action = kind === 'kick' ? { kind, player: playerOf(body) } : { kind }
    } catch (err) {
      refuse(res, HttpErrorCode.InvalidAction, (err as Error).message)
      return
    }
    const outcome = await opts.directory.act(code, action)
    log.info({ room: code, action: kind, ...(action.kind === 'kick' ? { player: action.player } : {}), outcome: outcome.ok ? 'done' : outcome.code }, 'admin action')
    if (outcome.ok) {
      res.writeHead(204, { 'cache-control': 'no-store' })
      res.end()
      return
    }
    const status =
      outcome.code === ErrorCode.UnknownPlayer ? HttpErrorCode.NoSuchPlayer : outcome.code === ErrorCode.PresetRoom ? HttpErrorCode.PresetRoom : HttpErrorCode.NoSuchRoom
    refuse(res, status, outcome.reason)
  }
}

/** The JSON object of an action's body (`{}` when empty). Throws what is wrong. */
async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) throw new Error(`an action body is at most ${MAX_BODY} bytes`)
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8').trim()
  if (text === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new Error('the body is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the body is not a JSON object')
  return value as Record<string, unknown>
}

function playerOf(body: Record<string, unknown>): number {
  const p = body.player
  if (typeof p !== 'number' || !Number.isSafeInteger(p) || p <= 0) throw new Error('kick needs {"player": <a positive integer id>}')
  return p
}
