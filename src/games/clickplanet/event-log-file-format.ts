/**
 * The click log file's layout, and reading it back whatever state it is in.
 *
 * Version 2 (written since logs have an identity), little-endian:
 * - header, 64 bytes: "CPLG", u16 version 2, u16 header size 64, the log id (16 random
 *   bytes), u64 `base` (positions ≤ base are not in this file: its first record is base + 1),
 *   the parent id (16 bytes, zero = none: the log whose snapshot at exactly `base` this file
 *   continues), u32 flags (bit 0 `legacy`: the file carries on one written before logs had
 *   ids, so a snapshot that names no log is this log's), 8 reserved bytes, u32 CRC-32 of the
 *   60 bytes before it.
 * - records: u32 payload length (≤ 4096), u32 CRC-32 of the 8 + length bytes that follow,
 *   u64 position, the `Click` protobuf. Positions go base + 1, base + 2, … without gaps.
 *   Each record names its position, so after damage the intact records that follow can be
 *   placed exactly, and the damage says which positions it holds.
 * Version 1 (no header; records are u32 length, u32 CRC-32 of the payload, the payload) is
 * only read, to migrate it.
 */
import { randomBytes } from 'node:crypto'
import type { FileHandle } from 'node:fs/promises'
import { crc32 } from './crc32.js'
import { decodeClick } from './messages.js'

export const HEADER_SIZE = 64
export const RECORD_HEADER = 16
const LEGACY_RECORD_HEADER = 8
/** A Click is ~40 bytes; a length past this is damage, not a record. */
export const MAX_PAYLOAD = 4096
/** One file offset is indexed per this many positions, to start a replay near its position. */
export const INDEX_EVERY = 1024
const READ_CHUNK = 1 << 20
const MAGIC = 'CPLG'
const VERSION = 2
const FLAG_LEGACY = 1
const NO_PARENT = Buffer.alloc(16)

export interface LogHeader {
  /** 32 hex characters. */
  readonly id: string
  /** Positions up to this one are not in the file (a snapshot holds them). */
  readonly base: number
  /** The log whose snapshot at exactly `base` this one continues. */
  readonly parent: string | undefined
  /** Carries on a file written before logs had ids: a snapshot naming no log is this log's. */
  readonly legacy: boolean
}

export function newLogId(): string {
  return randomBytes(16).toString('hex')
}

export function encodeHeader(h: LogHeader): Buffer {
  const b = Buffer.alloc(HEADER_SIZE)
  b.write(MAGIC, 0, 'latin1')
  b.writeUInt16LE(VERSION, 4)
  b.writeUInt16LE(HEADER_SIZE, 6)
  Buffer.from(h.id, 'hex').copy(b, 8)
  writeU64(b, 24, h.base)
  ;(h.parent === undefined ? NO_PARENT : Buffer.from(h.parent, 'hex')).copy(b, 32)
  b.writeUInt32LE(h.legacy ? FLAG_LEGACY : 0, 48)
  b.writeUInt32LE(crc32(b.subarray(0, HEADER_SIZE - 4)), HEADER_SIZE - 4)
  return b
}

/** True when the file starts like a version 2 log (else it is a version 1 file, or not a log). */
export function hasHeaderMagic(start: Buffer): boolean {
  return start.length >= 4 && start.toString('latin1', 0, 4) === MAGIC
}

/** @throws Error saying what is wrong when `b` is not an intact version 2 header. */
export function decodeHeader(b: Buffer): LogHeader {
  if (b.length < HEADER_SIZE) throw new Error(`the header is cut short (${b.length} of ${HEADER_SIZE} bytes)`)
  if (crc32(b.subarray(0, HEADER_SIZE - 4)) !== b.readUInt32LE(HEADER_SIZE - 4)) throw new Error('the header\'s checksum does not match')
  if (b.readUInt16LE(4) !== VERSION || b.readUInt16LE(6) !== HEADER_SIZE) {
    throw new Error(`version ${b.readUInt16LE(4)} is not one this release reads`)
  }
  const base = readU64(b, 24)
  if (base === undefined) throw new Error('the header\'s base position is out of range')
  const parent = b.subarray(32, 48)
  return {
    id: b.toString('hex', 8, 24),
    base,
    parent: parent.equals(NO_PARENT) ? undefined : parent.toString('hex'),
    legacy: (b.readUInt32LE(48) & FLAG_LEGACY) !== 0,
  }
}

