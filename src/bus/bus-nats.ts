/**
 * The Bus on NATS core (at-most-once pub/sub), one connection per node. Subjects get a
 * prefix (`partyline.` by default) so that other users of the same NATS never collide.
 *
 * Each subject this node listens to is one NATS subscription however many local handlers
 * it has; a message is fanned out to them here. Messages are delivered from the socket's
 * data events, never from inside `publish`.
 *
 * Connection: the first connection is this bus's own retry loop (capped backoff, for
 * ever), so a node starts with NATS down and `close()` can stop the loop; nats.js's
 * `waitOnFirstConnect` would retry as well but hands back no connection to close until it
 * succeeds. Once connected, nats.js reconnects with `maxReconnectAttempts: -1` (its default
 * gives up after 10 attempts) and restores the subscriptions itself. While disconnected,
 * `publish` drops and counts (nats.js would otherwise buffer every publish until it is
 * back, without bound).
 */
import { connect, Events, type ConnectionOptions, type NatsConnection, type Subscription as NatsSubscription } from 'nats'
import type { Logger } from 'pino'
import type { ReadinessComponent } from '../readiness.js'
import { BusCounters, checkSubject, isSubject, type Bus, type Subscription } from './bus.js'

type Handler = (data: Uint8Array) => void

/**
 * How every partyline connection to NATS is made (the bus, the click log): `servers` is
 * `NATS_URL` (one URL or a comma-separated list). Reconnects never give up (nats.js stops
 * after 10 attempts by default), and a dead server is noticed within two missed pings.
 */
export function natsConnectionOptions(servers: string, name: string): ConnectionOptions {
  return {
    servers: servers.split(',').map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    // nats.js also gives up after two authorization errors in a row; a server being
    // reconfigured must not end the node's connection for good.
    ignoreAuthErrorAbort: true,
    waitOnFirstConnect: false,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    timeout: 2000,
    pingInterval: 5000,
    maxPingOut: 2,
  }
}

export interface NatsBusOptions {
  /** One URL or a comma-separated list (`nats://a:4222,nats://b:4222`). */
  readonly servers: string
  /** Prefix of every subject on the wire (default `partyline.`). */
  readonly prefix?: string
  /** The name this client shows in the server's monitoring (the node id). */
  readonly name?: string
  /** Where it reports whether it can be reached (a readiness component). */
  readonly health?: Pick<ReadinessComponent, 'ok' | 'failing'>
  readonly logger?: Logger
}

interface Listening {
  readonly handlers: Set<Handler>
  sub: NatsSubscription | undefined
}

/** Backoff of the first connection: 100 ms doubling to 2 s, with jitter. */
function firstConnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 5), 2000) + Math.floor(Math.random() * 100)
}

/** Published subjects remembered with their prefix (bounded; rebuilt when full). */
const WIRE_SUBJECTS_KEPT = 1024

export class NatsBus implements Bus {
  readonly stats = new BusCounters()
  readonly #opts: NatsBusOptions
  readonly #prefix: string
  readonly #subjects = new Map<string, Listening>()
  readonly #wireSubjects = new Map<string, string>()
  #nc: NatsConnection | undefined
  #connected = false
  #closed = false
  #reconnects = 0
  #retry: NodeJS.Timeout | undefined
  #wake: (() => void) | undefined
  #started: Promise<void>

  constructor(opts: NatsBusOptions) {
    this.#opts = opts
    this.#prefix = opts.prefix ?? 'partyline.'
    opts.health?.failing(`connecting to ${opts.servers}`)
    this.#started = this.#connectLoop()
  }

  /** Whether publishes go out now. */
  get connected(): boolean {
    return this.#connected
  }

  /** Times the connection came back after it was lost. */
  get reconnects(): number {
    return this.#reconnects
  }

  publish(subject: string, data: Uint8Array): void {
    const wire = this.#connected ? this.#wireSubject(subject) : undefined
    if (wire === undefined) {
      this.stats.dropped++
      return
    }
    try {
      this.#nc!.publish(wire, data)
      this.stats.published++
      this.stats.bytesOut += data.length
    } catch {
      // closed under us, or larger than the server's max_payload
      this.stats.dropped++
    }
  }

