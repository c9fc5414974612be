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

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/
const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * The protobuf bytes of a request body `{"data": BYTES}`, BYTES being a JSON array of
 * integers 0–255 (what the reference client sends) or a base64 string.
 * @throws BadRequest(400) saying precisely what is wrong.
 */
export function parseDataEnvelope(body: Buffer, contentType: string | undefined): Uint8Array {
  if (contentType !== undefined && contentType !== '' && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw new BadRequest(400, `Content-Type must be application/json, got ${contentType}`)
  }
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw new BadRequest(400, `body is not JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BadRequest(400, 'body must be a JSON object {"data": …}')
  }
  if (!('data' in json) || json.data === undefined || json.data === null) {
    throw new BadRequest(400, 'missing "data"')
  }
  const data: unknown = json.data
  if (typeof data === 'string') {
    const s = data.trim()
    if (BASE64.test(s)) return Buffer.from(s, 'base64')
    if (BASE64URL.test(s)) return Buffer.from(s, 'base64url')
    throw new BadRequest(400, '"data" is a string but not base64')
  }
  if (!Array.isArray(data)) {
    throw new BadRequest(400, '"data" must be an array of integers 0-255 or a base64 string')
  }
  const bytes = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i]
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new BadRequest(400, `"data"[${i}] is not an integer: ${JSON.stringify(v) ?? String(v)}`)
    }
    if (v < 0 || v > 255) throw new BadRequest(400, `"data"[${i}] is ${v}, not a byte (0-255)`)
    bytes[i] = v
  }
  return bytes
}
