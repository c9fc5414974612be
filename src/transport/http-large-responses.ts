/**
 * What large HTTP answers may hold while they are written.
 *
 * A large body (the whole map's ownerships is ~6.9 MB) stays referenced until the client has
 * read it: a client that reads the headers and stops reading pins it for as long as its
 * socket lives. So large answers pass three bounds, and their writes must make progress:
 *
 * - **Memory**: the distinct bodies that answers in flight hold add up to at most
 *   `memoryBytes`. A body already held by another answer costs nothing more (readers of the
 *   same version share one Buffer), so a thousand readers of the current map cost one body;
 *   a reader that needs a body nobody holds yet is refused (503 `server_busy`) when it would
 *   not fit. One body larger than the whole budget is still served when nothing else is held.
 * - **Per address**: at most `perAddress` large answers in flight (429 `too_many_large_responses`).
 * - **In all**: at most `total` large answers in flight (503 `server_busy`), which bounds the
 *   sockets (and kernel buffers) held by them.
 * - **Progress**: the body is written in slices, each after the previous one drained; when
 *   none drains for `writeTimeoutMs`, the socket is destroyed and what it held is released.
 *
 * Small answers (under `LARGE_RESPONSE_BYTES`) and HEAD skip all of it: they fit in the
 * socket buffers at once.
 */
import type { ServerResponse } from 'node:http'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Settings } from '../config.js'
import { HttpErrorCode } from '../errors.js'
import { refuse, type Headers } from './http-reply.js'

/** Bodies of at least this many bytes are large. */
export const LARGE_RESPONSE_BYTES = 64 * 1024
/** Bytes handed to the socket at a time; a slice is a view of the body, never a copy. */
const SLICE_BYTES = 64 * 1024

export interface LargeResponseLimits {
  readonly perAddress: number
  readonly total: number
  readonly memoryBytes: number
  readonly writeTimeoutMs: number
}

export interface LargeResponseCounters {
  /** Large answers being written now. */
  readonly inFlight: number
  /** Bytes of the distinct bodies they hold. */
  readonly heldBytes: number
  /** Refused per address (429) and for the server's bounds (503), since start. */
  readonly refusedAddress: number
  readonly refusedBusy: number
  /** Sockets destroyed because a write made no progress for `writeTimeoutMs`. */
  readonly writeTimeouts: number
}

export class LargeResponses {
  readonly #limits: LargeResponseLimits
  /** body → answers in flight writing it. Keyed by identity: a shared version is one Buffer. */
  readonly #held = new Map<Buffer, number>()
  readonly #byAddress = new Map<string, number>()
  #heldBytes = 0
  #inFlight = 0
  #refusedAddress = 0
  #refusedBusy = 0
  #writeTimeouts = 0

  constructor(limits: LargeResponseLimits) {
    this.#limits = limits
  }

  get counters(): LargeResponseCounters {
    return {
      inFlight: this.#inFlight,
      heldBytes: this.#heldBytes,
      refusedAddress: this.#refusedAddress,
      refusedBusy: this.#refusedBusy,
      writeTimeouts: this.#writeTimeouts,
    }
  }

  /**
   * Answers `status` with `body` (which must not change: it may be shared with other
   * answers), or refuses when `body` is large and a bound is reached. `headers` must
   * not set the length.
   */
  send(res: ServerResponse, address: string, status: number, body: Buffer, headers: Headers): void {
    const head = { ...headers, 'content-length': String(body.length) }
    if (body.length < LARGE_RESPONSE_BYTES || res.req.method === 'HEAD') {
      res.writeHead(status, head)
      res.end(body)
      return
    }
    const refusal = this.#admit(address, body)
    if (refusal !== undefined) {
      refuse(res, refusal.code, refusal.reason, { ...pick(headers, 'access-control-'), 'retry-after': String(refusal.retryAfter) })
      return
    }
    this.#take(address, body)
    res.once('close', () => this.#release(address, body))
    res.writeHead(status, head)
    this.#write(res, body)
  }

  #admit(address: string, body: Buffer): { code: HttpErrorCode; reason: string; retryAfter: number } | undefined {
    const { perAddress, total, memoryBytes, writeTimeoutMs } = this.#limits
    // A stalled reader is cut after the write timeout: by then its share is free again.
    const busyRetry = Math.max(1, Math.ceil(writeTimeoutMs / 1000))
    if ((this.#byAddress.get(address) ?? 0) >= perAddress) {
      this.#refusedAddress++
      return {
        code: HttpErrorCode.TooManyLargeResponses,
        reason: `this address already has ${perAddress} large answers in flight; read them, then retry`,
        retryAfter: 1,
      }
    }
    const extra = this.#held.has(body) ? 0 : body.length
    if (this.#inFlight >= total || (extra > 0 && this.#heldBytes > 0 && this.#heldBytes + extra > memoryBytes)) {
      this.#refusedBusy++
      return { code: HttpErrorCode.ServerBusy, reason: 'too many large answers in flight; retry later', retryAfter: busyRetry }
    }
    return undefined
  }

  #take(address: string, body: Buffer): void {
    this.#inFlight++
    this.#byAddress.set(address, (this.#byAddress.get(address) ?? 0) + 1)
    const n = this.#held.get(body) ?? 0
    if (n === 0) this.#heldBytes += body.length
    this.#held.set(body, n + 1)
  }

