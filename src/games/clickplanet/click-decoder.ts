/**
 * A fast path for decoding the `Click`s a node reads back from its log (a catch-up reads
 * a million of them). It accepts only the plain shape `encodeClick` writes: the four known
 * fields, each at most once, in any order, short ASCII strings, a tile id below 2^28 and a
 * time below 2^63. Anything else goes to `decodeClick`, which decides (and throws the same
 * `MessageDecodeError` it always did), so both give the same result for every input.
 */
import { decodeClick, type Click } from './messages.js'

/** The varint at `at` as a Number if it fits in `maxBytes` bytes (7 bits each), else -1. */
function varint(b: Uint8Array, at: number, maxBytes: number): number {
  let v = 0
  let scale = 1
  for (let i = 0; i < maxBytes && at + i < b.length; i++) {
    const x = b[at + i]!
    v += (x & 0x7f) * scale
    if (x < 0x80) return v
    scale *= 128
  }
  return -1
}
function varintLength(b: Uint8Array, at: number): number {
  let i = 0
  while (at + i < b.length && b[at + i]! >= 0x80) i++
  return i + 1
}
/** An ASCII string of `len` bytes at `at`, or undefined (not ASCII, or past the end). */
function ascii(b: Uint8Array, at: number, len: number): string | undefined {
  if (at + len > b.length) return undefined
  let s = ''
  for (let i = at; i < at + len; i++) {
    const c = b[i]!
    if (c >= 0x80) return undefined
    s += String.fromCharCode(c)
  }
  return s
}

/** `decodeClick`, faster for the clicks `encodeClick` wrote. */
export function decodeLoggedClick(b: Uint8Array): Click {
  let tileId = 0
  let countryId = ''
  let timestampNs = 0n
  let clickId = ''
  let seen = 0
  let at = 0
  while (at < b.length) {
    const tag = b[at++]
    let field: number
    if (tag === 0x08) {
      // int32 tile id: at most 4 bytes, so it is below 2^28 and never negative.
      const v = varint(b, at, 4)
      if (v < 0) return decodeClick(b)
      tileId = v
      at += varintLength(b, at)
      field = 1
    } else if (tag === 0x18) {
      // uint64 time: at most 9 bytes (63 bits); the low 49 bits fit a Number exactly.
      const len = varintLength(b, at)
      if (len > 9 || at + len > b.length) return decodeClick(b)
      let low = 0
      let high = 0
      let scale = 1
      for (let i = 0; i < len; i++) {
        const x = b[at + i]! & 0x7f
        if (i < 7) low += x * scale
        else high += x * (i === 7 ? 1 : 128)
        scale *= 128
      }
      timestampNs = high === 0 ? BigInt(low) : BigInt(low) + (BigInt(high) << 49n)
      at += len
      field = 3
    } else if (tag === 0x12 || tag === 0x22) {
      const len = b[at++]
      if (len === undefined || len >= 0x80) return decodeClick(b)
      const s = ascii(b, at, len)
      if (s === undefined) return decodeClick(b)
      at += len
      if (tag === 0x12) { countryId = s; field = 2 } else { clickId = s; field = 4 }
    } else {
      return decodeClick(b)
    }
    if (seen & (1 << field)) return decodeClick(b)
    seen |= 1 << field
  }
  return { tileId, countryId, timestampNs, clickId }
}
