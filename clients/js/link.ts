/**
 * What every reconnecting client shares: its connection state, the schedule of its
 * attempts, and the frames kept while it is away.
 */
import { reconnectDelay, reconnectPolicy, type ReconnectPolicy } from './backoff.js'
import { ClientErrorCode, PartylineError } from './codes.js'

/** Where a client stands. `closed` is for good: `close()` was called or it gave up. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed'

/** The events every reconnecting client emits, besides its own. */
export type ReconnectEvents = {
  /** The connection dropped; attempt `attempt` (1, 2, …) starts in `delay` ms. */
  reconnecting: (attempt: number, delay: number) => void
  /** Back, with the same identity (player id, room); what was kept has been sent. */
  reconnected: () => void
  /**
   * Gone for good, not by this client's `close()`: `code` and `reason` say why (4001 kicked,
   * 4002 the room was stopped, 4004 no such room, 4010 the host did not come back, 4011
   * replaced by a newer connection, …). `close` follows.
   */
  lost: (code: number, reason: string) => void
  /** The very end (after `lost`, or after `close()`); nothing is sent or received after it. */
  close: (code: number, reason: string) => void
}

/** `reconnect` option of every client: `false` to stop at the first drop, or a policy. */
export type ReconnectOption = boolean | Partial<ReconnectPolicy>

/** Attempts and their delays, one logical connection's worth. */
export class RetrySchedule {
  readonly policy: ReconnectPolicy
  readonly enabled: boolean
  #attempt = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #random: () => number

  constructor(option: ReconnectOption | undefined, random: () => number = Math.random) {
    this.enabled = option !== false
    this.policy = reconnectPolicy(typeof option === 'object' ? option : {})
    this.#random = random
  }

  /** Schedule the next attempt; returns its number and delay (for the `reconnecting` event). */
  schedule(run: () => void): { attempt: number; delay: number } {
    this.cancel()
    const attempt = ++this.#attempt
    const delay = reconnectDelay(attempt, this.#random, this.policy)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      run()
    }, delay)
    return { attempt, delay }
  }

  /** A connection came back: the next drop starts again from the first delay. */
  succeeded(): void {
    this.#attempt = 0
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

/** What a client keeps while reconnecting, bounded; past the bound a send is refused. */
export class SendQueue<T> {
  #items: T[] = []
  constructor(readonly max: number) {}

  get length(): number {
    return this.#items.length
  }

  /** Keep `item`, or throw `QueueFull` (nothing kept) when the bound is reached. */
  push(item: T): void {
    if (this.#items.length >= this.max) {
      throw new PartylineError(ClientErrorCode.QueueFull, `not sent: ${this.max} sends are already waiting for the connection to come back`)
    }
    this.#items.push(item)
  }

  /** Everything kept, in order, and forget it. */
  drain(): T[] {
    const items = this.#items
    this.#items = []
    return items
  }
}

export function notConnected(what: string): PartylineError {
  return new PartylineError(ClientErrorCode.NotConnected, `not sent: the ${what} is closed`)
}
