/**
 * Hand-written protobuf encoders for the messages the server writes on hot paths, producing
 * exactly the bytes a canonical proto3 encoder writes (default-valued scalars omitted).
 * protobufjs builds an object per message and a list of write operations per field; here an
 * UpdateNotification is one small Buffer per owner change, an OwnershipState of a quarter of
 * a million tiles is written straight from typed arrays into one buffer (in slices, see
 * `writeOwnerships`), and a LeaderboardResponse is one buffer sized up front.
 * `test/games/clickplanet/wire.test.ts` checks them against the protobufjs codec and against
 * bytes built by hand from the contract's field numbers.
 */
import { endianness } from 'node:os'

// The timestamp column is a BigUint64Array read as pairs of uint32 (low word first).
if (endianness() !== 'LE') throw new Error('clickplanet: wire encoders assume a little-endian host')

function varint32Len(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5
}
function writeVarint32(buf: Uint8Array, pos: number, v: number): number {
  while (v > 127) {
    buf[pos++] = (v & 127) | 128
    v >>>= 7
  }
  buf[pos++] = v
  return pos
}
function varint64Len(lo: number, hi: number): number {
  if (hi === 0) return varint32Len(lo)
  // bits above 32: each 7 more bits is a byte
  let n = 5
  let h = hi >>> 3
  while (h !== 0) { n++; h >>>= 7 }
  return n
}
function writeVarint64(buf: Uint8Array, pos: number, lo: number, hi: number): number {
  while (hi !== 0) {
    buf[pos++] = (lo & 127) | 128
    lo = ((lo >>> 7) | (hi << 25)) >>> 0
    hi >>>= 7
  }
  while (lo > 127) {
    buf[pos++] = (lo & 127) | 128
    lo >>>= 7
  }
  buf[pos++] = lo
  return pos
}
function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i)
  return pos
}

/**
 * `UpdateNotification{tile_id, country_id, previous_country_id}`. Country ids are ASCII
 * (ISO alpha-2 or empty); tileId ≥ 0.
 */
export function encodeUpdateNotificationFast(tileId: number, countryId: string, previousId: string): Buffer {
  const size = (tileId === 0 ? 0 : 1 + varint32Len(tileId))
    + (countryId.length === 0 ? 0 : 2 + countryId.length)
    + (previousId.length === 0 ? 0 : 2 + previousId.length)
  const buf = Buffer.allocUnsafe(size)
  let p = 0
  if (tileId !== 0) { buf[p++] = 0x08; p = writeVarint32(buf, p, tileId) }
  if (countryId.length !== 0) { buf[p++] = 0x12; buf[p++] = countryId.length; p = writeAscii(buf, p, countryId) }
  if (previousId.length !== 0) { buf[p++] = 0x1a; buf[p++] = previousId.length; p = writeAscii(buf, p, previousId) }
  return buf
}

/** The columns an OwnershipState is written from (the projection's arrays). */
export interface OwnershipColumns {
  /** Owner index per tile, 0 = unowned. */
  readonly owners: Uint8Array | Uint16Array
  /** Time of the click that set the owner, Unix ns. */
  readonly timesNs: BigUint64Array
  /** Country id of an owner index (index 0 unused). ASCII, < 128 bytes. */
  readonly codes: readonly string[]
}

// tag+len, tile (tag + ≤5), country (tag + len + ≤ 16), timestamp (tag + ≤10)
export const MAX_OWNERSHIP_BYTES = 2 + 6 + 18 + 11

/** Owned tiles (owner ≠ 0) with `from ≤ id < to`. */
export function countOwned(owners: Uint8Array | Uint16Array, from: number, to: number): number {
  let owned = 0
  for (let t = from; t < to; t++) if (owners[t] !== 0) owned++
  return owned
}

/**
 * Writes the `ownerships` entries (field 1 of OwnershipState) of the owned tiles with
 * `from ≤ id < to` into `buf` at `pos`, and returns the position after them. Entries are
 * self-contained, so consecutive ranges written one after the other make one message:
 * that is what lets a quarter of a million tiles be encoded a slice at a time.
 * `buf` must have `MAX_OWNERSHIP_BYTES` per owned tile left.
 */
export function writeOwnerships(cols: OwnershipColumns, buf: Uint8Array, pos: number, from: number, to: number): number {
  const { owners, codes } = cols
  const words = new Uint32Array(cols.timesNs.buffer, cols.timesNs.byteOffset, cols.timesNs.length * 2)
  let p = pos
  for (let t = from; t < to; t++) {
    const owner = owners[t] ?? 0
    if (owner === 0) continue
    const code = codes[owner] ?? ''
    const tsLo = words[2 * t] ?? 0
    const tsHi = words[2 * t + 1] ?? 0
    const tsLen = tsLo === 0 && tsHi === 0 ? 0 : 1 + varint64Len(tsLo, tsHi)
    const inner = (t === 0 ? 0 : 1 + varint32Len(t)) + (code.length === 0 ? 0 : 2 + code.length) + tsLen
    buf[p++] = 0x0a
    buf[p++] = inner
    if (t !== 0) { buf[p++] = 0x08; p = writeVarint32(buf, p, t) }
    if (code.length !== 0) { buf[p++] = 0x12; buf[p++] = code.length; p = writeAscii(buf, p, code) }
    if (tsLen !== 0) { buf[p++] = 0x18; p = writeVarint64(buf, p, tsLo, tsHi) }
  }
  return p
}

/** `OwnershipState` of every owned tile with `start ≤ id ≤ end`, ids in increasing order. */
export function encodeOwnershipStateFast(cols: OwnershipColumns, start: number, end: number): Buffer {
  const lo = Math.max(0, start)
  const hi = Math.min(cols.owners.length - 1, end) + 1
  if (hi <= lo) return Buffer.alloc(0)
  const buf = Buffer.allocUnsafe(countOwned(cols.owners, lo, hi) * MAX_OWNERSHIP_BYTES)
  return buf.subarray(0, writeOwnerships(cols, buf, 0, lo, hi))
}

/**
 * `LeaderboardResponse{entries: [LeaderboardEntry{country_id = 1, score = 2}]}` (field 1 of
 * the response). Country ids are ASCII, shorter than 128 bytes; scores are uint32.
 */
export function encodeLeaderboardFast(entries: readonly { readonly countryId: string; readonly score: number }[]): Buffer {
  let size = 0
  for (const e of entries) {
    const inner = (e.countryId.length === 0 ? 0 : 2 + e.countryId.length) + (e.score === 0 ? 0 : 1 + varint32Len(e.score))
    size += 1 + varint32Len(inner) + inner
  }
  const buf = Buffer.allocUnsafe(size)
  let p = 0
  for (const e of entries) {
    const inner = (e.countryId.length === 0 ? 0 : 2 + e.countryId.length) + (e.score === 0 ? 0 : 1 + varint32Len(e.score))
    buf[p++] = 0x0a
    p = writeVarint32(buf, p, inner)
    if (e.countryId.length !== 0) { buf[p++] = 0x0a; buf[p++] = e.countryId.length; p = writeAscii(buf, p, e.countryId) }
    if (e.score !== 0) { buf[p++] = 0x10; p = writeVarint32(buf, p, e.score >>> 0) }
  }
  return buf
}
