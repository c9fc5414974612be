import { randomBytes } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { LeaderboardEntry } from './messages.js'
import type { Projection } from './projection.js'
import {
  countOwned, encodeLeaderboardFast, encodeOwnershipStateFast, MAX_OWNERSHIP_BYTES, writeOwnerships,
  type OwnershipColumns,
} from './wire-encoders.js'

/** `{"data":"<base64>"}`, the body every protobuf answer travels in. */
export function dataBody(bytes: Uint8Array): Buffer {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  return Buffer.from(`{"data":"${b64}"}`, 'latin1')
}

/** An encoded answer and what it shows. */
export interface ReadBody {
  /** `{"data":"<base64 of the message>"}`. Shared by every reader: do not mutate. */
  readonly body: Buffer
  /** Log position of the last owner change the body shows (`Projection.changedAt`). */
  readonly changedAt: number
  /** Strong validator of the body: this instance's id and `changedAt`. */
  readonly etag: string
}

export interface ReadModelsOptions {
  /** A rebuild yields to the event loop once it has run this long (default 1 ms)… */
  readonly sliceMs?: number
  /**
   * …or once it has done this much work in one go, a unit being about one tile (counting
   * or encoding one, or base64 of a tile's worth of bytes) (default 65,536). This bound
   * does not depend on the clock, so a full map always takes several turns.
   */
  readonly sliceWork?: number
}

/** How the last ownerships rebuild went (for benchmarks and metrics). */
export interface RebuildStats {
  /** Rebuilds completed. */
  rebuilds: number
  /** Wall time of the last one, first copy to swap, yields included (ms). */
  lastMs: number
  /** Event-loop turns it took. */
  lastSlices: number
  /** Its longest synchronous stretch: how long it blocked the event loop at most (ms). */
  lastMaxSliceMs: number
}

const CHUNK_TILES = 1024
/** Base64 works on multiples of 3 bytes, so chunks concatenate into one valid string. */
const CHUNK_B64 = 3 * 8192
/** A tile's OwnershipState entry is ~24 bytes: work units for a base64 chunk. */
const B64_BYTES_PER_UNIT = 24
const PREFIX = '{"data":"'
/**
 * Bytes of `ownerships-by-batch` windows kept for the current version (the robot reads the
 * map in 26 windows of ~270 KB); the oldest go first.
 */
const CACHED_WINDOW_BYTES = 16 * 1024 * 1024
const EMPTY_BODY = dataBody(new Uint8Array(0))
const SUFFIX = '"}'

interface Build {
  /** `changedAt` of the copy the build encodes. */
  readonly changedAt: number
  readonly promise: Promise<ReadBody>
}

/**
 * The query side of ClickPlanet: answers built from the projection, cached per change.
 *
 * **Ownerships** (every owned tile, ~6 MB of JSON when the whole map is owned) are never
 * encoded inside a request. A read when the cached body is stale starts a rebuild: the
 * owner and time arrays are copied at the current log position (a memcpy of ~2.3 MB), then
 * encoded from the copy across event-loop turns, each stretch about `sliceMs` long, and the
 * cached body is swapped in whole at the end. Rebuilds are demand-driven (nothing happens
 * while nobody reads) and coalesced: at most one runs, and at most one more is queued for
 * everyone who needs newer data than the running one has.
 *
 * Read-your-writes: `ownerships()` resolves with a body at least as new as the projection
 * was when it was called, so a click acknowledged before a read shows in it (in-process
 * logs apply a click before `append` resolves). A fresh cached body is returned at once;
 * else the caller joins the running rebuild if that one copied at or after the caller's
 * position, or the queued one, which copies when it starts.
 *
 * **Leaderboard** (a couple hundred entries) is rebuilt on the first read after a change,
 * with a hand-written encoder, in a few microseconds. **Batches** are not cached: a
 * 10,000-id window is encoded straight from the live arrays in well under a millisecond.
 */
