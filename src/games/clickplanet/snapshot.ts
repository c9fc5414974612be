import type { Store } from '../../store/store.js'
import { crc32 } from './crc32.js'
import type { ProjectionState } from './projection.js'

/** A projection state plus the map and the log history it belongs to. */
export interface Snapshot extends ProjectionState {
  /** `ClickPlanetMap.checksum` of the map the tile ids refer to. */
  readonly mapChecksum: number
  /**
   * `EventLog.id` of the log whose positions `position` counts; '' for a snapshot written
   * before logs had ids (version 1) or from a log that has none.
   */
  readonly logId?: string
}

/**
 * Where snapshots of the projection live. Only the latest matters: a cold node loads it
 * and replays the log from `position + 1`.
 * - `save` replaces the latest snapshot atomically: after a crash at any moment, `load`
 *   returns either the previous snapshot or the new one, whole.
 * - `load` returns undefined when there is none, and throws when one exists but is
 *   unreadable (the caller decides whether to start from an empty projection).
 */
export interface SnapshotStore {
  /** Resolves false when it chose not to save (another node writes snapshots, or a newer one is stored). */
  save(snapshot: Snapshot): Promise<boolean | void>
  load(): Promise<Snapshot | undefined>
}

/*
 * File layout (little-endian): "CPSN", u16 version 2, u16 code count C, u32 tile count T,
 * f64 position, u32 map checksum, u32 CRC-32 of the rest, then the log id as u8 length +
 * ASCII, then C codes as u8 length + ASCII, then owners u8[T], then (aligned to 8 in the
 * file) timestamps u64[T]. Version 1 (still read) has no log id.
 */
const MAGIC = 'CPSN'
const FIXED = 28

export function encodeSnapshot(s: Snapshot): Buffer {
  const T = s.owners.length
  const strings = Buffer.concat([s.logId ?? '', ...s.codes].map((c) => Buffer.concat([Buffer.from([c.length]), Buffer.from(c, 'latin1')])))
  const timesAt = (FIXED + strings.length + T + 7) & ~7
  const buf = Buffer.alloc(timesAt + 8 * T)
  buf.write(MAGIC, 0, 'latin1')
  buf.writeUInt16LE(2, 4)
  buf.writeUInt16LE(s.codes.length, 6)
  buf.writeUInt32LE(T, 8)
  buf.writeDoubleLE(s.position, 12)
  buf.writeUInt32LE(s.mapChecksum, 20)
  strings.copy(buf, FIXED)
  buf.set(s.owners, FIXED + strings.length)
  buf.set(new Uint8Array(s.timesNs.buffer, s.timesNs.byteOffset, 8 * T), timesAt)
  buf.writeUInt32LE(crc32(buf.subarray(FIXED)), 24)
  return buf
}

export function decodeSnapshot(buf: Buffer): Snapshot {
  const version = buf.length < FIXED ? 0 : buf.readUInt16LE(4)
  if (buf.length < FIXED || buf.toString('latin1', 0, 4) !== MAGIC || (version !== 1 && version !== 2)) {
    throw new Error('not a ClickPlanet snapshot')
  }
  if (crc32(buf.subarray(FIXED)) !== buf.readUInt32LE(24)) throw new Error('snapshot checksum mismatch')
  const C = buf.readUInt16LE(6)
  const T = buf.readUInt32LE(8)
  let p = FIXED
  const string = (): string => {
    const n = buf[p] ?? 0
    const s = buf.toString('latin1', p + 1, p + 1 + n)
    p += 1 + n
    return s
  }
  const logId = version === 2 ? string() : ''
  const codes: string[] = []
  for (let i = 0; i < C; i++) codes.push(string())
  const owners = Uint8Array.prototype.slice.call(buf, p, p + T)
  const timesAt = (p + T + 7) & ~7
  if (buf.length !== timesAt + 8 * T) throw new Error('snapshot size mismatch')
  const timesNs = new BigUint64Array(T)
  new Uint8Array(timesNs.buffer).set(buf.subarray(timesAt, timesAt + 8 * T))
  return { position: buf.readDoubleLE(12), mapChecksum: buf.readUInt32LE(20), logId, codes, owners, timesNs }
}

/**
 * ClickPlanet's snapshots in the server's `Store`, under one name: the encoded snapshot as
 * the bytes, its log position beside them. The Store gives the atomic replace.
 */
export class StoreSnapshots implements SnapshotStore {
  readonly #store: Store
  readonly #name: string
  constructor(store: Store, name = 'clickplanet') {
    this.#store = store
    this.#name = name
  }

  save(snapshot: Snapshot): Promise<void> {
    return this.#store.saveSnapshot(this.#name, { position: snapshot.position, bytes: encodeSnapshot(snapshot) })
  }

