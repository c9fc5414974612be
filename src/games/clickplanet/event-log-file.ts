import { constants } from 'node:fs'
import { copyFile, link, open, rename, rm, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  LogClosedError, LogFailedError, LogTrimmedError, LogUnusableError,
  type EventLog, type LogEntry, type LogHandler, type LogSubscription,
} from './event-log.js'
import {
  HEADER_SIZE, PositionIndex, RECORD_HEADER,
  convertLegacy, decodeHeader, encodeHeader, encodeRecords, findRecord, forEachRecord, hasHeaderMagic,
  newLogId, scanLegacyLog, scanLog,
  type LogHeader, type LogScan,
} from './event-log-file-format.js'
import { planRecovery, type RecoveryNote, type SnapshotRef } from './event-log-recovery.js'
import { Subscriber } from './log-subscriber.js'
import { decodeClick, encodeClick, type Click } from './messages.js'

/** Bytes written and synced past the end, then cut, to prove the log can write again. */
const PROBE_BYTES = 64 * 1024
const COPY_CHUNK = 1 << 20

export interface FileEventLogOptions {
  /**
   * fdatasync each group of appends before acknowledging them (default true). Without it a
   * click survives the process being killed (it is in the page cache) but not a power cut.
   */
  readonly fsync?: boolean
  /** The snapshot this start would restore, to judge the file against (see event-log-recovery.ts). */
  readonly snapshot?: SnapshotRef | undefined
  /** Why no snapshot can be used although one exists (unreadable, of another map). */
  readonly snapshotProblem?: string | undefined
  /** Told the reason when appends start failing, and undefined when they work again. */
  readonly onHealth?: (problem: string | undefined) => void
  /** First delay before retrying after a write failure (default 50 ms), doubled up to… */
  readonly retryFirstMs?: number
  /** …this (default 2 s). */
  readonly retryMaxMs?: number
}

/** What opening the file found and did. */
export interface LogRecovery {
  /** The snapshot given is of this log's history: restore it, then replay after it. */
  readonly useSnapshot: boolean
  /** What was found and done, for the operator's log. */
  readonly notes: readonly RecoveryNote[]
}

interface Pending {
  readonly payload: Uint8Array
  readonly click: Click
  readonly resolve: (position: number) => void
  readonly reject: (err: Error) => void
}

/**
 * Append-only file of checksummed `Click` records that name their positions, behind a
 * header with the log's identity and first position (layout: event-log-file-format.ts).
 *
 * Appends are group-committed: the clicks queued while a write is in flight go out in the
 * next single write (+ fdatasync), so durability costs one sync per batch, not per click.
 * Opening judges the file against the snapshot the start would use (event-log-recovery.ts):
 * it cuts a torn tail, repairs what the snapshot proves, migrates a version 1 file, and
 * refuses (`LogUnusableError`) what only an operator can decide.
 *
 * A write that fails (a full disk, an I/O error) fails its batch and every append after it
 * (`LogFailedError`) while the log retries with backoff: it truncates the file back to the
 * last acknowledged byte, writes and syncs a probe past it, and accepts appends again once
 * both worked. The descriptor is kept: reopening the file would not clear a write error.
 *
 * `compact(position)` drops what a durable snapshot holds: the records after `position` are
 * copied to a new file whose header says it starts there, which replaces this one.
 */
export class FileEventLog implements EventLog {
  readonly id: string
  readonly recovery: LogRecovery
  readonly #path: string
  readonly #fsync: boolean
  readonly #onHealth: ((problem: string | undefined) => void) | undefined
  readonly #retryFirstMs: number
  readonly #retryMaxMs: number
  readonly #subs = new Set<Subscriber>()
  #header: LogHeader
  #fh: FileHandle
  #index: PositionIndex
  #head: number
  #bytes: number
  #pending: Pending[] = []
  #writing: Promise<void> | undefined
  /** The batch being written now. */
  #inFlight: Promise<void> | undefined
  /** While set, no batch starts: a compaction is swapping the file. */
  #hold: Promise<void> | undefined
  /** The compaction running, if any. */
  #compaction: Promise<number> | undefined
  /** Subscriptions reading the file (a compaction waits until there are none). */
  #replays = 0
  #failed: LogFailedError | undefined
  #retry: NodeJS.Timeout | undefined
  #retryMs: number
  #recovering: Promise<void> | undefined
  #failures = 0
  #closed = false

