import type { IncomingMessage } from 'node:http'

/** A request refused at the edge: HTTP status and the reason sent as `{"error": …}`. */
export class BadRequest extends Error {
  override readonly name = 'BadRequest'
  constructor(readonly status: 400 | 404 | 405 | 413, message: string) {
    super(message)
  }
}

/** Reads a body up to `limit` bytes; past it, rejects with 413 without buffering the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new BadRequest(413, `body of ${declared} bytes is over the ${limit} byte limit`))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) {
        req.off('data', onData)
        req.pause()
        reject(new BadRequest(413, `body is over the ${limit} byte limit`))
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.on('end', () => resolve(Buffer.concat(chunks, size)))
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
 * @throws BadRequest(400) saying precisely what is wrong.
 */
export function parseDataEnvelope(body: Buffer, contentType: string | undefined): Uint8Array {
  if (contentType !== undefined && contentType !== '' && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw new BadRequest(400, 'Content-Type must be application/json')
  }
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch (err) {
    // V8's message may quote the input; keep only where it went wrong.
    const at = /at position (\d+)/.exec(err instanceof Error ? err.message : '')
    throw new BadRequest(400, `body is not JSON${at ? ` (at position ${at[1]})` : ''}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BadRequest(400, 'body must be a JSON object {"data": …}')
  }
  if (!('data' in json) || json.data === undefined || json.data === null) {
    throw new BadRequest(400, 'missing "data"')
  }
  const data: unknown = json.data
  if (typeof data === 'string') {
    if (BASE64.test(data)) return Buffer.from(data, 'base64')
    if (BASE64URL.test(data)) return Buffer.from(data, 'base64url')
    throw new BadRequest(400, '"data" is a string but not base64')
  }
  if (!Array.isArray(data)) {
    throw new BadRequest(400, `"data" is ${kindOf(data)}; it must be an array of integers 0-255 or a base64 string`)
  }
  const bytes = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i]
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new BadRequest(400, `"data"[${i}] is not an integer (${kindOf(v)})`)
    }
    if (v < 0 || v > 255) throw new BadRequest(400, `"data"[${i}] is ${v}, not a byte (0-255)`)
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
