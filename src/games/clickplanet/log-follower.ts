import type { Logger } from 'pino'
import { LogFailedError, LogReplacedError, LogTrimmedError, type EventLog, type LogSubscription } from './event-log.js'
import type { Projection } from './projection.js'

export interface LogFollowerOptions {
  readonly log: EventLog
  readonly projection: Projection
  /**
   * Puts the projection where following may start: the newest snapshot of the log's
   * current history, or empty. Called before the first subscription, and again whenever
   * the log no longer holds the projection's next position (trimmed past it) or its
   * history was replaced. It must never leave the projection on another history.
   */
  readonly restore: () => Promise<void>
  /** After each applied entry (the snapshot cadence). */
  readonly onApplied?: () => void
  /** After a rebuild (not the first restore): what listeners and caches held is stale. */
  readonly onRebuilt?: (why: Error) => void
  /** Delivery stopped for a reason no retry cures (the projection threw): reads freeze. */
  readonly onStopped?: (err: Error) => void
  /** Bounds of the backoff between subscriptions (default 100 ms to 2 s). */
  readonly retryMs?: { readonly min: number; readonly max: number }
  readonly logger?: Logger
}

/**
 * Keeps a projection following an event log, for as long as the node runs.
 *
 * - Follows from the projection's position: subscribes from `position + 1`, and the
 *   projection skips any entry at or before the position it has (at-least-once delivery).
 * - A subscription that ends because the log could not deliver (`LogFailedError`: NATS lost,
 *   a read failed) is opened again, with backoff, from the position reached: nothing is
 *   missed, nothing applied twice.
 * - The log trimmed past the projection, or replaced its history: the projection is
 *   rebuilt (`restore`) and followed from there; two histories never mix.
 * - Any other end (the projection threw) stops following for good (`onStopped`).
 * - `waitFor(position)` is read-your-writes: it resolves once the projection applied that
 *   position, so a click is answered only when a read on this node shows it.
 */
export class LogFollower {
  readonly #o: LogFollowerOptions
  #sub: LogSubscription | undefined
  #closed = false
  #stopped: Error | undefined
  #attempt = 0
  #timer: NodeJS.Timeout | undefined
  #wake: (() => void) | undefined
  /** The log id the projection's state belongs to (set by each restore). */
  #historyId: string | undefined
  #waiters = new Set<{ position: number; resolve: (ok: boolean) => void; timer: NodeJS.Timeout }>()
  #minWaiting = Infinity
  #firstCaughtUp!: (err?: Error) => void
  /**
   * Resolves the first time the projection caught up with the log; rejects if following
   * stopped for good before that.
   */
  readonly caughtUp: Promise<void>
  /** Subscriptions opened again after delivery stopped. */
  resubscribes = 0
  /** Rebuilds done (the projection restored anew) after a trim past it or a replaced history. */
  rebuilds = 0
  #following = false

  constructor(opts: LogFollowerOptions) {
    this.#o = opts
    this.caughtUp = new Promise((resolve, reject) => {
      this.#firstCaughtUp = (err) => (err === undefined ? resolve() : reject(err))
    })
    this.caughtUp.catch(() => {})
  }

