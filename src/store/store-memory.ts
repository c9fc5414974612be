import { createHash } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { checkSnapshotArgs, type RoomRecord, type Store, type StoredSnapshot } from './store.js'

export interface MemoryStoreOptions {
  /** The clock, in ms (tests move it). */
  readonly now?: () => number
  /**
   * Keep snapshots on disk in this directory (under `snapshots/`) so they survive restarts;
   * unset, they live in memory with everything else.
   */
  readonly dataDir?: string
}

/**
 * The embedded default: everything in this process's memory, except snapshots when a data
 * directory is given.
 */
export class MemoryStore implements Store {
  #owners = new Map<string, string>()
  /** code → time (ms) when its cooldown ends. */
  #cooling = new Map<string, number>()
  #records = new Map<string, RoomRecord>()
  #snapshots = new Map<string, StoredSnapshot>()
  /** Per snapshot name, the last write queued: writes of one name run in call order. */
  #writes = new Map<string, Promise<void>>()
  /** Names whose stale temp files (from a process that died mid-save) were removed. */
  readonly #swept = new Set<string>()
  #now: () => number
  readonly #snapshotDir: string | undefined

  /** `new MemoryStore()`, `new MemoryStore({ dataDir })`, or `new MemoryStore(clock)`. */
  constructor(opts: MemoryStoreOptions | (() => number) = {}) {
    const o = typeof opts === 'function' ? { now: opts } : opts
    this.#now = o.now ?? Date.now
    this.#snapshotDir = o.dataDir === undefined || o.dataDir === '' ? undefined : join(o.dataDir, 'snapshots')
  }

