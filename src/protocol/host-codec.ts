/**
 * Host codecs: frames ⇄ values. CBOR in binary frames is the protocol; JSON in text frames
 * (`/CREATE?format=json`) is the same protocol for scripts and debugging.
 *
 * Decoding is where hostile input is met: a CBOR frame is walked by `inspectCbor` (declared
 * lengths against bytes left, bounded depth, no tags, bounded counts of containers and map
 * entries) before cbor-x sees it, and a JSON frame is scanned by `inspectJson` for the same
 * structure limits, so no frame costs much more than its size. Encoding writes plain CBOR any standard decoder reads: text-keyed
 * maps, integers, byte strings without tags, no cbor-x records or shared structures.
 */
import { Decoder, Encoder } from 'cbor-x'
import { ErrorCode } from '../errors.js'
import { inspectCbor, type CborLimits, type CborVerdict } from './cbor-guard.js'
import { inspectJson } from './json-guard.js'
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

/** A refusal by a guard: a passed structure limit is `too_complex`, anything else malformed. */
function refused(verdict: Exclude<CborVerdict, { ok: true }>, format: string): Decoded {
  if (verdict.exceeded) return { ok: false, code: ErrorCode.TooComplex, reason: `${format} too complex: ${verdict.reason}` }
  return { ok: false, code: ErrorCode.MalformedFrame, reason: `malformed ${format}: ${verdict.reason}` }
}

export class CborCodec implements HostCodec {
  readonly form = 'cbor' as const
  readonly binary = true
  #encoder = new Encoder(plainCbor)
  #decoder = new Decoder(plainCbor)
  #limits: CborLimits

  constructor(limits: CborLimits) {
    this.#limits = limits
  }

  decode(frame: Buffer): Decoded {
    const verdict = inspectCbor(frame, this.#limits)
    if (!verdict.ok) return refused(verdict, 'CBOR')
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
  #limits: CborLimits

  constructor(limits: CborLimits) {
    this.#limits = limits
  }

  decode(frame: Buffer): Decoded {
    const text = frame.toString('utf8')
    const verdict = inspectJson(text, this.#limits)
    if (!verdict.ok) return refused(verdict, 'JSON')
    try {
      return { ok: true, value: JSON.parse(text) as unknown }
    } catch (err) {
      return { ok: false, code: ErrorCode.MalformedFrame, reason: `malformed JSON: ${(err as Error).message.slice(0, 80)}` }
    }
  }

  encode(message: ServerMessage): string {
    if (message.cmd === 'from') return JSON.stringify({ ...message, data: Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength).toString('base64') })
    return JSON.stringify(message)
  }
}