  /** Whether a subscription is delivering now (caught up at least once since it opened). */
  get following(): boolean { return this.#following }
  /** The log id of the history the projection holds now (undefined before the first restore). */
  get historyId(): string | undefined { return this.#historyId }
  /** Why following stopped for good, if it did. */
  get stopped(): Error | undefined { return this.#stopped }

  /** Entries the log holds that the projection has not applied (0 when unknown or none). */
  get lag(): number {
    return Math.max(0, this.#o.log.head - this.#o.projection.position)
  }

  /** Restores the projection and starts following; resolves once the first restore is done. */
  async start(): Promise<void> {
    await this.#o.restore()
    this.#historyId = this.#o.log.id
    this.#subscribe()
  }

  /**
   * Resolves true once the projection has applied `position`, false after `ms` (or when
   * the follower closes or stops first).
   */
  waitFor(position: number, ms: number): Promise<boolean> {
    if (this.#o.projection.position >= position) return Promise.resolve(true)
    if (this.#closed || this.#stopped) return Promise.resolve(false)
    return new Promise((resolve) => {
      const w = {
        position,
        resolve: (ok: boolean) => {
          clearTimeout(w.timer)
          this.#waiters.delete(w)
          resolve(ok)
        },
        timer: setTimeout(() => w.resolve(false), ms),
      }
      this.#waiters.add(w)
      if (position < this.#minWaiting) this.#minWaiting = position
    })
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#wake?.()
    this.#sub?.close()
    for (const w of [...this.#waiters]) w.resolve(false)
  }

  #applied(): void {
    const at = this.#o.projection.position
    if (at >= this.#minWaiting) {
      let min = Infinity
      for (const w of [...this.#waiters]) {
        if (w.position <= at) w.resolve(true)
        else if (w.position < min) min = w.position
      }
      this.#minWaiting = min
    }
    this.#o.onApplied?.()
  }

  #subscribe(): void {
    if (this.#closed) return
    const { log, projection } = this.#o
    const sub = log.subscribe(projection.position + 1, (entry) => {
      projection.apply(entry)
      this.#applied()
    })
    this.#sub = sub
    sub.caughtUp.then(() => {
      if (this.#sub !== sub) return
      this.#attempt = 0
      this.#following = true
      this.#firstCaughtUp()
    }, () => {})
    sub.done.then(() => {}, (err: unknown) => {
      if (this.#sub === sub) void this.#ended(err instanceof Error ? err : new Error(String(err)))
    })
  }

  async #ended(err: Error): Promise<void> {
    this.#following = false
    if (this.#closed) return
    const { logger, projection, log } = this.#o
    if (err instanceof LogFailedError) {
      this.resubscribes++
      if (this.#attempt === 0) logger?.warn({ err: err.message, position: projection.position }, 'clickplanet: the click log stopped delivering; following again when it can')
      await this.#pause()
      this.#resume()
      return
    }
    if (err instanceof LogTrimmedError || err instanceof LogReplacedError) {
      logger?.error({ err: err.message, position: projection.position, log: log.id },
        'clickplanet: the projection cannot continue on this log; rebuilding it from the newest matching snapshot, or from the start')
      // A rebuild that lands on a trimmed position again waits (a newer snapshot may come).
      if (this.#attempt > 0) await this.#pause()
      else this.#attempt++
      if (this.#closed) return
      try {
        await this.#o.restore()
        this.#historyId = log.id
        this.rebuilds++
        this.#o.onRebuilt?.(err)
      } catch (e) {
        logger?.error({ err: e }, 'clickplanet: rebuilding the projection failed; trying again')
        await this.#pause()
        return this.#ended(err)
      }
      this.#subscribe()
      return
    }
    this.#stopped = err
    this.#firstCaughtUp(err)
    for (const w of [...this.#waiters]) w.resolve(false)
    this.#o.onStopped?.(err)
  }

  /** After a delivery failure: a history that changed meanwhile is rebuilt, never continued. */
  #resume(): void {
    if (this.#closed) return
    const id = this.#o.log.id
    if (this.#historyId !== undefined && id !== undefined && id !== this.#historyId) {
      void this.#ended(new LogReplacedError(this.#historyId, id))
      return
    }
    this.#historyId ??= id
    this.#subscribe()
  }

  #pause(): Promise<void> {
    const { min, max } = this.#o.retryMs ?? { min: 100, max: 2000 }
    const ms = Math.min(max, min * 2 ** Math.min(this.#attempt++, 10)) * (0.75 + Math.random() / 2)
    return new Promise((resolve) => {
      this.#wake = resolve
      this.#timer = setTimeout(resolve, ms)
    })
  }
}
