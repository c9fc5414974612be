import { createHash } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import {
  checkSnapshotArgs,
  DEFAULT_ORPHAN_COOLDOWN_MS,
  DEFAULT_ORPHAN_TTL_MS,
  OwnershipLost,
  patchRecord,
  byNode,
  type ExpiryOptions,
  type LapsedNode,
  type NodeList,
  type Ownership,
  type RoomPatch,
  type RoomRecord,
  type Store,
  type StoredSnapshot,
  type SnapshotWriter,
  type NewerSnapshotResult,
} from './store.js'

export interface MemoryStoreOptions extends ExpiryOptions {
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
 * directory is given. Nodes that share one instance (tests) form a cluster in one process.
 */
export class MemoryStore implements Store {
  /** The directory: code → ownership. */
  #entries = new Map<string, Ownership>()
  /** node → the codes whose entry named it (may hold codes since moved; checked on read). */
  #byNode = new Map<string, Set<string>>()
  /** node → time (ms) its lease runs out. */
  #leases = new Map<string, number>()
  #epoch = 0
  /** code → time (ms) when its cooldown ends. */
  #cooling = new Map<string, number>()
  #records = new Map<string, RoomRecord>()
  #snapshots = new Map<string, StoredSnapshot>()
  /** Snapshot writers by name, with the time (this store's clock) their role ends. */
  readonly #writers = new Map<string, { writer: SnapshotWriter; until: number }>()
  /** Per snapshot name, the last write queued: writes of one name run in call order. */
  #writes = new Map<string, Promise<unknown>>()
  /** Names whose stale temp files (from a process that died mid-save) were removed. */
  readonly #swept = new Set<string>()
  #now: () => number
  readonly #orphanTtlMs: number
  readonly #orphanCooldownMs: number
  readonly #snapshotDir: string | undefined

  /** `new MemoryStore()`, `new MemoryStore({ dataDir })`, or `new MemoryStore(clock)`. */
  constructor(opts: MemoryStoreOptions | (() => number) = {}) {
    const o = typeof opts === 'function' ? { now: opts } : opts
    this.#now = o.now ?? Date.now
    this.#orphanTtlMs = o.orphanTtlMs ?? DEFAULT_ORPHAN_TTL_MS
    this.#orphanCooldownMs = o.orphanCooldownMs ?? DEFAULT_ORPHAN_COOLDOWN_MS
    this.#snapshotDir = o.dataDir === undefined || o.dataDir === '' ? undefined : join(o.dataDir, 'snapshots')
  }

