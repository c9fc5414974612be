import { randomBytes } from 'node:crypto'
import {
  LogClosedError, LogTrimmedError,
  type EventLog, type LogEntry, type LogHandler, type LogSubscription,
} from './event-log.js'
import { Subscriber } from './log-subscriber.js'
import type { Click } from './messages.js'

/**
 * The default, in-process log. Keeps the last `retain` entries in a ring so a long-running
 * node does not grow without bound; the projection only needs replay from the snapshot it
 * keeps beside the log, and an in-memory log dies with the process anyway.
 */
export class MemoryEventLog implements EventLog {
  /** A history that dies with the process: a new id each time. */
  readonly id = randomBytes(16).toString('hex')
  readonly #ring: (Click | undefined)[]
  readonly #subs = new Set<Subscriber>()
  #head = 0
  #closed = false

  constructor(retain = 1 << 20) {
    this.#ring = new Array<Click | undefined>(Math.max(1, retain))
  }

  get head(): number { return this.#head }

  append(click: Click): Promise<number> {
    if (this.#closed) return Promise.reject(new LogClosedError())
    const position = ++this.#head
    this.#ring[position % this.#ring.length] = click
    const entry: LogEntry = { position, click }
    for (const sub of this.#subs) deliver(sub, entry)
    return Promise.resolve(position)
  }

  subscribe(from: number, handler: LogHandler): LogSubscription {
    const oldest = Math.max(1, this.#head - this.#ring.length + 1)
    const start = Math.max(1, from)
    const sub = new Subscriber(handler, (s) => this.#subs.delete(s))
    if (start < oldest && this.#head > 0 && start <= this.#head) {
      const err = new LogTrimmedError(from, oldest)
      sub.end(err)
      return sub.view(Promise.reject(err))
    }
    try {
      // Replay synchronously, then go live: no append can interleave, so nothing is missed.
      for (let p = start; p <= this.#head; p++) handler({ position: p, click: this.#ring[p % this.#ring.length]! })
    } catch (err) {
      sub.end(err)
      return sub.view(Promise.reject(err as Error))
    }
    this.#subs.add(sub)
    return sub.view(Promise.resolve())
  }

  close(): Promise<void> {
    this.#closed = true
    for (const sub of this.#subs) sub.end()
    return Promise.resolve()
  }
}

function deliver(sub: Subscriber, entry: LogEntry): void {
  try {
    sub.handler(entry)
  } catch (err) {
    sub.end(err)
  }
}
