/**
 * This node as one of a cluster: bridging (doors for sockets here whose room runs elsewhere,
 * ports for connections elsewhere whose room runs here), failover (adopting the rooms of
 * nodes whose lease lapsed), hand-over on a graceful stop, and the degraded modes.
 *
 * Built only when the Store is shared (Redis); a single node never makes one.
 */
import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Bus, Subscription } from '../bus/bus.js'
import { CloseCode } from '../errors.js'
import type { AdminDirectory, AdminOverview } from '../admin/admin-directory.js'
import type { OperatorAction, OperatorOutcome } from '../rooms/room-events.js'
import type { RoomRegistry } from '../rooms/registry.js'
import type { RoomLocator } from '../rooms/room-locator.js'
import type { RoomRestore } from '../rooms/room.js'
import type { Ownership, Store } from '../store/store.js'
import { Doors } from './doors.js'
import { Failover } from './failover.js'
import { NodeLink } from './node-link.js'
import { Ports } from './ports.js'
import { MOVED_SUBJECT, Op, decodeMoved, encodeMoved, type WireOp } from './wire.js'

export interface ClusterOptions {
  readonly bus: Bus
  readonly store: Store
  readonly node: string
  readonly registry: RoomRegistry
  readonly locator: RoomLocator
  readonly leaseMs: number
  /** Past this long without the Bus, bridged connections are closed with 1012. */
  readonly playerGraceMs: number
  readonly logger: Logger
}

/** Round trips kept for `busP99Ms`. */
const ROUND_TRIPS_KEPT = 200

/** How often the Bus's connection is looked at (degraded mode). */
const BUS_WATCH_MS = 250

export class Cluster {
  readonly doors: Doors
  readonly ports: Ports
  readonly #opts: ClusterOptions
  readonly #link: NodeLink
  readonly #moved: Subscription
  readonly #failover: Failover
  readonly #busWatch: NodeJS.Timeout
  #busDownSince: number | undefined
  #bridgesDropped = false
  #handOvers = new Map<number, () => void>()
  #nextHandOver = 1
  /** Questions to other nodes waiting for their answer (the admin API). */
  #asks = new Map<number, (answer: unknown) => void>()
  #nextAsk = 1
  /** Round trips of the last questions answered (ms), for `busP99Ms`. */
  #roundTrips: number[] = []
  /** This node's rooms as operators see them, to answer other nodes. */
  #admin: AdminDirectory | undefined
  /** Rooms adopted after their owner died, and rooms handed to other nodes / taken from them. */
  readonly counts = { adopted: 0, handedOver: 0, takenOver: 0 }