  async load(): Promise<Snapshot | undefined> {
    const stored = await this.#store.loadSnapshot(this.#name)
    if (stored === undefined) return undefined
    const snapshot = decodeSnapshot(Buffer.from(stored.bytes.buffer, stored.bytes.byteOffset, stored.bytes.byteLength))
    if (snapshot.position !== stored.position) {
      throw new Error(`snapshot says position ${snapshot.position}, the store ${stored.position}`)
    }
    return snapshot
  }
}

/**
 * ClickPlanet's snapshots in a cluster: in the shared Store, one per incarnation of the
 * click stream (the name carries the stream's identity, and so does the snapshot), written
 * by one node at a time (the Store's snapshot writer, claimed at each save for `ttlMs`) and
 * only when newer than the stored one. A node that is not the writer skips its save; when
 * the writer stops saving (it died), its time runs out and another node takes over.
 *
 * Once a writer has saved the first snapshot of an incarnation, the snapshots of the same
 * stream's earlier incarnations (created before it: their histories are gone with them) are
 * deleted. A name whose incarnation cannot be read back (a stream name long enough for the
 * name to be cut) is left alone.
 */
export class ClusterSnapshots implements SnapshotStore {
  readonly #store: Store
  readonly #log: { readonly id?: string | undefined }
  readonly #node: string
  readonly #ttlMs: number
  #writer: { name: string; node: string; epoch: number } | undefined
  /** The name whose earlier incarnations were pruned (once per incarnation). */
  #prunedFor: string | undefined
  readonly #onPruned: (names: string[]) => void

  constructor(store: Store, log: { readonly id?: string | undefined }, node: string, ttlMs: number, onPruned: (names: string[]) => void = () => {}) {
    this.#store = store
    this.#log = log
    this.#node = node
    this.#ttlMs = ttlMs
    this.#onPruned = onPruned
  }

  /** The Store name of the snapshots of the log history `logId`. */
  static nameOf(logId: string): string {
    return `clickplanet.${logId.replace(/[^A-Za-z0-9_-]+/g, '-')}`.slice(0, 100)
  }

  async save(snapshot: Snapshot): Promise<boolean> {
    if (!snapshot.logId) return false
    const name = ClusterSnapshots.nameOf(snapshot.logId)
    const writer = await this.#store.claimSnapshotWriter(name, this.#node, this.#ttlMs)
    if (writer === undefined) return false
    this.#writer = { name, ...writer }
    const result = await this.#store.saveNewerSnapshot(name, { position: snapshot.position, bytes: encodeSnapshot(snapshot) }, writer)
    if (result !== 'saved') return false
    if (this.#prunedFor !== name) {
      // A failure leaves them for the next save to try again; the save itself stands.
      await this.#pruneEarlier(snapshot.logId).then(() => { this.#prunedFor = name }, () => {})
    }
    return true
  }

  /** Deletes the snapshots of `logId`'s stream made under incarnations created before it. */
  async #pruneEarlier(logId: string): Promise<void> {
    const mine = incarnationOf(ClusterSnapshots.nameOf(logId))
    if (mine === undefined) return
    const earlier = (await this.#store.snapshotNames(mine.prefix))
      .filter((name) => {
        const other = incarnationOf(name)
        return other !== undefined && other.prefix === mine.prefix && other.created < mine.created
      })
    for (const name of earlier) await this.#store.deleteSnapshot(name)
    if (earlier.length > 0) this.#onPruned(earlier)
  }

  async load(): Promise<Snapshot | undefined> {
    const id = this.#log.id
    if (id === undefined) return undefined
    return new StoreSnapshots(this.#store, ClusterSnapshots.nameOf(id)).load()
  }

  /** Gives the writer role up (a graceful stop: another node may take it at once). */
  async release(): Promise<void> {
    const w = this.#writer
    if (w !== undefined) await this.#store.releaseSnapshotWriter(w.name, w).catch(() => {})
  }
}

/**
 * A cluster snapshot name read back: `clickplanet.<stream>-<created>`, the stream's creation
 * time as `nameOf` wrote it (`2026-12-03T15-35-24-912907277Z`), here as a string that sorts
 * in time order (fraction padded to nanoseconds). Undefined for a name of another shape.
 */
export function incarnationOf(name: string): { prefix: string; created: string } | undefined {
  const m = /^(clickplanet\.[A-Za-z0-9_-]+?-)(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})(?:-(\d{1,9}))?Z$/.exec(name)
  if (m === null) return undefined
  const [, prefix, y, mo, d, h, mi, s, frac] = m as unknown as [string, string, string, string, string, string, string, string, string | undefined]
  return { prefix, created: `${y}${mo}${d}${h}${mi}${s}${(frac ?? '').padEnd(9, '0')}` }
}