  /**
   * `subject` checked and prefixed, or undefined if it is not a subject. Remembered: a node
   * publishes to a handful of subjects (the other nodes' inboxes) for every turn.
   */
  #wireSubject(subject: string): string | undefined {
    const known = this.#wireSubjects.get(subject)
    if (known !== undefined) return known
    if (!isSubject(subject)) return undefined
    if (this.#wireSubjects.size >= WIRE_SUBJECTS_KEPT) this.#wireSubjects.clear()
    const wire = this.#prefix + subject
    this.#wireSubjects.set(subject, wire)
    return wire
  }

  subscribe(subject: string, handler: Handler): Subscription {
    checkSubject(subject)
    let listening = this.#subjects.get(subject)
    if (!listening) {
      listening = { handlers: new Set(), sub: undefined }
      this.#subjects.set(subject, listening)
      if (this.#nc) this.#listen(subject, listening, this.#nc)
    }
    const set = listening.handlers
    // Wrap so that the same function subscribed twice counts twice.
    const own: Handler = (data) => handler(data)
    set.add(own)
    return {
      unsubscribe: () => {
        if (!set.delete(own) || set.size > 0) return
        if (this.#subjects.get(subject) !== listening) return
        this.#subjects.delete(subject)
        listening.sub?.unsubscribe()
      },
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#connected = false
    clearTimeout(this.#retry)
    this.#wake?.()
    await this.#started
    this.#subjects.clear()
    // Flushes what is buffered if connected; ends the reconnect loop if not.
    await this.#nc?.close().catch(() => {})
  }

  #listen(subject: string, listening: Listening, nc: NatsConnection): void {
    listening.sub = nc.subscribe(this.#prefix + subject, {
      callback: (err, msg) => {
        if (err) return
        this.stats.received++
        this.stats.bytesIn += msg.data.length
        for (const h of [...listening.handlers]) {
          if (!listening.handlers.has(h)) continue
          try {
            h(msg.data)
          } catch (e) {
            this.#opts.logger?.error({ err: e, subject }, 'bus handler failed')
          }
        }
      },
    })
  }

  async #connectLoop(): Promise<void> {
    const { servers, logger, health } = this.#opts
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        const nc = await connect(natsConnectionOptions(servers, this.#opts.name ?? 'partyline'))
        if (this.#closed) {
          await nc.close()
          return
        }
        this.#nc = nc
        this.#connected = true
        for (const [subject, listening] of this.#subjects) this.#listen(subject, listening, nc)
        health?.ok()
        logger?.info({ nats: nc.getServer() }, 'nats connected')
        void this.#watch(nc)
        void nc.closed().then((err) => this.#lost(err))
        return
      } catch (err) {
        if (attempt === 0) logger?.warn({ nats: servers, err: (err as Error).message }, 'nats unreachable; retrying')
        health?.failing(`unreachable (${servers}): ${(err as Error).message}; retrying`)
        await new Promise<void>((resolve) => {
          this.#wake = resolve
          this.#retry = setTimeout(resolve, firstConnectDelay(attempt))
        })
      }
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    const { logger, health } = this.#opts
    for await (const s of nc.status()) {
      if (s.type === Events.Disconnect) {
        this.#connected = false
        health?.failing(`unreachable (${String(s.data)}): disconnected; retrying`)
        logger?.warn({ nats: s.data }, 'nats disconnected; retrying')
      } else if (s.type === Events.Reconnect) {
        this.#connected = !this.#closed
        this.#reconnects++
        health?.ok()
        logger?.info({ nats: s.data }, 'nats reconnected')
      }
    }
  }

  /**
   * The connection closed: by us, or by nats.js on an error it does not retry. Start over
   * in that case.
   */
  #lost(err: Error | void): void {
    const { logger, health } = this.#opts
    if (this.#closed) return
    this.#connected = false
    this.#nc = undefined
    for (const listening of this.#subjects.values()) listening.sub = undefined
    health?.failing(`connection closed (${err?.message ?? 'no reason given'}); reconnecting`)
    logger?.warn({ err: err?.message }, 'nats connection closed; reconnecting')
    this.#started = this.#connectLoop()
  }
}
