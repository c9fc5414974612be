import type { LogHandler, LogSubscription } from './event-log.js'

/**
 * One subscription of an in-process log: its handler, and the `done` promise that tells its
 * consumer when (and why) delivery stopped. Shared by the memory and file logs.
 */
export class Subscriber {
  readonly handler: LogHandler
  readonly done: Promise<void>
  #open = true
  #settle!: (err?: unknown) => void
  readonly #detach: (sub: Subscriber) => void

  constructor(handler: LogHandler, detach: (sub: Subscriber) => void) {
    this.handler = handler
    this.#detach = detach
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = (err) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err))))
    })
    // Observing `done` is the consumer's choice, never an unhandled rejection.
    this.done.catch(() => {})
  }

  get open(): boolean { return this.#open }

  /** Stops delivery: `done` resolves without an error (close), rejects with one. Idempotent. */
  end(err?: unknown): void {
    if (!this.#open) return
    this.#open = false
    this.#detach(this)
    this.#settle(err)
  }

  view(caughtUp: Promise<void>): LogSubscription {
    caughtUp.catch(() => {})
    return { caughtUp, done: this.done, close: () => this.end() }
  }
}