  #release(address: string, body: Buffer): void {
    this.#inFlight--
    const a = (this.#byAddress.get(address) ?? 1) - 1
    if (a === 0) this.#byAddress.delete(address)
    else this.#byAddress.set(address, a)
    const n = (this.#held.get(body) ?? 1) - 1
    if (n === 0) {
      this.#held.delete(body)
      this.#heldBytes -= body.length
    } else {
      this.#held.set(body, n)
    }
  }

  /** Writes `body` a slice at a time; a slice that does not drain in time destroys the socket. */
  #write(res: ServerResponse, body: Buffer): void {
    let offset = 0
    const timer = setTimeout(() => {
      this.#writeTimeouts++
      res.destroy()
    }, this.#limits.writeTimeoutMs)
    res.once('close', () => clearTimeout(timer))
    const pump = (): void => {
      timer.refresh()
      while (offset < body.length) {
        const end = Math.min(body.length, offset + SLICE_BYTES)
        const drained = res.write(body.subarray(offset, end))
        offset = end
        if (!drained) {
          res.once('drain', pump)
          return
        }
      }
      // The timer stays armed until the last slice is out ('close' follows 'finish').
      res.end()
    }
    pump()
  }
}

function pick(headers: Headers, prefix: string): Headers {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.startsWith(prefix)))
}

/** The bounds as the settings give them. */
export function largeResponseLimits(settings: Pick<Settings, 'httpLargeResponsesPerAddress' | 'httpLargeResponses' | 'httpResponseMemory' | 'httpWriteTimeoutMs'>): LargeResponseLimits {
  return {
    perAddress: settings.httpLargeResponsesPerAddress,
    total: settings.httpLargeResponses,
    memoryBytes: settings.httpResponseMemory,
    writeTimeoutMs: settings.httpWriteTimeoutMs,
  }
}

/**
 * The `partyline_http_*` metrics of large answers, read from `responses.counters` at scrape
 * time. Call once per registry.
 */
export function registerLargeResponseMetrics(registry: Registry, responses: LargeResponses): void {
  const c = (): LargeResponseCounters => responses.counters
  new Gauge({ name: 'partyline_http_large_responses', help: 'Large HTTP answers being written.', registers: [registry], collect() { this.set(c().inFlight) } })
  new Gauge({
    name: 'partyline_http_response_held_bytes',
    help: 'Bytes of the distinct bodies that large HTTP answers being written hold (bounded by PARTYLINE_HTTP_RESPONSE_MEMORY).',
    registers: [registry],
    collect() { this.set(c().heldBytes) },
  })
  new Counter({
    name: 'partyline_http_large_responses_refused_total',
    help: 'Large HTTP answers refused, by code (too_many_large_responses: per address; server_busy: memory or count in all).',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ code: HttpErrorCode.TooManyLargeResponses }, c().refusedAddress)
      this.inc({ code: HttpErrorCode.ServerBusy }, c().refusedBusy)
    },
  })
  new Counter({
    name: 'partyline_http_write_timeouts_total',
    help: 'Sockets destroyed because a large answer made no progress for PARTYLINE_HTTP_WRITE_TIMEOUT_MS.',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(c().writeTimeouts)
    },
  })
}
