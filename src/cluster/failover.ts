/**
 * Failover: every node watches the leases. For each node whose lease lapsed, it tries to
 * adopt every room that node owned (`adoptRoom` is fenced: of the nodes that try, exactly
 * one wins each room), rebuilds it from its record, and tells the cluster the room moved.
 * It also lets go of the connections bridged from the lapsed node.
 *
 * The same watch keeps this node's own rooms honest: each is checked against the directory
 * (written back if the store lost it, dropped here if another node owns it now).
 */
import type { Logger } from 'pino'
import type { RoomRegistry } from '../rooms/registry.js'
import type { Ownership, Store } from '../store/store.js'

export interface FailoverOptions {
  readonly store: Store
  readonly registry: RoomRegistry
  readonly node: string
  readonly leaseMs: number
  readonly logger: Logger
  /** A room now runs here after its owner died. */
  readonly adopted: (code: string, owner: Ownership) => void
  /** Node `node` lapsed: drop what was bridged from it. */
  readonly lapsed: (node: string) => void
}

/** How often own rooms are checked against the directory. */
const VERIFY_EVERY_MS = 1000

export class Failover {
  readonly #opts: FailoverOptions
  readonly #timer: NodeJS.Timeout
  #running = false
  #first = true
  #lastVerify = 0
  /** Lapsed nodes already let go of (until they are live again). */
  readonly #gone = new Set<string>()
  #stopped = false
  #failing = false
  /** No adoption before this time (the store just came back). */
  #quietUntil = 0
  /** Own codes not running here, seen in the last round. */
  #strays = new Set<string>()

  constructor(opts: FailoverOptions) {
    this.#opts = opts
    const every = Math.max(100, Math.floor(opts.leaseMs / 5))
    this.#timer = setInterval(() => void this.tick(), every)
    this.#timer.unref()
    void this.tick()
  }

  stop(): void {
    this.#stopped = true
    clearInterval(this.#timer)
  }

  /** One round: adopt what lapsed nodes owned, verify own rooms. */
  async tick(): Promise<void> {
    if (this.#running || this.#stopped) return
    this.#running = true
    const wasFailing = this.#failing
    // Leases could not be renewed while the store was unreachable: give every node one lease
    // to renew before taking anything from it.
    if (wasFailing) this.#quietUntil = Date.now() + this.#opts.leaseMs
    try {
      await this.#round()
      if (wasFailing) this.#opts.logger.info('failover rounds run again')
      this.#failing = false
    } catch (err) {
      // The store's readiness says it is down; say so here once per outage.
      if (!wasFailing) this.#opts.logger.warn({ err: (err as Error).message }, 'failover round failed; retrying')
      this.#failing = true
    } finally {
      this.#running = false
    }
  }

  async #round(): Promise<void> {
    const { store, node, registry } = this.#opts
    const nodes = await store.nodes()
    for (const live of nodes.live) this.#gone.delete(live)
    for (const { node: dead, forMs } of nodes.lapsed) {
      if (dead === node || Date.now() < this.#quietUntil) continue
      if (!this.#gone.has(dead)) {
        this.#gone.add(dead)
        this.#opts.lapsed(dead)
      }
      // The graces run from when the node was lost (its lease lapsed), not from now.
      await this.#adopt(dead, await store.roomsOf(dead), forMs)
    }
    // Own rooms are checked once a second, not every round: lapsed leases must be seen
    // within a fifth of a lease, but a stray or a lost room can wait a second, and every
    // store round trip costs each node CPU even when nothing happens.
    if (Date.now() - this.#lastVerify < VERIFY_EVERY_MS) return
    this.#lastVerify = Date.now()
    // Rooms the directory says are this node's but that do not run here: a node restarted
    // with the same id, or a hand-over whose message never arrived. Adopted from their
    // records once seen two checks in a row (a claim in flight is never mistaken for one).
    const strays = (await store.roomsOf(node)).filter((code) => registry.ownership(code) === undefined)
    const confirmed = this.#first ? strays : strays.filter((code) => this.#strays.has(code))
    this.#first = false
    this.#strays = new Set(strays)
    if (confirmed.length > 0) await this.#adopt(node, confirmed)
    await registry.verify()
  }

  async #adopt(from: string, codes: readonly string[], elapsedMs = 0): Promise<void> {
    const { store, registry, node } = this.#opts
    await Promise.all(
      codes.map(async (code) => {
        if (this.#stopped) return
        const owner = await store.owner(code)
        if (!owner || owner.node !== from) return
        if (from === node && registry.ownership(code)) return
        const won = await store.adoptRoom(code, owner, node)
        if (!won) return
        const record = await store.loadRoom(code)
        if (!record) {
          this.#opts.logger.warn({ room: code }, 'adopted a room without a record; releasing it')
          await store.releaseRoom(code, won, 0).catch(() => {})
          return
        }
        registry.adopt({ record, elapsedMs }, won)
        this.#opts.adopted(code, won)
      }),
    )
  }
}