export class ReadModels {
  readonly #projection: Projection
  readonly #sliceMs: number
  readonly #sliceWork: number
  /** Distinguishes this instance's ETags from another process's with the same positions. */
  readonly #instance = randomBytes(4).toString('hex')
  #ownerships: ReadBody | undefined
  #building: Build | undefined
  #queued: { promise: Promise<ReadBody>; resolve: (r: ReadBody) => void; reject: (e: unknown) => void } | undefined
  #leaderboard: (ReadBody & { entries: LeaderboardEntry[] }) | undefined
  /** `batch` bodies of the version `#batchesAt`, by window (`lo * tileCount + hi`). */
  readonly #batches = new Map<number, Buffer>()
  #batchesBytes = 0
  #batchesAt = -1
  #copyOwners: Uint8Array | undefined
  #copyTimes: BigUint64Array | undefined
  /** The protobuf bytes of the build in progress (only its base64 is kept). */
  #scratch: Buffer | undefined
  readonly stats: RebuildStats = { rebuilds: 0, lastMs: 0, lastSlices: 0, lastMaxSliceMs: 0 }

  constructor(projection: Projection, opts: ReadModelsOptions = {}) {
    this.#projection = projection
    this.#sliceMs = opts.sliceMs ?? 1
    this.#sliceWork = Math.max(1, opts.sliceWork ?? 65_536)
  }

  /** The ETag a read would answer now (for `If-None-Match`, without building anything). */
  currentEtag(): string {
    return this.#etag(this.#projection.changedAt)
  }

  /** `OwnershipState` of every owned tile, at least as new as the projection is now. */
  ownerships(): Promise<ReadBody> {
    const need = this.#projection.changedAt
    const cached = this.#ownerships
    if (cached !== undefined && cached.changedAt >= need) return Promise.resolve(cached)
    const running = this.#building
    if (running === undefined) return this.#startBuild().promise
    if (running.changedAt >= need) return running.promise
    if (this.#queued === undefined) {
      let resolve!: (r: ReadBody) => void
      let reject!: (e: unknown) => void
      const promise = new Promise<ReadBody>((res, rej) => { resolve = res; reject = rej })
      this.#queued = { promise, resolve, reject }
    }
    return this.#queued.promise
  }

  /** JSON body of the `OwnershipState` of every owned tile (see `ownerships`). */
  async ownershipsBody(): Promise<Buffer> {
    return (await this.ownerships()).body
  }

