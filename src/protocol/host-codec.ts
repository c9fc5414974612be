/**
 * Host codecs: frames ⇄ values. CBOR in binary frames is the protocol; JSON in text frames
 * (`/CREATE?format=json`) is the same protocol for scripts and debugging.
 *
 * Decoding is where hostile input is met: a CBOR frame is walked by `inspectCbor` (declared
 * lengths against bytes left, bounded depth, no tags) before cbor-x sees it, so no frame
 * costs more than its size. Encoding writes plain CBOR any standard decoder reads: text-keyed
 * maps, integers, byte strings without tags, no cbor-x records or shared structures.
 */
import { Decoder, Encoder } from 'cbor-x'
import { ErrorCode } from '../errors.js'
import { inspectCbor } from './cbor-guard.js'
import type { BytesForm } from './commands.js'
import type { ServerMessage } from './messages.js'

export type Decoded = { ok: true; value: unknown } | { ok: false; code: ErrorCode; reason: string }

export interface HostCodec {
  readonly form: BytesForm
  /** Frames of this codec are binary (CBOR) or text (JSON). */
  readonly binary: boolean
  decode(frame: Buffer): Decoded
  encode(message: ServerMessage): Buffer | string
}

/** Options that keep cbor-x to standard CBOR (see the file comment). */
const plainCbor = {
  useRecords: false,
  tagUint8Array: false,
  variableMapSize: true,
  mapsAsObjects: true,
  useFloat32: 0,
  largeBigIntToFloat: false,
  bundleStrings: false,
  pack: false,
  structuredClone: false,
} as const

export class CborCodec implements HostCodec {
  readonly form = 'cbor' as const
  readonly binary = true
  #encoder = new Encoder(plainCbor)
  #decoder = new Decoder(plainCbor)
  #maxDepth: number

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth
  }

  decode(frame: Buffer): Decoded {
    const verdict = inspectCbor(frame, { maxDepth: this.#maxDepth })
    if (!verdict.ok) return { ok: false, code: ErrorCode.MalformedFrame, reason: `malformed CBOR: ${verdict.reason}` }
    try {
      return { ok: true, value: this.#decoder.decode(frame) as unknown }
    } catch (err) {
      return { ok: false, code: ErrorCode.MalformedFrame, reason: `malformed CBOR: ${(err as Error).message.slice(0, 80)}` }
    }
  }

  encode(message: ServerMessage): Buffer {
    return this.#encoder.encode(message)
  }
}

export class JsonCodec implements HostCodec {
  readonly form = 'json' as const
  readonly binary = false

  decode(frame: Buffer): Decoded {
    try {
      return { ok: true, value: JSON.parse(frame.toString('utf8')) as unknown }
    } catch (err) {
      return { ok: false, code: ErrorCode.MalformedFrame, reason: `malformed JSON: ${(err as Error).message.slice(0, 80)}` }
    }
  }

  encode(message: ServerMessage): string {
    if (message.cmd === 'from') return JSON.stringify({ ...message, data: Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength).toString('base64') })
    return JSON.stringify(message)
  }
}
