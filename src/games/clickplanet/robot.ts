/**
 * The country safeguard robot: keeps a territory held by one country.
 *
 *   partyline robot --target-country ru --wanted-country fr --host localhost --port 3000 --unsecure
 *
 * Listens to `/ws/listen` and clicks back at once any tile of the target's territory that
 * goes to another country than the wanted one; every `--recheck-seconds` (and after each
 * reconnect, when updates may have been missed) it reads the territory with
 * `ownerships-by-batch` in windows of 10,000 ids and reclaims what it missed. At most
 * `--max-in-flight` clicks are outstanding; on 429 every click waits for Retry-After.
 */
import WebSocket from 'ws'
import {
  decodeOwnershipState, decodeUpdateNotification, encodeBatchRequest, encodeClickRequest,
} from './messages.js'
import { parseRobotArgs, ROBOT_USAGE, RobotUsageError, type RobotOptions } from './robot-options.js'

const WINDOW = 10_000
const BACKOFF_MIN_MS = 1_000
const BACKOFF_MAX_MS = 60_000

export interface RobotIo {
  readonly signal?: AbortSignal
  /** One line per action (default: stdout). */
  readonly out?: (line: string) => void
  /** Stop on SIGINT (default true). */
  readonly handleSigint?: boolean
}

/** `partyline robot …`: resolves with the exit code (0 stopped, 1 failed, 2 bad flags). */
export function runRobot(argv: string[], signal?: AbortSignal): Promise<number> {
  return runRobotWith(argv, signal === undefined ? {} : { signal })
}

export async function runRobotWith(argv: readonly string[], io: RobotIo = {}): Promise<number> {
  const out = io.out ?? ((line: string) => { process.stdout.write(`${line}\n`) })
  let opts: RobotOptions
  try {
    opts = parseRobotArgs(argv)
  } catch (err) {
    if (!(err instanceof RobotUsageError)) throw err
    process.stderr.write(`robot: ${err.message}\n${ROBOT_USAGE}\n`)
    return 2
  }
  const stop = new AbortController()
  const onAbort = (): void => stop.abort()
  io.signal?.addEventListener('abort', onAbort, { once: true })
  if (io.signal?.aborted) stop.abort()
  const sigint = io.handleSigint ?? true
  if (sigint) process.once('SIGINT', onAbort)
  try {
    return await new Robot(opts, stop.signal, out).run()
  } finally {
    io.signal?.removeEventListener('abort', onAbort)
    if (sigint) process.off('SIGINT', onAbort)
  }
}

class Robot {
  readonly #o: RobotOptions
  readonly #signal: AbortSignal
  readonly #out: (line: string) => void
  readonly #http: string
  readonly #ws: string
  #territory = new Set<number>()
  #min = 0
  #max = -1
  readonly #pending = new Set<number>()
  readonly #inFlight = new Set<number>()
  #pausedUntil = 0
  #pumpTimer: NodeJS.Timeout | undefined
  #socket: WebSocket | undefined
  #rechecking = false

  constructor(o: RobotOptions, signal: AbortSignal, out: (line: string) => void) {
    this.#o = o
    this.#signal = signal
    this.#out = out
    const host = o.host.includes(':') ? `[${o.host}]` : o.host
    this.#http = `${o.secure ? 'https' : 'http'}://${host}:${o.port}`
    this.#ws = `${o.secure ? 'wss' : 'ws'}://${host}:${o.port}/ws/listen`
  }