  /** JSON body of the `OwnershipState` of owned tiles with start ≤ id ≤ end (empty if start > end), encoded now. */
  batchBody(start: number, end: number): Buffer {
    return dataBody(encodeOwnershipStateFast(this.#projection, start, end))
  }

  /**
   * The answer to `ownerships-by-batch`: the `batchBody` of the window, one Buffer per window
   * and version shared by everyone who asks (never a copy per request, so readers that stall
   * pin one body between them). A window covering the whole map is the `ownerships` body
   * itself, built off the request path like that one.
   */
  async batch(start: number, end: number): Promise<Buffer> {
    const p = this.#projection
    const lo = Math.max(0, start)
    const hi = Math.min(p.tileCount - 1, end)
    if (lo === 0 && hi === p.tileCount - 1) return (await this.ownerships()).body
    if (hi < lo) return EMPTY_BODY
    if (this.#batchesAt !== p.changedAt) {
      this.#batches.clear()
      this.#batchesBytes = 0
      this.#batchesAt = p.changedAt
    }
    const key = lo * p.tileCount + hi
    let body = this.#batches.get(key)
    if (body === undefined) {
      body = this.batchBody(lo, hi)
      // Maps keep insertion order: the first entries are the oldest windows.
      for (const [k, old] of this.#batches) {
        if (this.#batchesBytes + body.length <= CACHED_WINDOW_BYTES) break
        this.#batches.delete(k)
        this.#batchesBytes -= old.length
      }
      if (this.#batchesBytes + body.length <= CACHED_WINDOW_BYTES) {
        this.#batches.set(key, body)
        this.#batchesBytes += body.length
      }
    }
    return body
  }

  /** Countries holding at least one tile, highest score first, ties by country id. */
  leaderboard(): readonly LeaderboardEntry[] {
    return this.leaderboardRead().entries
  }

  leaderboardBody(): Buffer {
    return this.leaderboardRead().body
  }

  leaderboardRead(): ReadBody & { readonly entries: readonly LeaderboardEntry[] } {
    const p = this.#projection
    const changedAt = p.changedAt
    if (this.#leaderboard?.changedAt !== changedAt) {
      const entries: LeaderboardEntry[] = []
      for (let k = 1; k < p.codes.length; k++) {
        const score = p.score(k)
        if (score > 0) entries.push({ countryId: p.codes[k]!, score })
      }
      // codes are sorted, so a stable sort by score keeps ties in country id order
      entries.sort((a, b) => b.score - a.score)
      this.#leaderboard = { changedAt, etag: this.#etag(changedAt), entries, body: dataBody(encodeLeaderboardFast(entries)) }
    }
    return this.#leaderboard
  }

  #etag(changedAt: number): string {
    return `"${this.#instance}-${changedAt}"`
  }

  #startBuild(): Build {
    const p = this.#projection
    const changedAt = p.changedAt
    // The copy pins the state at this position; clicks applied meanwhile go to the next build.
    // Builds never overlap, so one set of scratch arrays serves them all.
    this.#copyOwners ??= new Uint8Array(p.tileCount)
    this.#copyTimes ??= new BigUint64Array(p.tileCount)
    this.#copyOwners.set(p.owners)
    this.#copyTimes.set(p.timesNs)
    const copy: OwnershipColumns = { owners: this.#copyOwners, timesNs: this.#copyTimes, codes: p.codes }
    const promise = this.#encode(copy).then((body): ReadBody => {
      const built = { body, changedAt, etag: this.#etag(changedAt) }
      if (this.#ownerships === undefined || this.#ownerships.changedAt < changedAt) this.#ownerships = built
      return built
    })
    const build: Build = { changedAt, promise }
    this.#building = build
    const after = (): void => {
      this.#building = undefined
      const queued = this.#queued
      if (queued === undefined) return
      this.#queued = undefined
      this.#startBuild().promise.then(queued.resolve, queued.reject)
    }
    promise.then(after, after)
    return build
  }

  /** `{"data":"<base64 of OwnershipState>"}` of `cols`, a bounded stretch per event-loop turn. */
  async #encode(cols: OwnershipColumns): Promise<Buffer> {
    const started = performance.now()
    let sliceStart = started
    let work = 0
    let slices = 1
    let maxSlice = 0
    const due = (): boolean => work >= this.#sliceWork || performance.now() - sliceStart >= this.#sliceMs
    const pause = async (): Promise<void> => {
      maxSlice = Math.max(maxSlice, performance.now() - sliceStart)
      await nextTurn()
      slices++
      work = 0
      sliceStart = performance.now()
    }
    const n = cols.owners.length
    const chunkTiles = Math.min(CHUNK_TILES, this.#sliceWork)
    const chunkB64 = Math.max(3, Math.min(CHUNK_B64, 3 * Math.floor((this.#sliceWork * B64_BYTES_PER_UNIT) / 3)))

    let owned = 0
    for (let t = 0; t < n;) {
      const to = Math.min(n, t + chunkTiles)
      owned += countOwned(cols.owners, t, to)
      work += to - t
      t = to
      if (t < n && due()) await pause()
    }

    if (this.#scratch === undefined || this.#scratch.length < owned * MAX_OWNERSHIP_BYTES) {
      this.#scratch = Buffer.allocUnsafeSlow(n * MAX_OWNERSHIP_BYTES)
    }
    const pb = this.#scratch
    let size = 0
    for (let t = 0; t < n;) {
      const to = Math.min(n, t + chunkTiles)
      size = writeOwnerships(cols, pb, size, t, to)
      work += to - t
      t = to
      if (t < n && due()) await pause()
    }

    const out = Buffer.allocUnsafe(PREFIX.length + 4 * Math.ceil(size / 3) + SUFFIX.length)
    let o = out.write(PREFIX, 0, 'latin1')
    for (let b = 0; b < size;) {
      const to = Math.min(size, b + chunkB64)
      o += out.write(pb.toString('base64', b, to), o, 'latin1')
      work += (to - b) / B64_BYTES_PER_UNIT
      b = to
      if (b < size && due()) await pause()
    }
    o += out.write(SUFFIX, o, 'latin1')

    maxSlice = Math.max(maxSlice, performance.now() - sliceStart)
    this.stats.rebuilds++
    this.stats.lastMs = performance.now() - started
    this.stats.lastSlices = slices
    this.stats.lastMaxSliceMs = maxSlice
    return o === out.length ? out : out.subarray(0, o)
  }
}
