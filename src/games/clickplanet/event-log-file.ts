import { open, type FileHandle } from 'node:fs/promises'
import { crc32 } from './crc32.js'
import {
  LogClosedError, LogFailedError,
  type EventLog, type LogEntry, type LogHandler, type LogSubscription,
} from './event-log.js'
import { Subscriber } from './log-subscriber.js'
import { decodeClick, encodeClick, type Click } from './messages.js'

/** Record framing: u32 LE payload length, u32 LE CRC-32 of the payload, the `Click` bytes. */
const RECORD_HEADER = 8
/** A Click is ~40 bytes; anything past this is corruption, not a record. */
const MAX_RECORD = 4096
/** One file offset kept per this many positions, to start a replay near its position. */
const INDEX_EVERY = 1024
const READ_CHUNK = 1 << 20

export interface FileEventLogOptions {
  /**
   * fdatasync each group of appends before acknowledging them (default true). Without it a
   * click survives the process being killed (it is in the page cache) but not a power cut.
   */
  readonly fsync?: boolean
}

interface Pending {
  readonly bytes: Buffer
  readonly click: Click
  readonly resolve: (position: number) => void
  readonly reject: (err: Error) => void
}

/**
 * Append-only file of length-prefixed, checksummed `Click` protobufs.
 *
 * Appends are group-committed: the clicks queued while a write is in flight go out in the
 * next single write (+ fdatasync), so durability costs one sync per batch, not per click.
 * On open the file is scanned; a torn or corrupt tail (a crash mid-write) is cut off, which
 * only ever loses clicks that were never acknowledged.
 */
export class FileEventLog implements EventLog {
  readonly #fh: FileHandle
  readonly #fsync: boolean
  readonly #subs = new Set<Subscriber>()
  /** offsets[k] = byte offset of position k·INDEX_EVERY + 1 */
  readonly #offsets: number[]
  #head: number
  #bytes: number
  #pending: Pending[] = []
  #writing: Promise<void> | undefined
  #failed: Error | undefined
  #closed = false
  /** Bytes cut from a torn tail when the file was opened. */
  readonly truncatedBytes: number

  private constructor(fh: FileHandle, fsync: boolean, head: number, bytes: number, offsets: number[], truncated: number) {
    this.#fh = fh
    this.#fsync = fsync
    this.#head = head
    this.#bytes = bytes
    this.#offsets = offsets
    this.truncatedBytes = truncated
  }

  static async open(path: string, options: FileEventLogOptions = {}): Promise<FileEventLog> {
    const fh = await open(path, 'a+')
    try {
      const { size } = await fh.stat()
      const offsets: number[] = []
      let head = 0
      const valid = await scan(fh, 0, size, false, (_, offset) => {
        if (head % INDEX_EVERY === 0) offsets.push(offset)
        head++
      })
      if (valid < size) {
        await fh.truncate(valid)
        await fh.datasync()
      }
      return new FileEventLog(fh, options.fsync ?? true, head, valid, offsets, size - valid)
    } catch (err) {
      await fh.close()
      throw err
    }
  }

  get head(): number { return this.#head }

  append(click: Click): Promise<number> {
    if (this.#closed) return Promise.reject(new LogClosedError())
    if (this.#failed) return Promise.reject(this.#failed)
    const payload = encodeClick(click)
    const bytes = Buffer.allocUnsafe(RECORD_HEADER + payload.length)
    bytes.writeUInt32LE(payload.length, 0)
    bytes.writeUInt32LE(crc32(payload), 4)
    bytes.set(payload, RECORD_HEADER)
    return new Promise((resolve, reject) => {
      this.#pending.push({ bytes, click, resolve, reject })
      this.#writing ??= this.#flush()
    })
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending
      this.#pending = []
      const buf = batch.length === 1 ? batch[0]!.bytes : Buffer.concat(batch.map((p) => p.bytes))
      try {
        if (this.#failed) throw this.#failed
        let done = 0
        while (done < buf.length) {
          const { bytesWritten } = await this.#fh.write(buf, done, buf.length - done, this.#bytes + done)
          done += bytesWritten
        }
        if (this.#fsync) await this.#fh.datasync()
      } catch (err) {
        this.#failed ??= new LogFailedError(`click log write failed: ${err instanceof Error ? err.message : String(err)}`)
        for (const p of batch) p.reject(this.#failed)
        continue
      }
      for (const p of batch) {
        if (this.#head % INDEX_EVERY === 0) this.#offsets.push(this.#bytes)
        const position = ++this.#head
        this.#bytes += p.bytes.length
        const entry: LogEntry = { position, click: p.click }
        for (const sub of this.#subs) deliver(sub, entry)
        p.resolve(position)
      }
    }
    this.#writing = undefined
  }

  subscribe(from: number, handler: LogHandler): LogSubscription {
    const sub = new Subscriber(handler, (s) => this.#subs.delete(s))
    const start = Math.max(1, from)
    const replay = async (): Promise<void> => {
      const k = Math.floor((start - 1) / INDEX_EVERY)
      let position = k * INDEX_EVERY
      let offset = this.#offsets[k] ?? this.#bytes
      // Read committed bytes until caught up; the check and the switch to live delivery
      // happen in one synchronous step, so no append can slip between them.
      while (sub.open && position < this.#head) {
        const end = this.#bytes
        offset = await scan(this.#fh, offset, end, true, (click) => {
          position++
          if (click !== undefined && position >= start && sub.open) handler({ position, click })
        })
        if (offset < end) throw new LogFailedError(`click log corrupt at byte ${offset}`)
      }
      if (sub.open) this.#subs.add(sub)
    }
    const caughtUp = replay().catch((err: unknown) => {
      sub.end(err)
      throw err
    })
    return sub.view(caughtUp)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#writing
    for (const sub of this.#subs) sub.end()
    await this.#fh.close()
  }
}

function deliver(sub: Subscriber, entry: LogEntry): void {
  try {
    sub.handler(entry)
  } catch (err) {
    sub.end(err)
  }
}

/**
 * Reads records in [from, end), calling `each` per valid record; returns the offset after
 * the last valid one (less than `end` when a torn or corrupt record stops the scan).
 * Without `decode` only framing and checksums are checked (opening a log needs no more),
 * and `each` gets undefined.
 */
async function scan(
  fh: FileHandle, from: number, end: number, decode: boolean,
  each: (click: Click | undefined, offset: number) => void,
): Promise<number> {
  const chunk = Buffer.allocUnsafe(READ_CHUNK)
  let offset = from
  let carry = Buffer.alloc(0)
  let carryAt = from
  while (carryAt + carry.length < end) {
    const want = Math.min(READ_CHUNK, end - carryAt - carry.length)
    const { bytesRead } = await fh.read(chunk, 0, want, carryAt + carry.length)
    if (bytesRead === 0) break
    const buf = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)])
    let p = 0
    while (p + RECORD_HEADER <= buf.length) {
      const len = buf.readUInt32LE(p)
      if (len > MAX_RECORD) return offset
      if (p + RECORD_HEADER + len > buf.length) break
      const payload = buf.subarray(p + RECORD_HEADER, p + RECORD_HEADER + len)
      if (crc32(payload) !== buf.readUInt32LE(p + 4)) return offset
      let click: Click | undefined
      if (decode) {
        try {
          click = decodeClick(payload)
        } catch {
          return offset
        }
      }
      each(click, offset)
      p += RECORD_HEADER + len
      offset += RECORD_HEADER + len
    }
    carry = Buffer.from(buf.subarray(p))
    carryAt = offset
  }
  return offset
}
