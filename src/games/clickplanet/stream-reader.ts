/**
 * The reading side of `JetStreamEventLog`: one subscription, reading the stream with
 * ephemeral consumers of its own (see the log's comment for the contract it keeps).
 */
import { AckPolicy, DeliverPolicy, nanos, type ConsumerMessages, type StreamInfo } from 'nats'
import {
  LogClosedError, LogFailedError, LogReplacedError, LogTrimmedError,
  type LogHandler, type LogSubscription,
} from './event-log.js'
import type { JetStreamEventLog } from './event-log-jetstream.js'
import { decodeLoggedClick } from './click-decoder.js'
import type { Click } from './messages.js'

/** Messages per pull: large enough to catch up fast (10,000 read back ~10 % faster than 2,000 here). */
const BATCH = 10_000
/** How long without a new click before a reader looks at the stream again (replaced, trimmed, caught up). */
const IDLE_MS = 1000

/** Where the dots of a reply subject are (reused: `streamSequence` runs to its end). */
const DOTS = new Int32Array(10)

/**
 * The stream sequence of a delivered message, read from its reply subject
 * (`$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`,
 * or with `<domain>.<account hash>.` after `ACK.` and a token at the end). nats.js's
 * `m.seq` parses the whole subject into an object for every message, a seventh of a
 * catch-up's time; this reads one number. -1 when the subject is not of that shape.
 */
export function streamSequence(reply: string): number {
  if (!reply.startsWith('$JS.ACK.')) return -1
  const ends = DOTS
  let dots = 0
  let at = -1
  while (dots < 10) {
    at = reply.indexOf('.', at + 1)
    if (at < 0) break
    ends[dots++] = at
  }
  // 9 tokens: 8 dots; 11 or more tokens: at least 10 dots.
  let from: number, to: number
  if (dots === 8) { from = ends[4]! + 1; to = ends[5]! }
  else if (dots >= 10) { from = ends[6]! + 1; to = ends[7]! }
  else return -1
  let n = 0
  for (let i = from; i < to; i++) {
    const c = reply.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    n = n * 10 + c
  }
  return to > from ? n : -1
}