  /** With a data directory, snapshots are files that survive a crash. */
  get durableSnapshots(): boolean { return this.#snapshotDir !== undefined }

  async reserveCode(code: string, node: string): Promise<boolean> {
    return (await this.claimCode(code, node)) !== undefined
  }

  async claimCode(code: string, node: string): Promise<Ownership | undefined> {
    if (this.#entry(code) !== undefined || this.#isCooling(code)) return undefined
    const own = { node, epoch: ++this.#epoch }
    this.#setEntry(code, own)
    return { ...own }
  }

  async lookupCode(code: string): Promise<string | undefined> {
    return this.#entry(code)?.node
  }

  async owner(code: string): Promise<Ownership | undefined> {
    const e = this.#entry(code)
    return e && { ...e }
  }

  async releaseCode(code: string, cooldownMs: number): Promise<void> {
    if (this.#entry(code) === undefined) return
    this.#release(code, this.#now() + cooldownMs)
    this.#sweep()
  }

  async releaseRoom(code: string, fence: Ownership, cooldownMs: number): Promise<void> {
    this.#fence(code, fence)
    this.#release(code, this.#now() + cooldownMs)
    this.#records.delete(code)
    this.#sweep()
  }

  async saveRoom(record: RoomRecord, fence?: Ownership): Promise<void> {
    if (fence) this.#fence(record.key, fence)
    this.#records.set(record.key, structuredClone(record))
  }

  async updateRoom(code: string, patch: RoomPatch, fence?: Ownership): Promise<void> {
    if (fence) this.#fence(code, fence)
    const r = this.#records.get(code)
    if (r === undefined) throw new Error(`room ${code} has no record to update`)
    this.#records.set(code, structuredClone(patchRecord(r, patch)))
  }

  async loadRoom(code: string): Promise<RoomRecord | undefined> {
    this.#entry(code) // an expired orphan's record goes with its entry
    const r = this.#records.get(code)
    return r && structuredClone(r)
  }

  async deleteRoom(code: string): Promise<void> {
    this.#records.delete(code)
  }

  async restoreRoom(record: RoomRecord, fence: Ownership): Promise<void> {
    const code = record.key
    const current = this.#entry(code)
    if (current === undefined) {
      if (this.#isCooling(code)) throw new OwnershipLost(code, fence, undefined)
      this.#setEntry(code, { ...fence })
      this.#epoch = Math.max(this.#epoch, fence.epoch)
    } else {
      this.#fence(code, fence)
    }
    this.#records.set(code, structuredClone(record))
  }

  async adoptRoom(code: string, expected: Ownership, node: string): Promise<Ownership | undefined> {
    const cur = this.#entry(code)
    if (cur === undefined || cur.node !== expected.node || cur.epoch !== expected.epoch) return undefined
    const own = { node, epoch: ++this.#epoch }
    this.#setEntry(code, own)
    const r = this.#records.get(code)
    if (r) this.#records.set(code, { ...r, node })
    return { ...own }
  }

  async roomsOf(node: string): Promise<string[]> {
    const out: string[] = []
    for (const code of this.#byNode.get(node) ?? []) if (this.#entry(code)?.node === node) out.push(code)
    return out.sort()
  }

  async renewLease(node: string, ttlMs: number): Promise<void> {
    // A node back after its rooms expired does not get them back.
    this.#expireNode(node)
    this.#leases.set(node, this.#now() + ttlMs)
  }

  async dropLease(node: string): Promise<void> {
    if (this.#leases.has(node)) this.#leases.set(node, Math.min(this.#leases.get(node)!, this.#now()))
  }

  async nodes(): Promise<NodeList> {
    const now = this.#now()
    const live: string[] = []
    const lapsed: LapsedNode[] = []
    for (const [node, lease] of [...this.#leases]) {
      if (this.#expireNode(node)) continue
      if (lease > now) live.push(node)
      else lapsed.push({ node, forMs: now - lease })
    }
    return { live: live.sort(), lapsed: lapsed.sort(byNode) }
  }

  /** The live entry of `code`; an orphan past its time is expired here, on the way. */
  #entry(code: string): Ownership | undefined {
    const e = this.#entries.get(code)
    if (e === undefined) return undefined
    const lease = this.#leases.get(e.node)
    if (lease === undefined || lease + this.#orphanTtlMs > this.#now()) return e
    this.#release(code, lease + this.#orphanTtlMs + this.#orphanCooldownMs)
    this.#records.delete(code)
    return undefined
  }

  /** If `node`'s lease ran out more than the orphan TTL ago: expire its rooms, forget it. */
  #expireNode(node: string): boolean {
    const lease = this.#leases.get(node)
    if (lease === undefined || lease + this.#orphanTtlMs > this.#now()) return false
    for (const code of this.#byNode.get(node) ?? []) this.#entry(code)
    this.#byNode.delete(node)
    this.#leases.delete(node)
    return true
  }

  #fence(code: string, fence: Ownership): void {
    const cur = this.#entry(code)
    if (cur === undefined || cur.node !== fence.node || cur.epoch !== fence.epoch) throw new OwnershipLost(code, fence, cur && { ...cur })
  }

  #setEntry(code: string, own: Ownership): void {
    this.#entries.set(code, own)
    let set = this.#byNode.get(own.node)
    if (!set) this.#byNode.set(own.node, (set = new Set()))
    set.add(code)
  }

  /** Remove `code`'s entry; it cools down until `until` (ms). */
  #release(code: string, until: number): void {
    const e = this.#entries.get(code)
    if (e === undefined) return
    this.#entries.delete(code)
    this.#byNode.get(e.node)?.delete(code)
    if (until > this.#now()) this.#cooling.set(code, until)
  }

  #isCooling(code: string): boolean {
    const until = this.#cooling.get(code)
    if (until === undefined) return false
    if (until > this.#now()) return true
    this.#cooling.delete(code)
    return false
  }

  saveSnapshot(name: string, snapshot: StoredSnapshot): Promise<void> {
    try {
      checkSnapshotArgs(name, snapshot.position)
    } catch (err) {
      return Promise.reject(err)
    }
    const write = this.#writer(name, snapshot)
    return this.#queue(name, write)
  }

  /** Writes a copy of `snapshot` (copied now: the caller may reuse its array as soon as this returns). */
  #writer(name: string, snapshot: StoredSnapshot): () => Promise<void> {
    const copy: StoredSnapshot = { position: snapshot.position, bytes: Uint8Array.prototype.slice.call(snapshot.bytes) }
    const dir = this.#snapshotDir
    const swept = this.#swept
    return dir === undefined
      ? async () => { this.#snapshots.set(name, copy) }
      : async () => {
        if (!swept.has(name)) {
          swept.add(name)
          await removeStaleTemps(dir, name)
        }
        await writeSnapshotFile(dir, name, copy)
      }
  }

  /** Runs `step` after every write of `name` queued before it (writes apply in call order). */
  #queue<T>(name: string, step: () => Promise<T>): Promise<T> {
    const previous = this.#writes.get(name) ?? Promise.resolve()
    const next = previous.then(step, step)
    this.#writes.set(name, next)
    const forget = (): void => { if (this.#writes.get(name) === next) this.#writes.delete(name) }
    next.then(forget, forget)
    return next
  }

  claimSnapshotWriter(name: string, node: string, ttlMs: number): Promise<SnapshotWriter | undefined> {
    try {
      checkSnapshotArgs(name)
    } catch (err) {
      return Promise.reject(err)
    }
    const now = this.#now()
    const held = this.#writers.get(name)
    if (held !== undefined && held.until > now && held.writer.node !== node) return Promise.resolve(undefined)
    const writer = held !== undefined && held.until > now ? held.writer : { node, epoch: (held?.writer.epoch ?? 0) + 1 }
    this.#writers.set(name, { writer, until: now + ttlMs })
    return Promise.resolve(writer)
  }

  releaseSnapshotWriter(name: string, writer: SnapshotWriter): Promise<void> {
    const held = this.#writers.get(name)
    if (held !== undefined && held.writer.node === writer.node && held.writer.epoch === writer.epoch) held.until = 0
    return Promise.resolve()
  }

  saveNewerSnapshot(name: string, snapshot: StoredSnapshot, writer: SnapshotWriter): Promise<NewerSnapshotResult> {
    try {
      checkSnapshotArgs(name, snapshot.position)
    } catch (err) {
      return Promise.reject(err)
    }
    const write = this.#writer(name, snapshot)
    // Judged and written in the queue of this name: no save can come between the two.
    return this.#queue(name, async (): Promise<NewerSnapshotResult> => {
      const held = this.#writers.get(name)
      if (held === undefined || held.until <= this.#now() || held.writer.node !== writer.node || held.writer.epoch !== writer.epoch) return 'fenced'
      const stored = this.#snapshotDir === undefined ? this.#snapshots.get(name) : await readSnapshotFile(this.#snapshotDir, name).catch(() => undefined)
      if (stored !== undefined && stored.position >= snapshot.position) return 'older'
      await write()
      return 'saved'
    })
  }

  async snapshotNames(prefix: string): Promise<string[]> {
    await Promise.allSettled([...this.#writes.values()])
    const names = this.#snapshotDir === undefined
      ? [...this.#snapshots.keys()]
      : (await readdir(this.#snapshotDir).catch(() => [] as string[])).filter((f) => f.endsWith('.snap')).map((f) => f.slice(0, -'.snap'.length))
    return names.filter((n) => n.startsWith(prefix))
  }

  deleteSnapshot(name: string): Promise<void> {
    try {
      checkSnapshotArgs(name)
    } catch (err) {
      return Promise.reject(err)
    }
    const dir = this.#snapshotDir
    return this.#queue(name, async () => {
      if (dir === undefined) this.#snapshots.delete(name)
      else await rm(join(dir, `${name}.snap`), { force: true })
    })
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
