/**
 * The click log on a JetStream stream, for a cluster: every node appends to it and follows
 * it. The stream is `CLICKS` (a setting), file storage, subjects `clicks.tile.<tile id>`;
 * positions are stream sequence numbers; each click's id travels as `Nats-Msg-Id`, so a
 * publish retried within the stream's duplicate window is stored once.
 *
 * - `append` resolves once JetStream acknowledged the publish (stored by the stream's
 *   quorum), within `ackWaitMs`; otherwise it rejects with `LogFailedError` (the outcome is
 *   unknown: the sender gets an error, never success). While this node has no connection
 *   to NATS it rejects at once rather than queueing the click. The clicks appended in one
 *   turn of the event loop are published together, in order, at its end (one socket write).
 * - `id` is the stream's identity: its name and creation time. A stream deleted and created
 *   again gets another, whatever sequence numbers it reuses. The log learns the new one the
 *   next time it looks at the stream (every subscribe, every idle second, every gap), and a
 *   subscription opened under the old one then fails with `LogReplacedError`.
 * - `subscribe` reads with an ephemeral consumer of its own (deliver from a start sequence,
 *   no acks, in memory, pulled ahead of the reader, delivered on a callback), recreated from the next position after a lost delivery. Any gap
 *   in the sequence is checked against the stream: below its first sequence means the
 *   stream was trimmed under the reader (`LogTrimmedError`); otherwise the consumer is
 *   recreated from the position it expected, so nothing is skipped. Delivery stops with a
 *   rejected `done` when NATS is lost (`LogFailedError`): the consumer subscribes again
 *   from its own position when it is back (at-least-once).
 */
import {
  connect, Events, nanos, StorageType,
  type JetStreamClient, type JetStreamManager, type NatsConnection, type NatsError, type StreamInfo,
} from 'nats'
import type { Logger } from 'pino'
import type { ReadinessComponent } from '../../readiness.js'
import { natsConnectionOptions } from '../../bus/bus-nats.js'
import {
  LogClosedError, LogFailedError,
  type EventLog, type LogHandler, type LogSubscription,
} from './event-log.js'
import { encodeClick, type Click } from './messages.js'
import { streamDifferences } from './stream-config.js'
import { identity, message, StreamReader } from './stream-reader.js'

export interface JetStreamLogOptions {
  /** One URL or a comma-separated list. */
  readonly servers: string
  /** Stream name (default `CLICKS`). */
  readonly stream?: string
  /**
   * Subjects are `<subjects>.tile.<tile id>` (default `clicks`). Two streams cannot share
   * subjects: another prefix lets several logs live in one NATS (tests).
   */
  readonly subjects?: string
  /** Replicas when this node creates the stream (default 1; 3 in production). */
  readonly replicas?: number
  /** How long JetStream remembers a click id to drop a retried publish (default 2 min). */
  readonly duplicateWindowMs?: number
  /** How long `append` waits for JetStream's acknowledgement (default 5 s). */
  readonly ackWaitMs?: number
  /** The name this client shows in the server's monitoring (the node id). */
  readonly name?: string
  /** The readiness component `jetstream`: failing while the stream cannot be reached. */
  readonly health?: Pick<ReadinessComponent, 'ok' | 'failing'>
  readonly logger?: Logger
}

const STREAM_NOT_FOUND = 10059
/** How long a deleted stream stays missing before this log makes it again. */
const RECREATE_AFTER_MS = 1000