  /** With a data directory, snapshots are files that survive a crash. */
  get durableSnapshots(): boolean { return this.#snapshotDir !== undefined }

  async reserveCode(code: string, node: string): Promise<boolean> {
    if (this.#owners.has(code)) return false
    const until = this.#cooling.get(code)
    if (until !== undefined) {
      if (until > this.#now()) return false
      this.#cooling.delete(code)
    }
    this.#owners.set(code, node)
    return true
  }

  async lookupCode(code: string): Promise<string | undefined> {
    return this.#owners.get(code)
  }

  async releaseCode(code: string, cooldownMs: number): Promise<void> {
    if (!this.#owners.delete(code)) return
    if (cooldownMs > 0) this.#cooling.set(code, this.#now() + cooldownMs)
    this.#sweep()
  }

  async saveRoom(record: RoomRecord): Promise<void> {
    this.#records.set(record.key, structuredClone(record))
  }

  async loadRoom(code: string): Promise<RoomRecord | undefined> {
    const r = this.#records.get(code)
    return r && structuredClone(r)
  }

  async deleteRoom(code: string): Promise<void> {
    this.#records.delete(code)
  }

  saveSnapshot(name: string, snapshot: StoredSnapshot): Promise<void> {
    try {
      checkSnapshotArgs(name, snapshot.position)
    } catch (err) {
      return Promise.reject(err)
    }
    // Copy now: the caller may reuse its array as soon as this returns.
    const copy: StoredSnapshot = { position: snapshot.position, bytes: Uint8Array.prototype.slice.call(snapshot.bytes) }
    const dir = this.#snapshotDir
    const swept = this.#swept
    const write = dir === undefined
      ? async () => { this.#snapshots.set(name, copy) }
      : async () => {
        if (!swept.has(name)) {
          swept.add(name)
          await removeStaleTemps(dir, name)
        }
        await writeSnapshotFile(dir, name, copy)
      }
    const previous = this.#writes.get(name) ?? Promise.resolve()
    const next = previous.then(write, write)
    this.#writes.set(name, next)
    const forget = (): void => { if (this.#writes.get(name) === next) this.#writes.delete(name) }
    next.then(forget, forget)
    return next
  }

  async loadSnapshot(name: string): Promise<StoredSnapshot | undefined> {
    checkSnapshotArgs(name)
    // A load sees every save called before it.
    await this.#writes.get(name)?.catch(() => {})
    if (this.#snapshotDir === undefined) {
      const s = this.#snapshots.get(name)
      return s && { position: s.position, bytes: s.bytes.slice() }
    }
    return readSnapshotFile(this.#snapshotDir, name)
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#writes.values()])
  }

  /** Forget expired cooldowns so the map stays as small as the recent churn. */
  #sweep(): void {
    if (this.#cooling.size < 1024) return
    const now = this.#now()
    for (const [code, until] of this.#cooling) if (until <= now) this.#cooling.delete(code)
  }
}

/*
 * Snapshot file `<dir>/<name>.snap`, little-endian: "PLSS", u32 version 1, f64 position,
 * u32 byte length, 32-byte SHA-256 of the bytes, then the bytes.
 */
const MAGIC = 'PLSS'
const HEADER = 4 + 4 + 8 + 4 + 32
let tmpSeq = 0

/**
 * Written to a temp file whose every write is checked for its length, fsync'd, closed, and
 * only then renamed over the old one (then the directory is fsync'd). Any failure removes
 * the temp file and leaves the previous snapshot as it was.
 */
async function writeSnapshotFile(dir: string, name: string, s: StoredSnapshot): Promise<void> {
  await mkdir(dir, { recursive: true })
  const header = Buffer.alloc(HEADER)
  header.write(MAGIC, 0, 'latin1')
  header.writeUInt32LE(1, 4)
  header.writeDoubleLE(s.position, 8)
  header.writeUInt32LE(s.bytes.length, 16)
  createHash('sha256').update(s.bytes).digest().copy(header, 20)
  const path = join(dir, `${name}.snap`)
  const tmp = `${path}.${process.pid}.${++tmpSeq}.tmp`
  const fh = await open(tmp, 'wx')
  try {
    await writeAll(fh, header, 0)
    await writeAll(fh, s.bytes, HEADER)
    await fh.sync()
  } catch (err) {
    await fh.close().catch(() => {})
    await rm(tmp, { force: true })
    throw err
  }
  try {
    await fh.close()
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  const d = await open(dir, 'r')
  try { await d.sync() } catch { /* some filesystems refuse fsync on a directory */ } finally { await d.close() }
}

/** All of `bytes` at `position`: a short write is continued, one that writes nothing fails. */
async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, position + done)
    if (bytesWritten === 0) throw new Error(`snapshot write stopped short: ${done} of ${bytes.length} bytes`)
    done += bytesWritten
  }
}

/** Temp files of `name` left by a process that died while saving (never the live file). */
async function removeStaleTemps(dir: string, name: string): Promise<void> {
  let files: string[]
  try {
    files = await readdir(dir)
  } catch {
    return
  }
  const prefix = `${name}.snap.`
  await Promise.all(files.filter((f) => f.startsWith(prefix) && f.endsWith('.tmp')).map((f) => rm(join(dir, f), { force: true })))
}

async function readSnapshotFile(dir: string, name: string): Promise<StoredSnapshot | undefined> {
  let buf: Buffer
  try {
    buf = await readFile(join(dir, `${name}.snap`))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  if (buf.length < HEADER || buf.toString('latin1', 0, 4) !== MAGIC || buf.readUInt32LE(4) !== 1) {
    throw new Error(`snapshot ${name}: not a snapshot file`)
  }
  const bytes = buf.subarray(HEADER)
  if (bytes.length !== buf.readUInt32LE(16)) throw new Error(`snapshot ${name}: size mismatch`)
  if (!createHash('sha256').update(bytes).digest().equals(buf.subarray(20, HEADER))) {
    throw new Error(`snapshot ${name}: checksum mismatch`)
  }
  return { position: buf.readDoubleLE(8), bytes: new Uint8Array(bytes) }
}