/** Records for `payloads` at positions first, first + 1, …, in one buffer. */
export function encodeRecords(first: number, payloads: readonly Uint8Array[]): Buffer {
  let size = 0
  for (const p of payloads) size += RECORD_HEADER + p.length
  const out = Buffer.allocUnsafe(size)
  let o = 0
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i]!
    out.writeUInt32LE(p.length, o)
    writeU64(out, o + 8, first + i)
    out.set(p, o + RECORD_HEADER)
    out.writeUInt32LE(crc32(out, 0, o + 8, o + RECORD_HEADER + p.length), o + 4)
    o += RECORD_HEADER + p.length
  }
  return out
}

/** Damaged bytes in a log file, and the positions around them. */
export interface Damage {
  /** Byte offset where the damage starts. */
  readonly start: number
  /** Where the next intact record starts (the file's size for a tail). */
  readonly end: number
  /** Position of the last intact record before it (the base when there is none). */
  readonly after: number
  /**
   * Position of the first intact record after it: positions after + 1 … next - 1 are lost
   * in it. Undefined for a tail, and for damage in a version 1 file (its records carry no
   * position, so what follows cannot be placed).
   */
  readonly next: number | undefined
  /** Nothing intact follows it: the end of the file, as a crash mid-write leaves it. */
  readonly tail: boolean
}

export interface LogScan {
  /** The base the scan counted from. */
  readonly base: number
  /** Position of the last intact record (the base when there is none). */
  readonly head: number
  /** Offset just past the last intact record. */
  readonly validEnd: number
  /** Where indexed positions start, up to the first damage. */
  readonly index: PositionIndex
  readonly damage: readonly Damage[]
}

/**
 * Where to start reading for a position: the offsets of the positions 1, 1 + INDEX_EVERY,
 * 1 + 2·INDEX_EVERY, … that the file holds. Absolute positions, so dropping the start of
 * the file keeps the rest of the index valid.
 */
export class PositionIndex {
  /** offsets[i] is the offset of position (first + i)·INDEX_EVERY + 1. */
  #first = 0
  #offsets: number[] = []

