/**
 * The engines of a node, built from the settings in one place: the Store (memory, or Redis
 * with `REDIS_URL`), the Bus (memory, or NATS with `NATS_URL`), the node's one id, and its
 * lease. An engine that cannot be reached at start is not fatal: it reports through
 * readiness (`redis`, `nats`) and keeps trying for ever.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Settings } from './config.js'
import type { Readiness } from './readiness.js'
import type { Bus } from './bus/bus.js'
import { MemoryBus } from './bus/bus-memory.js'
import { NatsBus } from './bus/bus-nats.js'
import type { Store } from './store/store.js'
import { MemoryStore } from './store/store-memory.js'
import { RedisStore } from './store/store-redis.js'

export type EngineName = 'redis' | 'nats'

export interface Engines {
  readonly store: Store
  readonly bus: Bus
  /** How this node names itself everywhere (`PARTYLINE_NODE_ID`, or generated). */
  readonly nodeId: string
  readonly kinds: { readonly store: 'memory' | 'redis'; readonly bus: 'memory' | 'nats' }
  /** Reconnects per configured network engine since start. */
  reconnects(): Iterable<readonly [EngineName, number]>
  /** Ends the lease (this node's rooms become adoptable at once), then closes bus and store. */
  close(): Promise<void>
}

export interface EngineDeps {
  readonly logger: Logger
  readonly readiness: Readiness
  /** Use these instead of building them (tests; several nodes in one process). */
  readonly store?: Store
  readonly bus?: Bus
  /** Keep a node lease in the store; default: when the store is Redis (shared). */
  readonly lease?: boolean
}

/** `PARTYLINE_NODE_ID`, or the hostname (as much as fits `[A-Za-z0-9_-]`) and a random suffix. */
export function nodeIdFrom(settings: Pick<Settings, 'nodeId'>, host = hostname()): string {
  if (settings.nodeId !== '') return settings.nodeId
  const base = host.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50) || 'node'
  return `${base}-${randomBytes(4).toString('hex')}`
}

export function createEngines(settings: Settings, deps: EngineDeps): Engines {
  const { logger, readiness } = deps
  const nodeId = nodeIdFrom(settings)
  const expiry = {
    // A room whose owner died and that nobody adopted ends once its host could no longer
    // resume, but never before live nodes had time to notice the lapse and adopt it.
    orphanTtlMs: Math.max(settings.hostGraceMs, settings.playerGraceMs, 2 * settings.nodeLeaseMs),
    orphanCooldownMs: settings.codeCooldownMs,
  }
  const store =
    deps.store ??
    (settings.redisUrl !== ''
      ? new RedisStore({
          url: settings.redisUrl,
          ...expiry,
          connectionName: nodeId,
          health: readiness.component('redis'),
          logger: logger.child({ engine: 'redis' }),
        })
      : // With a data directory the embedded store keeps game snapshots on disk (rooms stay in memory).
        new MemoryStore({ ...expiry, ...(settings.dataDir ? { dataDir: settings.dataDir } : {}) }))
  const bus =
    deps.bus ??
    (settings.natsUrl !== ''
      ? new NatsBus({
          servers: settings.natsUrl,
          name: nodeId,
          health: readiness.component('nats'),
          logger: logger.child({ engine: 'nats' }),
        })
      : new MemoryBus())
  const redis = store instanceof RedisStore ? store : undefined
  const nats = bus instanceof NatsBus ? bus : undefined
  const lease = (deps.lease ?? redis !== undefined) ? new NodeLease(store, nodeId, settings.nodeLeaseMs, logger) : undefined

  let closing: Promise<void> | undefined
  return {
    store,
    bus,
    nodeId,
    kinds: { store: redis ? 'redis' : 'memory', bus: nats ? 'nats' : 'memory' },
    *reconnects() {
      if (redis) yield ['redis', redis.reconnects] as const
      if (nats) yield ['nats', nats.reconnects] as const
    },
    close() {
      closing ??= (async () => {
        await lease?.stop()
        await bus.close()
        await store.close()
      })()
      return closing
    },
  }
}

/**
 * This node's lease in the store, renewed every third of its length so that one lost
 * renewal does not let it lapse. A failed renewal is logged once per outage; the store's
 * readiness already says why.
 */
class NodeLease {
  readonly #timer: NodeJS.Timeout
  #pending: Promise<void> = Promise.resolve()
  #failing = false

  constructor(
    readonly store: Store,
    readonly node: string,
    readonly ttlMs: number,
    readonly logger: Logger,
  ) {
    this.#renew()
    this.#timer = setInterval(() => this.#renew(), Math.max(100, Math.floor(ttlMs / 3)))
    this.#timer.unref()
  }

  #renew(): void {
    this.#pending = this.store.renewLease(this.node, this.ttlMs).then(
      () => {
        if (this.#failing) this.logger.info({ node: this.node }, 'node lease renewed again')
        this.#failing = false
      },
      (err: unknown) => {
        if (!this.#failing) this.logger.warn({ node: this.node, err: (err as Error).message }, 'node lease renewal failed')
        this.#failing = true
      },
    )
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#pending
    await this.store.dropLease(this.node).catch(() => {})
  }
}

/** The engines' metrics: node identity, reconnects, bus traffic (read at scrape time). */
export function registerEngineMetrics(registry: Registry, engines: Engines): void {
  new Gauge({
    name: 'partyline_node_info',
    help: 'This node: its id and the engines it runs on (always 1).',
    labelNames: ['node', 'store', 'bus'],
    registers: [registry],
    collect() {
      this.set({ node: engines.nodeId, store: engines.kinds.store, bus: engines.kinds.bus }, 1)
    },
  })
  new Counter({
    name: 'partyline_engine_reconnects_total',
    help: 'Times the connection to Redis or NATS came back after it was lost.',
    labelNames: ['engine'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [engine, n] of engines.reconnects()) this.inc({ engine }, n)
    },
  })
  const stats = engines.bus.stats
  new Counter({
    name: 'partyline_bus_messages_total',
    help: 'Bus messages: out = published, in = received by this node, dropped = not sent (bus unreachable, closed, bad subject).',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ direction: 'out' }, stats.published)
      this.inc({ direction: 'in' }, stats.received)
      this.inc({ direction: 'dropped' }, stats.dropped)
    },
  })
  new Counter({
    name: 'partyline_bus_bytes_total',
    help: 'Bus payload bytes by direction.',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ direction: 'out' }, stats.bytesOut)
      this.inc({ direction: 'in' }, stats.bytesIn)
    },
  })
}