/** `name@created`: one incarnation of the stream. */
export function identity(info: StreamInfo): string {
  return `${info.config.name}@${info.created}`
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** One subscription of `JetStreamEventLog`: reads the stream with consumers of its own, from `next` on. */
export class StreamReader {
  readonly done: Promise<void>
  readonly caughtUp: Promise<void>
  readonly #log: JetStreamEventLog
  readonly #handler: LogHandler
  /** The stream identity this reader's positions belong to (undefined: the first it sees). */
  #id: string | undefined
  #next: number
  #open = true
  #batch: ConsumerMessages | undefined
  #settle!: (err?: unknown) => void
  #caught!: (err?: unknown) => void
  #isCaughtUp = false

  constructor(log: JetStreamEventLog, from: number, handler: LogHandler, id: string | undefined) {
    this.#log = log
    this.#next = from
    this.#handler = handler
    this.#id = id
    this.done = new Promise<void>((resolve, reject) => {
      this.#settle = (err) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err))))
    })
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.#caught = (err) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err))))
    })
    this.done.catch(() => {})
    this.caughtUp.catch(() => {})
  }

  view(): LogSubscription {
    return { caughtUp: this.caughtUp, done: this.done, close: () => this.end() }
  }

  end(err?: unknown): void {
    if (!this.#open) return
    this.#open = false
    this.#batch?.stop()
    if (!this.#isCaughtUp) this.#caught(err ?? new LogClosedError())
    this.#settle(err)
  }

  #reachedUp(): void {
    if (this.#isCaughtUp) return
    this.#isCaughtUp = true
    this.#caught()
  }

  /** Looks at the stream: the same incarnation, and `next` still in it. */
  async #check(): Promise<StreamInfo> {
    const info = await this.#log.info()
    const id = identity(info)
    this.#id ??= id
    if (id !== this.#id) throw new LogReplacedError(this.#id, id)
    if (this.#next < info.state.first_seq) throw new LogTrimmedError(this.#next, info.state.first_seq)
    return info
  }

  async run(): Promise<void> {
    try {
      const info = await this.#check()
      const target = info.state.last_seq
      if (this.#next > target) this.#reachedUp()
      while (this.#open) {
        await this.#readWithConsumer(target)
        if (this.#open) await this.#check()
      }
    } catch (err) {
      if (!this.#open) return
      const typed = (e: unknown): boolean => e instanceof LogTrimmedError || e instanceof LogReplacedError || e instanceof LogFailedError
      if (typed(err)) return this.end(err)
      // Say why the consumer failed when the stream can tell (deleted, trimmed under us).
      const why = await this.#check().then(() => undefined, (e: unknown) => (typed(e) ? e : undefined))
      this.end(why ?? new LogFailedError(`reading the click stream failed: ${message(err)}`))
    }
  }

  /**
   * Reads with one consumer until it loses delivery (a gap), the stream changes, or the
   * reader ends. Messages arrive on a callback (no async step per click) from pulls that
   * nats.js keeps ahead of the reader; a gap stops the consumer and the stream is looked at
   * before anything is skipped.
   */
  async #readWithConsumer(target: number): Promise<void> {
    const jsm = this.#log.manager
    const js = this.#log.client
    if (jsm === undefined || js === undefined) throw new LogFailedError('JetStream is unreachable')
    const ci = await jsm.consumers.add(this.#log.stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: this.#next,
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(30_000),
    })
    const consumer = await js.consumers.get(this.#log.stream, ci.name)
    let fresh = true
    /** The first position past a gap, and whether it came first from this consumer. */
    let gap: { seq: number; fresh: boolean } | undefined
    let failure: unknown
    let lastAt = Date.now()
    let messages: ConsumerMessages | undefined
    const stop = (): void => { messages?.stop() }
    messages = await consumer.consume({
      max_messages: BATCH,
      abort_on_missing_resource: true,
      callback: (m) => {
        if (!this.#open || gap !== undefined || failure !== undefined) return
        lastAt = Date.now()
        // `reply` is on nats.js's message but not in its JsMsg type; without it, `m.seq`.
        const reply = (m as { readonly reply?: unknown }).reply
        let seq = typeof reply === 'string' ? streamSequence(reply) : -1
        if (seq < 0) seq = m.seq
        if (seq < this.#next) return
        if (seq > this.#next) {
          gap = { seq, fresh }
          stop()
          return
        }
        fresh = false
        let click: Click
        try {
          click = decodeLoggedClick(m.data)
        } catch (err) {
          failure = new LogFailedError(`position ${seq} of the click stream is not a Click: ${message(err)}`)
          stop()
          return
        }
        this.#next = seq + 1
        if ((seq & 1023) === 0 || seq >= target) this.#log.noteHead(seq + m.info.pending)
        try {
          this.#handler({ position: seq, click })
        } catch (err) {
          this.end(err)
          return
        }
        if (seq >= target) this.#reachedUp()
      },
    })
    this.#batch = messages
    if (!this.#open) stop()
    // Idle: nothing new for a while. Look at the stream: a replaced or deleted one would
    // never deliver again, and a reader with nothing left to read has caught up. A stream
    // that holds positions this reader has not had means the consumer stopped delivering
    // (its NATS server died: the consumer is in memory, on one server): read again, with a
    // new consumer, from `next`.
    let looking = false
    let stalled = false
    const idle = setInterval(() => {
      if (looking || Date.now() - lastAt < IDLE_MS) return
      looking = true
      this.#check().then((info) => {
        if (info.state.last_seq < this.#next) return this.#reachedUp()
        if (Date.now() - lastAt < IDLE_MS) return
        stalled = true
        stop()
      }, (err: unknown) => {
        failure = err
        stop()
      }).finally(() => { looking = false; lastAt = Date.now() })
    }, IDLE_MS / 2)
    try {
      const ended = await messages.closed()
      if (failure !== undefined) throw failure
      if (!this.#open) return
      if (gap !== undefined) {
        // Trimmed under us throws here. Otherwise: a first delivery past `next` means the
        // positions between were removed from the stream one by one; a later one, a lost
        // delivery, read again from `next`.
        await this.#check()
        if (gap.fresh) this.#next = gap.seq
        return
      }
      if (stalled) return
      if (ended instanceof Error) throw ended
    } finally {
      clearInterval(idle)
      this.#batch = undefined
      consumer.delete().catch(() => {})
    }
  }
}