export class JetStreamEventLog implements EventLog {
  readonly stream: string
  readonly #subjects: string
  readonly #opts: JetStreamLogOptions
  readonly #ackWaitMs: number
  #nc: NatsConnection | undefined
  #js: JetStreamClient | undefined
  #jsm: JetStreamManager | undefined
  /** Connected, and the stream is known to exist. */
  #usable = false
  #closed = false
  #id: string | undefined
  /** When the stream was first found missing (deleted under us). */
  #missingSince: number | undefined
  #head = 0
  /** The stream differences last logged, so a reconnect does not repeat them. */
  #saidOfConfig = ''
  #pending = new Set<Promise<unknown>>()
  /** Clicks appended in this turn of the event loop, published together at its end. */
  #outbox: Array<{ readonly click: Click; readonly resolve: (position: number) => void; readonly reject: (err: Error) => void }> = []
  readonly #readers = new Set<StreamReader>()
  #started: Promise<void>
  #ready: Promise<void>
  #readyNow!: () => void
  #retry: NodeJS.Timeout | undefined
  #wake: (() => void) | undefined
  /** Publishes that failed (not acknowledged, or refused while unreachable). */
  publishFailures = 0
  /** Times the connection came back after it was lost. */
  reconnects = 0

  constructor(opts: JetStreamLogOptions) {
    this.#opts = opts
    this.stream = opts.stream ?? 'CLICKS'
    this.#subjects = opts.subjects ?? 'clicks'
    this.#ackWaitMs = opts.ackWaitMs ?? 5000
    this.#ready = new Promise((resolve) => { this.#readyNow = resolve })
    opts.health?.failing(`connecting to JetStream at ${opts.servers}`)
    this.#started = this.#connectLoop()
  }

  /** A log that is connected and whose stream exists (rejects after `ms` otherwise). */
  static async open(opts: JetStreamLogOptions, ms = 10_000): Promise<JetStreamEventLog> {
    const log = new JetStreamEventLog(opts)
    if (!(await log.ready(ms))) {
      await log.close()
      throw new LogFailedError(`JetStream at ${opts.servers} could not be reached within ${ms} ms`)
    }
    return log
  }

