import type { Click } from './messages.js'

/** One entry of the click log. Positions are 1, 2, 3, … with no gaps. */
export interface LogEntry {
  readonly position: number
  readonly click: Click
}

/**
 * A subscription's handler. It must not throw: a handler that throws is closed (nothing
 * more is delivered to it) and its `caughtUp` rejects if still pending.
 */
export type LogHandler = (entry: LogEntry) => void

export interface LogSubscription {
  /**
   * Resolves once every entry that existed when `subscribe` was called has been delivered
   * (immediately when there were none). Rejects with `LogTrimmedError` when `from` is older
   * than what the log retains, or with the read error when replay failed.
   */
  readonly caughtUp: Promise<void>
  /** Stops delivery. Idempotent. */
  close(): void
}

/**
 * The ClickPlanet event log: the single, totally ordered history of accepted clicks.
 *
 * Contract (every implementation; the shape is JetStream's: a stream `CLICKS` whose
 * sequence numbers are the positions, consumed by an ordered consumer per node):
 * - **Total order.** Each appended click gets the next position; positions start at 1 and
 *   are consecutive. Everyone reading the log sees the same click at the same position.
 * - **Acknowledgement.** `append` resolves with the position once the click is as durable
 *   as the implementation promises (memory: in this process; file: written to the file,
 *   and fdatasync'd unless disabled; JetStream: stored by the stream's quorum). A click
 *   must not be acknowledged to its sender before `append` resolved.
 * - **Failure.** When `append` rejects the outcome is unknown (the click may be stored,
 *   as with a JetStream publish timeout): answer the sender with an error, never success.
 *   An implementation whose storage failed refuses every later append (`LogFailedError`)
 *   until it is reopened, because its tail is then uncertain.
 * - **Delivery.** `subscribe(from, handler)` delivers every entry with `position ≥ from`,
 *   in increasing order without gaps, first the stored ones (replay), then new ones as
 *   they are appended, until closed. Delivery is at-least-once: after a reconnect an
 *   implementation may deliver a position again, so consumers ignore positions they have
 *   already applied. The in-process implementations deliver an appended entry to live
 *   subscribers before its `append` resolves (a node reads its own writes); a remote one
 *   may deliver later.
 * - **Retention.** A log may drop old entries (memory keeps a bounded window, JetStream
 *   has limits); subscribing before the oldest retained position fails with
 *   `LogTrimmedError`, and the consumer must start from a snapshot instead.
 * - `close()` waits for pending appends to settle, then refuses new ones (`LogClosedError`).
 */
export interface EventLog {
  /** Position of the last entry, 0 when empty. */
  readonly head: number
  append(click: Click): Promise<number>
  subscribe(from: number, handler: LogHandler): LogSubscription
  close(): Promise<void>
}

export class LogClosedError extends Error {
  override readonly name = 'LogClosedError'
  constructor() { super('the click log is closed') }
}
export class LogFailedError extends Error {
  override readonly name = 'LogFailedError'
}
export class LogTrimmedError extends Error {
  override readonly name = 'LogTrimmedError'
  constructor(from: number, oldest: number) {
    super(`position ${from} is no longer in the log (oldest retained: ${oldest})`)
  }
}