  private constructor(path: string, fh: FileHandle, header: LogHeader, scan: LogScan, options: FileEventLogOptions, recovery: LogRecovery) {
    this.#path = path
    this.#fh = fh
    this.id = header.id
    this.#header = header
    this.#head = scan.head
    this.#bytes = scan.validEnd
    this.#index = scan.index
    this.#fsync = options.fsync ?? true
    this.#onHealth = options.onHealth
    this.#retryFirstMs = options.retryFirstMs ?? 50
    this.#retryMaxMs = options.retryMaxMs ?? 2000
    this.#retryMs = this.#retryFirstMs
    this.recovery = recovery
  }

  /**
   * Opens (creating, migrating or repairing) the log at `path`.
   * @throws LogUnusableError when the file holds what only an operator can decide about.
   */
  static async open(path: string, options: FileEventLogOptions = {}): Promise<FileEventLog> {
    // A rewrite a crash interrupted: the live file was never touched.
    await rm(`${path}.tmp`, { force: true })
    let fh = await openIfExists(path)
    if (fh === undefined || (await fh.stat()).size === 0) {
      await fh?.close()
      return FileEventLog.#create(path, options)
    }
    try {
      const { size } = await fh.stat()
      const start = Buffer.alloc(HEADER_SIZE)
      await fh.read(start, 0, HEADER_SIZE, 0)
      const legacy = !hasHeaderMagic(start)
      let header: LogHeader
      try {
        header = legacy ? { id: newLogId(), base: 0, parent: undefined, legacy: true } : decodeHeader(start)
      } catch (err) {
        throw new LogUnusableError(`${path} has a damaged header at byte 0 (${(err as Error).message}). ${wayOut(path, options.snapshot)}`)
      }
      let scan = legacy ? await scanLegacyLog(fh, size) : await scanLog(fh, size, header.base)
      if (legacy && scan.head === 0 && scan.damage.length > 0) {
        throw new LogUnusableError(`${path} is not a click log: it has neither a header nor a record at byte 0. ${wayOut(path, options.snapshot)}`)
      }
      const asidePath = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`
      const plan = planRecovery({ path, header, legacy, scan, snapshot: options.snapshot, snapshotProblem: options.snapshotProblem, asidePath })
      if (plan.kind === 'refuse') throw new LogUnusableError(plan.message)
      if (plan.rewrite !== undefined) {
        header = { ...header, base: plan.rewrite.base }
        const rewritten = await rewrite(fh, path, header, legacy, scan, plan.rewrite.keepAside ? asidePath : undefined)
        await fh.close()
        fh = rewritten
        scan = await scanLog(fh, (await fh.stat()).size, header.base)
      } else if (plan.cutAt !== undefined) {
        await fh.truncate(plan.cutAt)
        await fh.datasync()
      }
      return new FileEventLog(path, fh, header, scan, options, { useSnapshot: plan.useSnapshot, notes: plan.notes })
    } catch (err) {
      await fh.close()
      throw err
    }
  }

  /** A new file; with a snapshot, it continues that snapshot's history after its position. */
  static async #create(path: string, options: FileEventLogOptions): Promise<FileEventLog> {
    const s = options.snapshot
    const header: LogHeader = {
      id: newLogId(),
      base: s?.position ?? 0,
      parent: s !== undefined && s.logId !== '' ? s.logId : undefined,
      legacy: s?.logId === '',
    }
    const fh = await replaceFile(path, async (out) => writeAll(out, encodeHeader(header), 0))
    const notes: RecoveryNote[] = s === undefined
      ? [{ level: 'info', msg: `created ${path} (log ${header.id})` }]
      : [{ level: 'warn', msg: `no click log at ${path}: a new log (${header.id}) continues from the snapshot at ${s.position}; clicks after it that a missing log held are lost` }]
    const empty: LogScan = { base: header.base, head: header.base, validEnd: HEADER_SIZE, index: new PositionIndex(), damage: [] }
    return new FileEventLog(path, fh, header, empty, options, { useSnapshot: s !== undefined, notes })
  }

  get head(): number { return this.#head }
  /** Positions up to this one are not in the file (a snapshot holds them). */
  get base(): number { return this.#header.base }
  /** The file's size in bytes. */
  get bytes(): number { return this.#bytes }
  /** Writes that failed since the log was opened. */
  get failures(): number { return this.#failures }

  append(click: Click): Promise<number> {
    if (this.#closed) return Promise.reject(new LogClosedError())
    if (this.#failed) return Promise.reject(this.#failed)
    const payload = encodeClick(click)
    return new Promise((resolve, reject) => {
      this.#pending.push({ payload, click, resolve, reject })
      this.#writing ??= this.#flush()
    })
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      if (this.#hold !== undefined) await this.#hold
      const batch = this.#pending
      this.#pending = []
      if (this.#failed) {
        for (const p of batch) p.reject(this.#failed)
        continue
      }
      // Positions are given as the batch is written: a failed batch uses none.
      const bytes = encodeRecords(this.#head + 1, batch.map((p) => p.payload))
      const write = this.#write(bytes)
      this.#inFlight = write
      try {
        await write
      } catch (err) {
        this.#fail(err)
        for (const p of batch) p.reject(this.#failed!)
        continue
      } finally {
        this.#inFlight = undefined
      }
      for (const p of batch) {
        const position = ++this.#head
        this.#index.add(position, this.#bytes)
        this.#bytes += RECORD_HEADER + p.payload.length
        const entry: LogEntry = { position, click: p.click }
        for (const sub of this.#subs) deliver(sub, entry)
        p.resolve(position)
      }
    }
    this.#writing = undefined
  }

  async #write(bytes: Buffer): Promise<void> {
    await writeAll(this.#fh, bytes, this.#bytes)
    if (this.#fsync) await this.#fh.datasync()
  }

  #fail(err: unknown): void {
    this.#failures++
    this.#setProblem(err)
    this.#scheduleRetry()
  }

  /** The reason goes to clicks (503) and `/readyz`: the error, never the file's path. */
  #setProblem(err: unknown): void {
    const reason = `click log write failed: ${err instanceof Error ? err.message : String(err)}`
    if (this.#failed?.message.startsWith(reason)) return
    this.#failed = new LogFailedError(`${reason}; clicks are refused until it writes again`)
    this.#onHealth?.(reason)
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry !== undefined) return
    this.#retry = setTimeout(() => { this.#recovering = this.#recover() }, this.#retryMs)
    this.#retry.unref()
    this.#retryMs = Math.min(this.#retryMs * 2, this.#retryMaxMs)
  }

  /** Makes the tail certain again (cut back to the last acknowledged byte) and proves the file writable. */
  async #recover(): Promise<void> {
    this.#retry = undefined
    if (this.#closed) return
    if (this.#compaction !== undefined) {
      this.#scheduleRetry()
      return
    }
    try {
      await this.#fh.truncate(this.#bytes)
      await writeAll(this.#fh, Buffer.alloc(PROBE_BYTES), this.#bytes)
      await this.#fh.datasync()
      await this.#fh.truncate(this.#bytes)
      await this.#fh.datasync()
    } catch (err) {
      if (this.#closed) return
      this.#setProblem(err)
      this.#scheduleRetry()
      return
    }
    this.#failed = undefined
    this.#retryMs = this.#retryFirstMs
    this.#onHealth?.(undefined)
  }

  subscribe(from: number, handler: LogHandler): LogSubscription {
    const sub = new Subscriber(handler, (s) => this.#subs.delete(s))
    const start = Math.max(1, from)
    this.#replays++
    const replay = async (): Promise<void> => {
      await this.#compaction // it may swap the file under a reader
      if (start <= this.base) throw new LogTrimmedError(from, this.base + 1)
      const anchor = this.#index.before(start)
      let last = anchor === undefined ? this.base : anchor.position - 1
      let offset = anchor?.offset ?? HEADER_SIZE
      // Read committed bytes until caught up; the check and the switch to live delivery
      // happen in one synchronous step, so no append can slip between them.
      while (sub.open && last < this.#head) {
        const end = this.#bytes
        const stopped = await forEachRecord(this.#fh, offset, end, (position, payload) => {
          last = position
          if (position >= start && sub.open) handler({ position, click: decodeClick(payload) })
        })
        if (stopped < end) throw new LogFailedError(`${this.#path} is corrupt at byte ${stopped}`)
        offset = end
      }
      if (sub.open) this.#subs.add(sub)
    }
    const caughtUp = replay()
      .catch((err: unknown) => {
        sub.end(err)
        throw err
      })
      .finally(() => { this.#replays-- })
    return sub.view(caughtUp)
  }

  /**
   * Drops the records up to `position`, which a snapshot that survives a crash holds, when
   * they take at least `minBytes`: the records after it go to a new file whose header starts
   * at `position`, which replaces this one (same id, same history). Appends go on during the
   * copy and wait only while the last records are copied and the file is swapped. Resolves
   * with the bytes dropped; 0 when nothing was done (too little to drop, a write failing, a
   * subscription replaying, another compaction). Rejects when the new file could not be
   * written; this one is then untouched.
   */
  compact(position: number, minBytes = 0): Promise<number> {
    if (this.#closed || this.#failed || this.#compaction !== undefined || this.#replays > 0) return Promise.resolve(0)
    if (position <= this.base || position > this.#head) return Promise.resolve(0)
    const run = this.#compact(position, minBytes).finally(() => { this.#compaction = undefined })
    this.#compaction = run.catch(() => 0)
    return run
  }

  async #compact(position: number, minBytes: number): Promise<number> {
    let release = (): void => {}
    try {
      const from = position === this.#head ? this.#bytes : await this.#offsetOf(position + 1)
      if (from - HEADER_SIZE < minBytes) return 0
      const header: LogHeader = { ...this.#header, base: position, parent: undefined }
      const shift = HEADER_SIZE - from
      const fresh = await replaceFile(this.#path, async (out) => {
        await writeAll(out, encodeHeader(header), 0)
        const early = this.#bytes
        await copyRange(this.#fh, from, early, out, HEADER_SIZE)
        await out.sync() // the bulk of it, before appends wait
        // The rest with appends held, until the new file is in place.
        this.#hold = new Promise((resolve) => { release = resolve })
        await this.#inFlight?.catch(() => {})
        if (this.#failed) throw this.#failed
        await copyRange(this.#fh, early, this.#bytes, out, early + shift)
      })
      const old = this.#fh
      this.#fh = fresh
      this.#header = header
      this.#index.rebase(position, shift)
      this.#bytes += shift
      await old.close().catch(() => {})
      return from - HEADER_SIZE
    } finally {
      this.#hold = undefined
      release()
    }
  }

  async #offsetOf(position: number): Promise<number> {
    const anchor = this.#index.before(position)
    const found = await findRecord(this.#fh, anchor?.offset ?? HEADER_SIZE, this.#bytes, position)
    if (found === undefined) throw new Error(`${this.#path}: record ${position} not found`)
    return found
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#retry)
    await this.#recovering
    await this.#compaction
    await this.#writing
    for (const sub of this.#subs) sub.end()
    await this.#fh.close()
  }
}

function wayOut(path: string, snapshot: SnapshotRef | undefined): string {
  return `Nothing was changed. Restore ${path} from a backup, or move it aside to start from ${snapshot ? `the snapshot at ${snapshot.position}` : 'an empty map'}.`
}

function deliver(sub: Subscriber, entry: LogEntry): void {
  try {
    sub.handler(entry)
  } catch (err) {
    sub.end(err)
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Writes all of `buf` at `position`: a short write is continued, a write of nothing is an error. */
async function writeAll(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done)
    if (bytesWritten === 0) throw new Error(`wrote 0 of ${buf.length - done} bytes`)
    done += bytesWritten
  }
}

/**
 * Replaces `path` whole and returns the new file, open for reading and writing: `fill`
 * writes `<path>.tmp`, which is synced, then (after `before`, if given) renamed over `path`,
 * then the directory is synced. A failure before the rename removes the temp file and
 * leaves `path` as it was; once renamed, nothing fails.
 */
async function replaceFile(path: string, fill: (out: FileHandle) => Promise<void>, before?: () => Promise<void>): Promise<FileHandle> {
  const tmp = `${path}.tmp`
  const out = await open(tmp, 'wx+')
  try {
    await fill(out)
    await out.sync()
    await before?.()
    await rename(tmp, path)
  } catch (err) {
    await out.close().catch(() => {})
    await rm(tmp, { force: true })
    throw err
  }
  await syncDir(dirname(path))
  return out
}

/**
 * Rewrites the file at `path` with `header`: the intact records after `header.base`, in
 * order (a version 1 file's converted). With `aside`, the old file is kept there first.
 */
async function rewrite(fh: FileHandle, path: string, header: LogHeader, legacy: boolean, scan: LogScan, aside: string | undefined): Promise<FileHandle> {
  return replaceFile(path, async (out) => {
    let at = 0
    const write = async (bytes: Buffer): Promise<void> => {
      await writeAll(out, bytes, at)
      at += bytes.length
    }
    await write(encodeHeader(header))
    if (legacy) {
      await convertLegacy(fh, scan.validEnd, header.base, write)
      return
    }
    if (scan.head <= header.base) return
    const from = await offsetOf(fh, scan, header.base + 1)
    await copyRange(fh, from, scan.validEnd, out, at)
  }, aside === undefined ? undefined : () => keepCopy(path, aside))
}

/** Offset of an intact record, from the nearest point the scan knows before it. */
async function offsetOf(fh: FileHandle, scan: LogScan, position: number): Promise<number> {
  // Anchors: indexed positions (before any damage), and the first record after each damage.
  const anchor = scan.index.before(position)
  let from = anchor?.offset ?? HEADER_SIZE
  let at = anchor?.position ?? scan.base + 1
  for (const d of scan.damage) {
    if (!d.tail && d.next !== undefined && d.next <= position && d.next > at) {
      from = d.end
      at = d.next
    }
  }
  const found = await findRecord(fh, from, scan.validEnd, position)
  if (found === undefined) throw new Error(`record ${position} not found`)
  return found
}

/** Copies bytes [from, end) of `src` to `dst` at `at`, a megabyte at a time. */
async function copyRange(src: FileHandle, from: number, end: number, dst: FileHandle, at: number): Promise<void> {
  const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(0, end - from)))
  for (let o = from; o < end;) {
    const { bytesRead } = await src.read(chunk, 0, Math.min(chunk.length, end - o), o)
    if (bytesRead === 0) throw new Error(`the file ended at byte ${o} while being copied`)
    await writeAll(dst, chunk.subarray(0, bytesRead), at + o - from)
    o += bytesRead
  }
}

/** A hard link to `path` at `aside` (a copy where links are not supported). */
async function keepCopy(path: string, aside: string): Promise<void> {
  try {
    await link(path, aside)
  } catch {
    await copyFile(path, aside, constants.COPYFILE_EXCL)
  }
}

/** Makes a rename durable where the filesystem allows (some refuse fsync on a directory). */
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r').catch(() => undefined)
  await d?.sync().catch(() => {})
  await d?.close().catch(() => {})
}