  /** Resolves true once the stream was reached (false if not within `ms`). */
  async ready(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
    try {
      return await Promise.race([this.#ready.then(() => true), late])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Resolves once the stream was first reached (never, if it never is). */
  get whenReady(): Promise<void> { return this.#ready }

  get id(): string | undefined { return this.#id }
  get head(): number { return this.#head }
  /** Whether appends can go out now. */
  get usable(): boolean { return this.#usable }

  append(click: Click): Promise<number> {
    if (this.#closed) return Promise.reject(new LogClosedError())
    if (!this.#usable || this.#js === undefined) return Promise.reject(this.#unreachable())
    const p = new Promise<number>((resolve, reject) => {
      this.#outbox.push({ click, resolve, reject })
      if (this.#outbox.length === 1) setImmediate(this.#sendOutbox)
    })
    this.#pending.add(p)
    void p.finally(() => this.#pending.delete(p)).catch(() => {})
    return p
  }

  /**
   * Publishes the clicks appended since the last turn of the event loop, in order. nats.js
   * writes to its socket once per turn of the microtask queue, so clicks from requests that
   * arrived in one turn of the event loop share one write instead of one each (the writes
   * were a fifth of a node's time under click load).
   */
  readonly #sendOutbox = (): void => {
    const batch = this.#outbox
    this.#outbox = []
    const js = this.#js
    for (const { click, resolve, reject } of batch) {
      if (!this.#usable || js === undefined) {
        reject(this.#unreachable())
        continue
      }
      js.publish(`${this.#subjects}.tile.${click.tileId}`, encodeClick(click), {
        msgID: click.clickId, timeout: this.#ackWaitMs, expect: { streamName: this.stream },
      }).then((ack) => {
        if (ack.seq > this.#head) this.#head = ack.seq
        resolve(ack.seq)
      }, (err: unknown) => {
        this.publishFailures++
        // The stream may be gone (deleted): looking at it makes it again and learns its id.
        if (this.#usable) void this.info().catch(() => {})
        reject(new LogFailedError(`JetStream did not acknowledge the click within ${this.#ackWaitMs} ms (${message(err)}); it may or may not be stored`))
      })
    }
  }

  #unreachable(): LogFailedError {
    this.publishFailures++
    return new LogFailedError(`JetStream is unreachable (${this.#opts.servers}); the click was not stored`)
  }

  subscribe(from: number, handler: LogHandler): LogSubscription {
    const reader = new StreamReader(this, Math.max(1, from), handler, this.#id)
    this.#readers.add(reader)
    void reader.done.finally(() => this.#readers.delete(reader)).catch(() => {})
    if (this.#closed) reader.end()
    else void reader.run()
    return reader.view()
  }

  /**
   * Drops every click at a position ≤ `position` from the stream (a snapshot holds them).
   * With `logId`, only while the stream is still that incarnation (else nothing, 0). Never
   * past the stream's last position: a purge there would move its next position ahead.
   */
  async trimThrough(position: number, logId?: string): Promise<number> {
    const jsm = this.#jsm
    if (!this.#usable || jsm === undefined) throw new LogFailedError('JetStream is unreachable; the stream was not trimmed')
    const info = await this.info()
    if (logId !== undefined && identity(info) !== logId) return 0
    const through = Math.min(position, info.state.last_seq)
    if (through < info.state.first_seq) return 0
    const res = await jsm.streams.purge(this.stream, { seq: through + 1 })
    return res.purged
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.allSettled([...this.#pending])
    this.#usable = false
    for (const r of this.#readers) r.end()
    clearTimeout(this.#retry)
    this.#wake?.()
    await this.#started
    await this.#nc?.close().catch(() => {})
  }

  /** The stream as JetStream reports it now; learns a new incarnation's identity. */
  async info(): Promise<StreamInfo> {
    const jsm = this.#jsm
    if (!this.#usable || jsm === undefined) throw new LogFailedError(`JetStream is unreachable (${this.#opts.servers})`)
    let info: StreamInfo
    try {
      info = await jsm.streams.info(this.stream)
    } catch (err) {
      if ((err as NatsError).api_error?.err_code !== STREAM_NOT_FOUND) throw err
      // Deleted under us: make it again (a new incarnation, a new id), but not at once: a
      // stream made while the server is still deleting the old one may never receive a
      // message (seen with nats-server 2.10). Until then the caller retries.
      const now = Date.now()
      this.#missingSince ??= now
      if (now - this.#missingSince < RECREATE_AFTER_MS) {
        throw new LogFailedError(`the click stream ${this.stream} is missing; it is made again shortly`)
      }
      info = await this.#ensureStream(jsm)
    }
    this.#missingSince = undefined
    this.#learn(info)
    return info
  }

  /** @internal for readers */
  get manager(): JetStreamManager | undefined { return this.#usable ? this.#jsm : undefined }
  /** @internal for readers */
  get client(): JetStreamClient | undefined { return this.#usable ? this.#js : undefined }
  /** @internal for readers */
  noteHead(position: number): void { if (position > this.#head) this.#head = position }

  #learn(info: StreamInfo): void {
    const id = identity(info)
    if (this.#id !== undefined && id !== this.#id) {
      this.#opts.logger?.error({ stream: this.stream, was: this.#id, now: id, firstSeq: info.state.first_seq, lastSeq: info.state.last_seq },
        'clickplanet: the click stream was replaced (deleted and created again); its history is another one')
    }
    if (id !== this.#id) this.#head = info.state.last_seq
    this.#id = id
    if (info.state.last_seq > this.#head) this.#head = info.state.last_seq
  }

  async #ensureStream(jsm: JetStreamManager): Promise<StreamInfo> {
    try {
      const info = await jsm.streams.info(this.stream)
      this.#checkConfig(info)
      return info
    } catch (err) {
      if ((err as NatsError).api_error?.err_code !== STREAM_NOT_FOUND) throw err
    }
    // Several nodes may race here: an add with the same config returns the existing stream.
    return jsm.streams.add({
      name: this.stream,
      subjects: [`${this.#subjects}.tile.>`],
      storage: StorageType.File,
      num_replicas: this.#opts.replicas ?? 1,
      duplicate_window: nanos(this.#opts.duplicateWindowMs ?? 120_000),
    })
  }

  /** An existing stream is used as it is; say once how it differs from what this node would make. */
  #checkConfig(info: StreamInfo): void {
    const differences = streamDifferences(info.config, {
      subject: `${this.#subjects}.tile.>`,
      replicas: this.#opts.replicas ?? 1,
      duplicateWindowMs: this.#opts.duplicateWindowMs ?? 120_000,
    })
    const said = differences.join('\n')
    if (said === this.#saidOfConfig) return
    this.#saidOfConfig = said
    if (differences.length > 0) {
      this.#opts.logger?.warn({ stream: this.stream, differences },
        'clickplanet: the click stream exists with other settings than this node would create it with; it is used as it is')
    }
  }

  async #connectLoop(): Promise<void> {
    const { servers, logger, health } = this.#opts
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const nc = await connect({
          ...natsConnectionOptions(servers, `${this.#opts.name ?? 'partyline'}-clicks`),
          // No stack captured per request: two per click (the request and its timer) cost
          // a tenth of a node's time under click load; errors keep their messages.
          noAsyncTraces: true,
        })
        if (this.#closed) {
          await nc.close()
          return
        }
        this.#nc = nc
        const jsm = await nc.jetstreamManager({ timeout: this.#ackWaitMs })
        this.#jsm = jsm
        this.#js = nc.jetstream({ timeout: this.#ackWaitMs })
        void this.#watch(nc)
        void nc.closed().then((err) => this.#lost(err))
        await this.#becameUsable(jsm)
        return
      } catch (err) {
        if (attempt === 0) logger?.warn({ nats: servers, err: message(err) }, 'clickplanet: JetStream unreachable; retrying')
        health?.failing(`JetStream unreachable (${servers}): ${message(err)}; retrying`)
        if (this.#nc !== undefined) {
          // Connected but the stream could not be set up (no JetStream yet): the status
          // watcher retries on reconnect; retry here too, the connection stays.
          await this.#pause(attempt)
          if (this.#closed) return
          try {
            await this.#becameUsable(this.#jsm!)
            return
          } catch { /* go round */ }
        }
        await this.#pause(attempt)
      }
    }
  }

  #pause(attempt: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve
      this.#retry = setTimeout(resolve, Math.min(100 * 2 ** Math.min(attempt, 5), 2000) + Math.floor(Math.random() * 100))
    })
  }

  async #becameUsable(jsm: JetStreamManager): Promise<void> {
    const info = await this.#ensureStream(jsm)
    this.#usable = !this.#closed
    this.#learn(info)
    this.#opts.health?.ok()
    this.#opts.logger?.info({ stream: this.stream, id: this.#id, lastSeq: info.state.last_seq }, 'clickplanet: JetStream stream ready')
    this.#readyNow()
  }

  async #watch(nc: NatsConnection): Promise<void> {
    const { logger, health } = this.#opts
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect) {
        this.#usable = false
        health?.failing(`JetStream unreachable (${String(s.data)}): disconnected; retrying`)
        logger?.warn({ nats: s.data }, 'clickplanet: JetStream disconnected; clicks are refused (503) until it is back')
        for (const r of this.#readers) r.end(new LogFailedError('the connection to JetStream was lost'))
      } else if (s.type === Events.Reconnect) {
        this.reconnects++
        void this.#retryUsable(nc)
      }
    }
  }

  /** Back from a disconnect: the stream may take a moment (JetStream restarting, a leader election). */
  async #retryUsable(nc: NatsConnection): Promise<void> {
    for (let attempt = 0; !this.#closed && this.#nc === nc && !nc.isClosed(); attempt++) {
      try {
        await this.#becameUsable(this.#jsm!)
        return
      } catch (err) {
        this.#opts.health?.failing(`JetStream reconnected but the stream is not available: ${message(err)}; retrying`)
        await this.#pause(attempt)
      }
    }
  }

  #lost(err: Error | void): void {
    if (this.#closed) return
    this.#usable = false
    this.#nc = undefined
    this.#js = undefined
    this.#jsm = undefined
    for (const r of this.#readers) r.end(new LogFailedError('the connection to JetStream closed'))
    this.#opts.health?.failing(`JetStream connection closed (${err?.message ?? 'no reason given'}); reconnecting`)
    this.#started = this.#connectLoop()
  }
}