  constructor(opts: ClusterOptions) {
    this.#opts = opts
    const { bus, node, registry } = opts
    this.#link = new NodeLink(bus, node, (from, ops) => this.#receive(from, ops))
    this.doors = new Doors(this.#link, registry)
    this.ports = new Ports(this.#link, registry)
    this.#moved = bus.subscribe(MOVED_SUBJECT, (bytes) => {
      const moved = decodeMoved(bytes)
      if (!moved) return
      opts.locator.learned(moved.code, moved.owner)
      this.doors.moved(moved.code, moved.owner)
    })
    this.#failover = new Failover({
      store: opts.store,
      registry,
      node,
      leaseMs: opts.leaseMs,
      logger: opts.logger,
      adopted: (code, owner) => {
        this.counts.adopted++
        this.#announce(code, owner)
      },
      lapsed: (dead) => {
        this.ports.edgeGone(dead)
        // Adoption takes a round; a door still aimed at the dead node well after that is stranded.
        this.doors.ownerLost(dead, 2 * opts.leaseMs + 1000)
      },
    })
    this.#busWatch = setInterval(() => this.#watchBus(), BUS_WATCH_MS)
    this.#busWatch.unref()
  }

  /** Run one failover round now (tests; normally on a timer). */
  failoverRound(): Promise<void> {
    return this.#failover.tick()
  }

  #announce(code: string, owner: Ownership): void {
    this.#opts.bus.publish(MOVED_SUBJECT, encodeMoved(code, owner))
  }

  #receive(from: string, ops: WireOp[]): void {
    for (const op of ops) {
      const kind = op[0]
      if (kind < Op.Send) this.ports.handle(from, op)
      else if (kind < Op.HandOver) this.doors.handle(from, op)
      else if (kind === Op.HandOver) this.#takeOver(from, op[1], op[2], op[3])
      else if (kind === Op.HandOverDone) this.#handOvers.get(op[1])?.()
      else if (kind === Op.AdminAsk) this.#answer(from, op[1], this.#admin?.overview())
      else if (kind === Op.AdminAct) this.#answer(from, op[1], this.#admin?.act(op[2], op[3]))
      else if (kind === Op.AdminAnswer) this.#asks.get(op[1])?.(op[2])
      else if (kind === Op.Audit) this.doors.audited(from, op[1], op[2])
      else if (kind === Op.Gone) this.ports.gone(from, op[1], op[2])
      else if (kind === Op.AuditMe) this.ports.audit(from)
    }
  }

  /** Answer other nodes' admin questions from `directory` (this node's rooms). */
  answerAdmin(directory: AdminDirectory): void {
    this.#admin = directory
  }

  #answer(to: string, id: number, answer: Promise<unknown> | undefined): void {
    void (answer ?? Promise.resolve(undefined)).then(
      (value) => this.#link.send(to, [Op.AdminAnswer, id, value ?? null], 4096),
      () => this.#link.send(to, [Op.AdminAnswer, id, null]),
    )
  }

  #ask<T>(node: string, op: (id: number) => WireOp, timeoutMs: number): Promise<T | undefined> {
    const id = this.#nextAsk++
    const asked = performance.now()
    return new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.#asks.delete(id)
        resolve(undefined)
      }, timeoutMs)
      timer.unref()
      this.#asks.set(id, (answer) => {
        clearTimeout(timer)
        this.#roundTrips.push(performance.now() - asked)
        if (this.#roundTrips.length > ROUND_TRIPS_KEPT) this.#roundTrips.shift()
        this.#asks.delete(id)
        resolve((answer ?? undefined) as T | undefined)
      })
      this.#link.send(node, op(id))
    })
  }

  /**
   * The p99 of the last round trips of questions to other nodes (the admin API asks every
   * node on each refresh), in ms; null before any was answered.
   */
  busP99Ms(): number | null {
    if (this.#roundTrips.length === 0) return null
    const sorted = [...this.#roundTrips].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!
  }

  /** Node `node`'s rooms as its operators see them; undefined if it did not answer in time. */
  askOverview(node: string, timeoutMs: number): Promise<AdminOverview | undefined> {
    return this.#ask<AdminOverview>(node, (id) => [Op.AdminAsk, id], timeoutMs)
  }

  /** Carry out an operator's action on the owner of room `code`. */
  askAct(node: string, code: string, action: OperatorAction, timeoutMs: number): Promise<OperatorOutcome | undefined> {
    return this.#ask<OperatorOutcome>(node, (id) => [Op.AdminAct, id, code, action], timeoutMs)
  }

  /** Another node hands this one a room (it is stopping). */
  #takeOver(from: string, id: number, restore: RoomRestore, owner: Ownership): void {
    this.#opts.registry.adopt(restore, owner)
    this.counts.takenOver++
    this.#link.send(from, [Op.HandOverDone, id])
    this.#link.flush()
    this.#announce(restore.record.key, owner)
  }

  /**
   * Graceful stop: hand every room this node owns to a live node (round robin), with its kept
   * frames; once the new owner has it, close the room's connections here with 1012. Rooms
   * that could not be handed over by `deadline` are left to the caller (closed with 1012;
   * their records stay for adoption). Resolves when done or at the deadline.
   */
  async handOver(deadline: number): Promise<void> {
    // From here on this node's rooms end on purpose: nothing may adopt them back.
    this.#failover.stop()
    const { store, node, registry, logger } = this.#opts
    const live = await store.nodes().then((n) => n.live.filter((x) => x !== node), () => [] as string[])
    if (live.length === 0) return
    let next = 0
    const rooms = [...registry.rooms()].filter((r) => !r.isPreset && registry.ownership(r.key) !== undefined)
    await Promise.all(
      rooms.map(async (room) => {
        const target = live[next++ % live.length]!
        const mine = registry.ownership(room.key)!
        const handed = await room.handOver()
        if (!handed) return
        registry.movedAway(room.key)
        this.ports.release(room.key)
        try {
          const owner = await store.adoptRoom(room.key, mine, target)
          if (!owner) return
          const id = this.#nextHandOver++
          const done = new Promise<void>((resolve) => {
            this.#handOvers.set(id, resolve)
            setTimeout(resolve, Math.max(0, deadline - Date.now())).unref()
          })
          this.#link.send(target, [Op.HandOver, id, handed.restore, owner], 1024)
          await done
          this.#handOvers.delete(id)
          this.counts.handedOver++
          logger.info({ room: room.key, to: target }, 'room handed over')
        } catch (err) {
          logger.warn({ err, room: room.key }, 'hand-over failed; the room stays for adoption')
        } finally {
          for (const port of handed.ports) port.close(CloseCode.ServiceRestart)
          handed.host?.restarting()
        }
      }),
    )
  }

  /** NATS down: cross-node frames are dropped (counted by the Bus); past the player grace, bridges are closed. */
  #watchBus(): void {
    const bus = this.#opts.bus as Bus & { readonly connected?: boolean }
    if (bus.connected !== false) {
      // Back: what was said during the outage is gone (leaves included); both sides check.
      if (this.#busDownSince !== undefined && !this.#bridgesDropped) {
        this.ports.audit()
        this.doors.askAudit()
      }
      this.#busDownSince = undefined
      this.#bridgesDropped = false
      return
    }
    const now = Date.now()
    this.#busDownSince ??= now
    if (!this.#bridgesDropped && now - this.#busDownSince > this.#opts.playerGraceMs) {
      this.#bridgesDropped = true
      this.#opts.logger.warn('the bus has been unreachable longer than the player grace: closing bridged connections (1012)')
      this.doors.closeAll()
      this.ports.allEdgesGone()
    }
  }

  close(): void {
    this.#failover.stop()
    clearInterval(this.#busWatch)
    this.#moved.unsubscribe()
    this.#link.close()
  }
}

/** The cluster's metrics (read at scrape time). */
export function registerClusterMetrics(registry: Registry, cluster: Cluster): void {
  new Gauge({
    name: 'partyline_bridged_connections',
    help: 'Connections bridged between nodes: side=door (the socket is here, its room elsewhere) or port (the room is here, the socket elsewhere), by role.',
    labelNames: ['side', 'role'],
    registers: [registry],
    collect() {
      const d = cluster.doors.counts
      const p = cluster.ports.counts
      this.set({ side: 'door', role: 'player' }, d.player)
      this.set({ side: 'door', role: 'host' }, d.host)
      this.set({ side: 'port', role: 'player' }, p.player)
      this.set({ side: 'port', role: 'host' }, p.host)
    },
  })
  new Counter({
    name: 'partyline_rooms_moved_total',
    help: 'Rooms that changed node: adopted (their owner died), handed_over (to another node on a graceful stop), taken_over (from a stopping node).',
    labelNames: ['how'],
    registers: [registry],
    collect() {
      this.reset()
      this.inc({ how: 'adopted' }, cluster.counts.adopted)
      this.inc({ how: 'handed_over' }, cluster.counts.handedOver)
      this.inc({ how: 'taken_over' }, cluster.counts.takenOver)
    },
  })
}
