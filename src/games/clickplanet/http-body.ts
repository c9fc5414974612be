import type { IncomingMessage } from 'node:http'
import { HttpErrorCode } from '../../errors.js'
import { HttpRefusal } from '../../transport/http-reply.js'

export interface BodyLimits {
  /** Largest body accepted. */
  readonly maxBytes: number
  /**
   * How much of a body over `maxBytes` is read (and thrown away) before the 413 goes out.
   * A server that answers and closes while the client is still sending makes the kernel
   * reset the connection, and the reset destroys the 413 before the client reads it; so a
   * body up to this size is drained first. A larger one (declared or sent) is answered at
   * once: the client may then see a reset instead.
   */
  readonly discardBytes: number
}

const tooLarge = (what: string, limit: number): HttpRefusal =>
  new HttpRefusal(HttpErrorCode.BodyTooLarge, `${what} is over the ${limit} byte limit`, { connection: 'close' })

/**
 * Reads a body up to `maxBytes`. Past it, reads on without keeping anything up to
 * `discardBytes`, then rejects with 413 `body_too_large` (see `BodyLimits`).
 */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const { maxBytes, discardBytes } = limits
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > Math.max(maxBytes, discardBytes)) {
    return Promise.reject(tooLarge(`a body of ${declared} bytes`, maxBytes))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) chunks.push(chunk)
      else if (size > discardBytes) {
        // Too much even to drain: stop reading and answer now.
        req.pause()
        reject(tooLarge('the body', maxBytes))
      }
    })
    req.on('end', () => (size > maxBytes ? reject(tooLarge('the body', maxBytes)) : resolve(Buffer.concat(chunks, size))))
    req.on('error', reject)
  })
}

/** RFC 4648 §4 base64; the final quantum may keep or drop its padding. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/
/** RFC 4648 §5 base64url, same shape (a length ≡ 1 mod 4 is never base64). */
const BASE64URL = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}(?:==)?|[A-Za-z0-9_-]{3}=?)?$/

/**
 * The protobuf bytes of a request body `{"data": BYTES}`, BYTES being a JSON array of
 * integers 0–255 (what the reference client sends) or a base64 string (standard or URL-safe
 * alphabet, with or without padding).
 *
 * Reasons never quote what the client sent: a value is described by its type only, so an
 * answer stays small whatever the body holds (and nothing is stringified: a value nested
 * 30,000 arrays deep would overflow the stack).
 * @throws HttpRefusal `invalid_body` saying precisely what is wrong.
 */
export function parseDataEnvelope(body: Buffer, contentType: string | undefined): Uint8Array {
  if (contentType !== undefined && contentType !== '' && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw invalid('Content-Type must be application/json')
  }
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch (err) {
    // V8's message may quote the input; keep only where it went wrong.
    const at = /at position (\d+)/.exec(err instanceof Error ? err.message : '')
    throw invalid(`body is not JSON${at ? ` (at position ${at[1]})` : ''}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid('body must be a JSON object {"data": …}')
  }
  if (!('data' in json) || json.data === undefined || json.data === null) {
    throw invalid('missing "data"')
  }
  const data: unknown = json.data
  if (typeof data === 'string') {
    if (BASE64.test(data)) return Buffer.from(data, 'base64')
    if (BASE64URL.test(data)) return Buffer.from(data, 'base64url')
    throw invalid('"data" is a string but not base64')
  }
  if (!Array.isArray(data)) {
    throw invalid(`"data" is ${kindOf(data)}; it must be an array of integers 0-255 or a base64 string`)
  }
  const bytes = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i]
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw invalid(`"data"[${i}] is not an integer (${kindOf(v)})`)
    }
    if (v < 0 || v > 255) throw invalid(`"data"[${i}] is ${v}, not a byte (0-255)`)
    bytes[i] = v
  }
  return bytes
}

/** A JSON value's kind, for an error message that does not echo the value. */
function kindOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  switch (typeof v) {
    case 'number': return Number.isInteger(v) ? 'a number' : 'a fractional number'
    case 'string': return 'a string'
    case 'boolean': return 'a boolean'
    case 'object': return 'an object'
    default: return typeof v
  }
}

function invalid(reason: string): HttpRefusal {
  return new HttpRefusal(HttpErrorCode.InvalidBody, reason)
}
