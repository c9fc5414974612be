/**
 * The pages and the SDK, served as static files to a plain GET (or HEAD): `/`, `/demo`,
 * `/demo/race`, `/planet`, `/<CODE>` (the phone page), `/assets/*` and `/sdk/*`. They are
 * built by `npm run build` into `dist/web` and `dist/sdk` (scripts/build-web.ts).
 *
 * A WebSocket upgrade never reaches here (the HTTP server hands it to the gateway), so
 * `/<CODE>` stays the player's socket path; and these routes come after the API's, so
 * `/api`, `/healthz`, `/metrics` and ClickPlanet's routes keep priority.
 */
import { createHash } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { packageFile } from '../games/clickplanet/package-file.js'
import type { HttpRoute } from './http-routes.js'

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * Everything a page loads comes from this server (`'self'`): no CDN, no font, no request
 * anywhere else, which is also what lets the pages work on a LAN with no internet.
 */
const PAGE_POLICY = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

interface CachedFile {
  readonly mtimeMs: number
  readonly size: number
  readonly body: Buffer
  readonly etag: string
}

/** Files of one directory, read on first use and again when they change on disk. */
export class StaticFiles {
  #dir: () => string | undefined
  #cache = new Map<string, CachedFile>()

  /** `dir`: where the files are, or `undefined` when they have not been built. */
  constructor(dir: () => string | undefined) {
    this.#dir = dir
  }

  /** Answer `req` with `file` (a plain name, never a path from the request) and return true. */
  send(req: IncomingMessage, res: ServerResponse, file: string): boolean {
    const dir = this.#dir()
    const path = dir === undefined ? undefined : join(dir, file)
    const cached = path === undefined ? undefined : this.#read(path)
    if (!cached) {
      const body = dir === undefined ? 'The pages are not built: run `npm run build` (npm start does it).\n' : `No file ${file}\n`
      res.writeHead(dir === undefined ? 503 : 404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      res.end(body)
      return true
    }
    const type = TYPES[extname(file)] ?? 'application/octet-stream'
    const headers: Record<string, string> = {
      'content-type': type,
      etag: cached.etag,
      // Revalidate every time: a rebuilt page is seen at once, an unchanged one costs a 304.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    }
    if (type.startsWith('text/html')) headers['content-security-policy'] = PAGE_POLICY
    if (req.headers['if-none-match'] === cached.etag) {
      res.writeHead(304, headers)
      res.end()
      return true
    }
    headers['content-length'] = String(cached.size)
    res.writeHead(200, headers)
    res.end(req.method === 'HEAD' ? undefined : cached.body)
    return true
  }

  #read(path: string): CachedFile | undefined {
    let stat
    try {
      stat = statSync(path)
    } catch {
      return undefined
    }
    if (!stat.isFile()) return undefined
    const hit = this.#cache.get(path)
    if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit
    const body = readFileSync(path)
    const file = { mtimeMs: stat.mtimeMs, size: body.length, body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` }
    this.#cache.set(path, file)
    return file
  }
}

export interface WebRoutesOptions {
  /** The built pages (default: `dist/web` of this package). */
  readonly webDir?: string
  /** The built SDK (default: `dist/sdk` of this package). */
  readonly sdkDir?: string
}

/** Where a built directory of this package is, or `undefined` when it was not built. */
export function builtDir(relative: string): string | undefined {
  try {
    return packageFile(relative)
  } catch {
    return undefined
  }
}

const PAGES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/demo': 'demo.html',
  '/demo/race': 'race.html',
  '/planet': 'planet.html',
}
/** A room code as typed in a URL: four letters, any case (the QR code's `/<CODE>`). */
const PHONE_PAGE = /^\/[A-Za-z]{4}\/?$/
const ASSET = /^\/assets\/([A-Za-z0-9][A-Za-z0-9._-]*)$/
const SDK = /^\/sdk\/(partyline\.(?:js|js\.map|d\.ts|js\.LEGAL\.txt))$/

/** The pages, their assets and the SDK. */
export function webRoutes(opts: WebRoutesOptions = {}): HttpRoute & { readonly pages: StaticFiles } {
  const pages = new StaticFiles(() => opts.webDir ?? builtDir('dist/web'))
  const assets = new StaticFiles(() => {
    const dir = opts.webDir ?? builtDir('dist/web')
    return dir === undefined ? undefined : join(dir, 'assets')
  })
  const sdk = new StaticFiles(() => opts.sdkDir ?? builtDir('dist/sdk'))
  return {
    pages,
    handleHttp(req, res, url) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false
      const path = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname
      const page = PAGES[path]
      if (page) return pages.send(req, res, page)
      if (PHONE_PAGE.test(path)) return pages.send(req, res, 'phone.html')
      const asset = ASSET.exec(path)
      if (asset) return assets.send(req, res, asset[1]!)
      const lib = SDK.exec(path)
      if (lib) return sdk.send(req, res, lib[1]!)
      return false
    },
  }
}