  async run(): Promise<number> {
    const { targetCountry: target, wantedCountry: wanted } = this.#o
    const tiles = await this.#loadTerritory()
    if (tiles === undefined) return this.#signal.aborted ? 0 : 1
    this.#territory = new Set(tiles)
    this.#min = tiles.length > 0 ? Math.min(...tiles) : 0
    this.#max = tiles.length > 0 ? Math.max(...tiles) : -1
    this.#out(`guarding ${tiles.length} tiles of ${target} for ${wanted} on ${this.#http}`)
    this.#listen(0, true)
    const timer = setInterval(() => { void this.#recheck('periodic') }, this.#o.recheckSeconds * 1000)
    void this.#recheck('start')
    await new Promise<void>((resolve) => {
      if (this.#signal.aborted) resolve()
      else this.#signal.addEventListener('abort', () => resolve(), { once: true })
    })
    clearInterval(timer)
    clearTimeout(this.#pumpTimer)
    this.#socket?.close(1000, 'robot stopping')
    this.#out('stopped')
    return 0
  }

  /** The territory's tile ids, retrying network errors with backoff; undefined on a fatal answer. */
  async #loadTerritory(): Promise<number[] | undefined> {
    const url = `${this.#http}/api/map/countries/${this.#o.targetCountry}`
    for (let attempt = 0; !this.#signal.aborted; attempt++) {
      try {
        const res = await fetch(url, { signal: this.#signal, headers: { 'user-agent': 'partyline-robot' } })
        if (res.ok) {
          const body = (await res.json()) as { tiles?: unknown }
          if (Array.isArray(body.tiles) && body.tiles.every((t) => Number.isInteger(t))) return body.tiles as number[]
          this.#out(`bad territory answer from ${url}`)
          return undefined
        }
        if (res.status !== 429 && res.status < 500) {
          this.#out(`no territory for ${this.#o.targetCountry}: HTTP ${res.status} ${await res.text()}`)
          return undefined
        }
        this.#out(`territory: HTTP ${res.status}, retrying`)
      } catch (err) {
        if (this.#signal.aborted) return undefined
        this.#out(`territory: ${describe(err)}, retrying`)
      }
      await this.#sleep(backoff(attempt))
    }
    return undefined
  }

  #listen(attempt: number, first: boolean): void {
    if (this.#signal.aborted) return
    const ws = new WebSocket(this.#ws, { headers: { 'user-agent': 'partyline-robot' } })
    this.#socket = ws
    let opened = false
    ws.binaryType = 'nodebuffer'
    ws.on('open', () => {
      opened = true
      if (!first) {
        this.#out('stream reconnected')
        void this.#recheck('reconnect')
      }
    })
    ws.on('message', (data, isBinary) => {
      if (!isBinary || !Buffer.isBuffer(data)) return
      let u
      try {
        u = decodeUpdateNotification(data)
      } catch {
        return
      }
      if (!this.#territory.has(u.tileId)) return
      if (u.countryId === this.#o.wantedCountry) {
        // Updates come in log order: the tile is ours now, whatever was queued before.
        this.#pending.delete(u.tileId)
      } else {
        this.#out(`tile ${u.tileId} taken by ${u.countryId} (was ${u.previousCountryId || 'nobody'})`)
        this.#enqueue(u.tileId)
      }
    })
    ws.on('error', () => {})
    ws.on('close', () => {
      if (this.#signal.aborted) return
      const next = opened ? 0 : attempt + 1
      const delay = backoff(next)
      this.#out(`stream closed, reconnecting in ${(delay / 1000).toFixed(1)} s`)
      void this.#sleep(delay).then(() => this.#listen(next, false))
    })
  }

  async #recheck(why: string): Promise<void> {
    if (this.#rechecking || this.#signal.aborted) return
    this.#rechecking = true
    try {
      let lost = 0
      for (let start = this.#min; start <= this.#max && !this.#signal.aborted;) {
        const end = Math.min(start + WINDOW - 1, this.#max)
        const res = await this.#post('/api/ownerships-by-batch', encodeBatchRequest({ startTileId: start, endTileId: end }))
        // 429, or 503 server_busy while large answers are bounded: wait as told, then again.
        if (res.status === 429 || (res.status === 503 && res.headers.has('retry-after'))) {
          await res.arrayBuffer()
          await this.#sleep(retryAfterMs(res))
          continue
        }
        if (!res.ok) throw new Error(`HTTP ${res.status}`)
        const { data } = (await res.json()) as { data: string }
        for (const o of decodeOwnershipState(Buffer.from(data, 'base64'))) {
          if (this.#territory.has(o.tileId) && o.countryId !== this.#o.wantedCountry) {
            lost++
            this.#enqueue(o.tileId)
          }
        }
        start = end + 1
      }
      if (!this.#signal.aborted) this.#out(`recheck (${why}): ${lost} tiles of ${this.#o.targetCountry} held by others`)
    } catch (err) {
      if (!this.#signal.aborted) this.#out(`recheck (${why}) failed: ${describe(err)}`)
    } finally {
      this.#rechecking = false
    }
  }

  /**
   * Remembers a lost tile. Even when a click on it is in flight: a rival may have retaken it
   * after that click landed, and the pending mark is what makes `#pump` click it again once
   * the click completes (a later update showing it ours clears the mark).
   */
  #enqueue(tile: number): void {
    this.#pending.add(tile)
    this.#pump()
  }

  #pump(): void {
    if (this.#signal.aborted) return
    const wait = this.#pausedUntil - Date.now()
    if (wait > 0) {
      this.#pumpTimer ??= setTimeout(() => { this.#pumpTimer = undefined; this.#pump() }, wait)
      return
    }
    for (const tile of this.#pending) {
      if (this.#inFlight.size >= this.#o.maxInFlight) break
      if (this.#inFlight.has(tile)) continue // re-examined when its click completes
      this.#pending.delete(tile)
      this.#inFlight.add(tile)
      void this.#click(tile).finally(() => {
        this.#inFlight.delete(tile)
        this.#pump()
      })
    }
  }

  async #click(tile: number): Promise<void> {
    const wanted = this.#o.wantedCountry
    try {
      const res = await this.#post('/api/click', encodeClickRequest({ tileId: tile, countryId: wanted }))
      if (res.status === 429) {
        const ms = retryAfterMs(res)
        this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms)
        this.#pending.add(tile)
        this.#out(`rate limited, waiting ${(ms / 1000).toFixed(0)} s`)
        return
      }
      if (!res.ok) {
        this.#out(`click on tile ${tile} refused: HTTP ${res.status} ${await res.text()}`)
        return
      }
      await res.arrayBuffer()
      this.#out(`reclaimed tile ${tile} for ${wanted}`)
    } catch (err) {
      if (this.#signal.aborted) return
      this.#out(`click on tile ${tile} failed: ${describe(err)}, retrying`)
      this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + BACKOFF_MIN_MS)
      this.#pending.add(tile)
    }
  }

  #post(path: string, message: Uint8Array): Promise<Response> {
    return fetch(`${this.#http}${path}`, {
      method: 'POST',
      signal: this.#signal,
      headers: { 'content-type': 'application/json', 'user-agent': 'partyline-robot' },
      body: JSON.stringify({ data: Array.from(message) }),
    })
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#signal.aborted) return resolve()
      const t = setTimeout(done, ms)
      function done(): void { clearTimeout(t); resolve() }
      this.#signal.addEventListener('abort', done, { once: true })
    })
  }
}

/** Exponential backoff from 1 s to 60 s with "equal jitter" (half fixed, half random). */
function backoff(attempt: number): number {
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 16))
  return attempt === 0 ? 0 : cap / 2 + Math.random() * (cap / 2)
}

function retryAfterMs(res: Response): number {
  const s = Number(res.headers.get('retry-after'))
  return Number.isFinite(s) && s > 0 ? Math.min(s, 3600) * 1000 : BACKOFF_MIN_MS
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message
  }
  return String(err)
}
