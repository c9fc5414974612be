import type { Click } from './messages.js'

/**
 * One entry of the click log. Positions strictly increase along the log but need not be
 * consecutive (a JetStream stream's sequence numbers skip messages removed from it).
 */
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
  /**
   * Settles when delivery has stopped for good: resolves after `close()`, rejects with the
   * reason when the log stopped delivering on its own (the handler threw, replay failed, a
   * remote consumer was lost and cannot be resumed). A consumer must watch it: a silent end
   * of delivery would freeze its reads while appends still succeed. Implementations mark it
   * handled, so leaving it unobserved never raises an unhandled rejection.
   */
  readonly done: Promise<void>
  /** Stops delivery. Idempotent. */
  close(): void
}

/**
 * The ClickPlanet event log: the single, totally ordered history of accepted clicks.
 *
 * Contract (every implementation; the shape is JetStream's: a stream `CLICKS` whose
 * sequence numbers are the positions, consumed by an ordered consumer per node):
 * - **Total order.** Each appended click gets a position greater than every earlier one
 *   (≥ 1). Positions strictly increase but may skip numbers: JetStream's stream sequence
 *   does when messages are removed. (The in-process logs happen to use 1, 2, 3, ….) Everyone
 *   reading the log sees the same click at the same position.
 * - **Acknowledgement.** `append` resolves with the position once the click is as durable
 *   as the implementation promises (memory: in this process; file: written to the file,
 *   and fdatasync'd unless disabled; JetStream: stored by the stream's quorum). A click
 *   must not be acknowledged to its sender before `append` resolved.
 * - **Failure.** When `append` rejects the outcome is unknown (the click may be stored,
 *   as with a JetStream publish timeout): answer the sender with an error, never success.
 *   An implementation whose storage failed refuses every later append (`LogFailedError`)
 *   until it has made its tail certain again (the file log truncates back to its last
 *   acknowledged byte and retries with backoff); it never acknowledges a click whose bytes
 *   it is unsure of.
 * - **Identity.** `id` names one history: two logs with the same id agree on every
 *   position both hold, so a snapshot taken from a log with this id (at a position the log
 *   still holds or has trimmed to) can be completed by replaying it. A log recreated from
 *   scratch gets a new id, whatever positions it reuses. A log whose history is replaced
 *   under a subscription (a JetStream stream deleted and created again) ends that
 *   subscription, never delivering the new history's entries to it: with
 *   `LogReplacedError` once it sees the new history (`LogFailedError` while there is none),
 *   and a subscription opened later from a position of the old history gets
 *   `LogReplacedError` too when the log knew the old id.
 * - **Delivery.** `subscribe(from, handler)` delivers every entry with `position ≥ from`,
 *   in increasing position order, none left out, first the stored ones (replay), then new
 *   ones as they are appended, until closed. A gap between two delivered positions is
 *   normal (see Total order), never a lost entry. Delivery is at-least-once: after a
 *   reconnect an implementation may deliver a position again, so a consumer skips any
 *   position not greater than the last one it applied (and so never applies one twice).
 *   The in-process implementations deliver an appended entry to live subscribers before
 *   its `append` resolves (a node reads its own writes); a remote one may deliver later.
 *   When delivery stops for any reason but `close()`, the subscription's `done` rejects.
 * - **Retention.** A log may drop old entries (memory keeps a bounded window, the file log
 *   what a durable snapshot holds, JetStream has limits); subscribing before the oldest
 *   retained position fails with `LogTrimmedError`, and the consumer must start from a
 *   snapshot instead.
 * - `close()` waits for pending appends to settle, then refuses new ones (`LogClosedError`).
 */
export interface EventLog {
  /**
   * The identity of this log's history (see the contract). Undefined when the log cannot
   * tell; a snapshot is then trusted on its position alone.
   */
  readonly id?: string
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

/**
 * The log's history was replaced under a subscription (a JetStream stream deleted and
 * created again): its positions now name other clicks. The consumer must rebuild from a
 * snapshot of the new history, or from scratch, never carry on.
 */
export class LogReplacedError extends Error {
  override readonly name = 'LogReplacedError'
  constructor(readonly was: string, readonly now: string) {
    super(`the click log was replaced: it was ${was}, it is ${now} now`)
  }
}

/**
 * The stored log cannot be used as it is, and choosing what to give up is an operator's
 * call: the message (one line) names the file, the byte offset, what is at stake and the
 * ways out. `partyline serve` prints it and exits with status 3.
 */
export class LogUnusableError extends Error {
  override readonly name = 'LogUnusableError'
}