  /** Called with every record, in order. */
  add(position: number, offset: number): void {
    if ((position - 1) % INDEX_EVERY !== 0) return
    if (this.#offsets.length === 0) this.#first = (position - 1) / INDEX_EVERY
    this.#offsets.push(offset)
  }

  /** The indexed record nearest at or before `position`, if any. */
  before(position: number): { readonly position: number; readonly offset: number } | undefined {
    const i = Math.min(this.#offsets.length - 1, Math.floor((position - 1) / INDEX_EVERY) - this.#first)
    if (i < 0) return undefined
    return { position: (this.#first + i) * INDEX_EVERY + 1, offset: this.#offsets[i]! }
  }

  /** Forgets positions up to `base`; the offsets of the rest move by `shift` bytes. */
  rebase(base: number, shift: number): void {
    const drop = Math.min(this.#offsets.length, Math.max(0, Math.ceil(base / INDEX_EVERY) - this.#first))
    this.#offsets = this.#offsets.slice(drop).map((o) => o + shift)
    this.#first += drop
  }
}

/**
 * Reads a version 2 file's records (framing, positions and checksums; not the clicks), and
 * where a record is damaged, looks for the next intact one: a record whose checksum holds
 * and whose position is past the last one and fits in the bytes skipped.
 */
export async function scanLog(fh: FileHandle, size: number, base: number): Promise<LogScan> {
  return scan(fh, size, HEADER_SIZE, base, false)
}

/** The same over a version 1 file: positions are counted from 1 and cannot be placed after damage. */
export async function scanLegacyLog(fh: FileHandle, size: number): Promise<LogScan> {
  return scan(fh, size, 0, 0, true)
}

async function scan(fh: FileHandle, size: number, from: number, base: number, legacy: boolean): Promise<LogScan> {
  const w = new FileWindow(fh, size)
  const index = new PositionIndex()
  const damage: Damage[] = []
  const headerSize = legacy ? LEGACY_RECORD_HEADER : RECORD_HEADER
  let offset = from
  let last = base
  let validEnd = from
  while (offset < size) {
    const p = w.at(offset) ?? await w.load(offset)
    const rec = legacy ? parseLegacy(w.buf, p, w.end, false) : parseRecord(w.buf, p, w.end, last + 1, last + 1)
    if (rec !== undefined) {
      if (damage.length === 0) index.add(last + 1, offset)
      last++
      offset += rec.size
      validEnd = offset
      continue
    }
    const start = offset
    let found: { at: number; position: number } | undefined
    for (let o = start + 1; found === undefined && o + headerSize <= size; o++) {
      const p = w.at(o) ?? await w.load(o)
      if (legacy) {
        if (parseLegacy(w.buf, p, w.end, true) !== undefined) found = { at: o, position: Number.NaN }
      } else {
        // Each lost record took at least RECORD_HEADER bytes: that bounds the next position.
        const r = parseRecord(w.buf, p, w.end, last + 1, last + 1 + Math.floor((o - start) / RECORD_HEADER))
        if (r !== undefined) found = { at: o, position: r.position }
      }
    }
    if (found === undefined) {
      damage.push({ start, end: size, after: last, next: undefined, tail: true })
      break
    }
    damage.push({ start, end: found.at, after: last, next: legacy ? undefined : found.position, tail: false })
    if (legacy) break // what follows cannot be placed: the caller refuses the file
    last = found.position - 1
    offset = found.at
  }
  return { base, head: last, validEnd, index, damage }
}

/**
 * Calls `each` for every record in [from, end) of a version 2 file, in order, and returns
 * the offset it stopped at: `end`, or the start of the first record that is not intact.
 */
export async function forEachRecord(
  fh: FileHandle, from: number, end: number,
  each: (position: number, payload: Buffer, offset: number) => void,
): Promise<number> {
  const w = new FileWindow(fh, end)
  let offset = from
  while (offset < end) {
    const p = w.at(offset) ?? await w.load(offset)
    const rec = parseRecord(w.buf, p, w.end, 1, Number.MAX_SAFE_INTEGER)
    if (rec === undefined) return offset
    each(rec.position, w.buf.subarray(p + RECORD_HEADER, p + rec.size), offset)
    offset += rec.size
  }
  return offset
}

/**
 * The offset of the record at `position`, walking from `from` (the offset of a record at or
 * before it) over intact records; undefined when an unreadable record comes first.
 */
export async function findRecord(fh: FileHandle, from: number, end: number, position: number): Promise<number | undefined> {
  const w = new FileWindow(fh, end)
  let offset = from
  while (offset < end) {
    const p = w.at(offset) ?? await w.load(offset)
    const rec = parseRecord(w.buf, p, w.end, 1, position)
    if (rec === undefined) return undefined
    if (rec.position === position) return offset
    offset += rec.size
  }
  return undefined
}

/**
 * Rewrites the records of a version 1 file in [0, end) as version 2 records, counting
 * positions from 1 and keeping those after `base`, handed to `write` about a megabyte at
 * a time. Resolves with the number of records kept.
 */
export async function convertLegacy(
  fh: FileHandle, end: number, base: number, write: (records: Buffer) => Promise<void>,
): Promise<number> {
  const w = new FileWindow(fh, end)
  let offset = 0
  let position = 0
  let kept = 0
  let batch: Buffer[] = []
  let batchBytes = 0
  while (offset < end) {
    const p = w.at(offset) ?? await w.load(offset)
    const rec = parseLegacy(w.buf, p, w.end, false)
    if (rec === undefined) break
    if (++position > base) {
      const record = encodeRecords(position, [w.buf.subarray(p + LEGACY_RECORD_HEADER, p + rec.size)])
      batch.push(record)
      batchBytes += record.length
      kept++
    }
    offset += rec.size
    if (batchBytes >= READ_CHUNK) {
      await write(Buffer.concat(batch))
      batch = []
      batchBytes = 0
    }
  }
  if (batch.length > 0) await write(Buffer.concat(batch))
  return kept
}

/** The record at `b[p]` (the buffer holds bytes up to `end`) if whole, intact and its position in [min, max]. */
function parseRecord(b: Buffer, p: number, end: number, min: number, max: number): { position: number; size: number } | undefined {
  if (end - p < RECORD_HEADER) return undefined
  const len = b.readUInt32LE(p)
  if (len > MAX_PAYLOAD || end - p < RECORD_HEADER + len) return undefined
  const position = readU64(b, p + 8)
  if (position === undefined || position < min || position > max) return undefined
  if (crc32(b, 0, p + 8, p + RECORD_HEADER + len) !== b.readUInt32LE(p + 4)) return undefined
  return { position, size: RECORD_HEADER + len }
}

/**
 * A version 1 record at `b[p]`, if whole and intact. Looking for one past damage (`strict`)
 * it must also hold a Click, since without positions its checksum is all there is.
 */
function parseLegacy(b: Buffer, p: number, end: number, strict: boolean): { size: number } | undefined {
  if (end - p < LEGACY_RECORD_HEADER) return undefined
  const len = b.readUInt32LE(p)
  // A Click is never empty (its click id is not), so a zero length is damage: zeroed pages.
  if (len === 0 || len > MAX_PAYLOAD || end - p < LEGACY_RECORD_HEADER + len) return undefined
  const from = p + LEGACY_RECORD_HEADER
  if (crc32(b, 0, from, from + len) !== b.readUInt32LE(p + 4)) return undefined
  if (strict) {
    try {
      decodeClick(b.subarray(from, from + len))
    } catch {
      return undefined
    }
  }
  return { size: LEGACY_RECORD_HEADER + len }
}

/**
 * Forward reads over a file through one buffer holding bytes [start, start + end of `buf`)
 * of the file. `at(offset)` gives the index in `buf` of a file offset when the buffer holds
 * a whole record's worth from there (or up to the end of the file) without reading: most
 * calls, since one read serves a megabyte of records; else `load` reads from there.
 * `buf` and the indexes are valid until the next `load`.
 */
class FileWindow {
  readonly #fh: FileHandle
  readonly #fileEnd: number
  #buf = Buffer.alloc(0)
  #start = 0
  #len = 0

  constructor(fh: FileHandle, end: number) {
    this.#fh = fh
    this.#fileEnd = end
  }

  get buf(): Buffer { return this.#buf }
  /** Index in `buf` past the last byte read. */
  get end(): number { return this.#len }

  at(offset: number): number | undefined {
    const want = Math.min(RECORD_HEADER + MAX_PAYLOAD, this.#fileEnd - offset)
    if (offset < this.#start || offset + want > this.#start + this.#len) return undefined
    return offset - this.#start
  }

  async load(offset: number): Promise<number> {
    const n = Math.max(0, Math.min(READ_CHUNK, this.#fileEnd - offset))
    if (this.#buf.length < n) this.#buf = Buffer.allocUnsafe(READ_CHUNK)
    let got = 0
    while (got < n) {
      const { bytesRead } = await this.#fh.read(this.#buf, got, n - got, offset + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    this.#start = offset
    this.#len = got
    return 0
  }
}

function writeU64(b: Buffer, at: number, n: number): void {
  b.writeUInt32LE(n % 0x1_0000_0000, at)
  b.writeUInt32LE(Math.floor(n / 0x1_0000_0000), at + 4)
}

/** A u64 as a number; undefined past Number.MAX_SAFE_INTEGER. */
function readU64(b: Buffer, at: number): number | undefined {
  const hi = b.readUInt32LE(at + 4)
  if (hi >= 0x20_0000) return undefined
  return hi * 0x1_0000_0000 + b.readUInt32LE(at)
}
