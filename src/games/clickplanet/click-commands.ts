import { nanoid } from 'nanoid'
import { isCountryCode } from './country-codes.js'
import type { EventLog } from './event-log.js'
import type { ClickPlanetMap } from './map.js'
import type { ClickRequest, ClickResponse } from './messages.js'
import type { RateLimiter } from './rate-limiter.js'

export type ClickOutcome =
  | { readonly ok: true; readonly response: ClickResponse }
  | { readonly ok: false; readonly kind: 'invalid'; readonly error: string }
  | { readonly ok: false; readonly kind: 'rate-limited'; readonly error: string; readonly retryAfterSeconds: number }
  | { readonly ok: false; readonly kind: 'unavailable'; readonly error: string }

/** Counters of the command side. */
export interface ClickCounters {
  accepted: number
  invalid: number
  rateLimited: number
  failed: number
  /** Stored by the log but not applied here within the wait (answered 503; part of `failed`). */
  notApplied: number
}

/**
 * The one command path for clicks, whatever the transport (HTTP, a frame in room PLANET):
 * validate against the map and the ISO list, rate-limit per client, stamp, append to the
 * log. A click is acknowledged only after the log accepted it.
 */
export class ClickCommands {
  readonly counters: ClickCounters = { accepted: 0, invalid: 0, rateLimited: 0, failed: 0, notApplied: 0 }
  readonly #map: ClickPlanetMap
  readonly #log: EventLog
  readonly #limiter: RateLimiter
  /** Random per process, so ids stay unique across restarts and nodes without coordination. */
  readonly #node = nanoid(10)
  #seq = 0
  // hrtime is monotonic with ns resolution; anchor it to the wall clock once.
  readonly #epochNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint()
  /** Why clicks are refused (shutting down, projection stopped); undefined while accepting. */
  #refusal: string | undefined

  readonly #applied: ((position: number) => Promise<boolean>) | undefined

  /**
   * `applied(position)` resolves true once this node's projection applied `position`
   * (false when it gave up waiting): a click is answered only then, so a read on this node
   * right after shows it. In-process logs apply before `append` resolves.
   */
  constructor(map: ClickPlanetMap, log: EventLog, limiter: RateLimiter, applied?: (position: number) => Promise<boolean>) {
    this.#map = map
    this.#log = log
    this.#limiter = limiter
    this.#applied = applied
  }

  /** Refuse clicks from now on (shutdown). */
  close(): void { this.refuse('the server is shutting down') }

  /**
   * Refuse every click from now on with `reason` (answered as unavailable, HTTP 503). The
   * first reason given stays.
   */
  refuse(reason: string): void { this.#refusal ??= reason }

  /** The reason clicks are refused, if they are. */
  get refusal(): string | undefined { return this.#refusal }

  /** Checks a request without side effects: undefined when valid, else the reason. */
  validate(req: ClickRequest): string | undefined {
    if (!this.#map.isTile(req.tileId)) {
      return `tile_id ${req.tileId} is out of range [0, ${this.#map.tileCount})`
    }
    if (!isCountryCode(req.countryId)) {
      return `country_id ${JSON.stringify(req.countryId)} is not a lower-case ISO 3166-1 alpha-2 code`
    }
    return undefined
  }

  async click(req: ClickRequest, client: string): Promise<ClickOutcome> {
    const invalid = this.validate(req)
    if (invalid !== undefined) {
      this.counters.invalid++
      return { ok: false, kind: 'invalid', error: invalid }
    }
    if (this.#refusal !== undefined) {
      this.counters.failed++
      return { ok: false, kind: 'unavailable', error: this.#refusal }
    }
    const wait = this.#limiter.take(client)
    if (wait > 0) {
      this.counters.rateLimited++
      return { ok: false, kind: 'rate-limited', error: 'too many clicks, slow down', retryAfterSeconds: wait }
    }
    const timestampNs = this.#epochNs + process.hrtime.bigint()
    const clickId = `${this.#node}-${(++this.#seq).toString(36)}`
    let position: number
    try {
      position = await this.#log.append({ tileId: req.tileId, countryId: req.countryId, timestampNs, clickId })
    } catch (err) {
      this.counters.failed++
      return { ok: false, kind: 'unavailable', error: `click not stored: ${err instanceof Error ? err.message : String(err)}` }
    }
    if (this.#applied !== undefined && !(await this.#applied(position))) {
      this.counters.failed++
      this.counters.notApplied++
      return {
        ok: false, kind: 'unavailable',
        error: `click stored at log position ${position}, but this node has not applied it yet (it is behind the log); it will show once it catches up`,
      }
    }
    this.counters.accepted++
    return { ok: true, response: { timestampNs, clickId } }
  }
}
