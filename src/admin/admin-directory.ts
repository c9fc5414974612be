/**
 * What the admin API shows and does: the rooms an operator sees, with their players and
 * figures, the nodes' main figures, and the operator's actions on a room.
 */
import type { ServerMetrics } from '../metrics.js'
import type { RoomRegistry } from '../rooms/registry.js'
import type { OperatorAction, OperatorOutcome } from '../rooms/room-events.js'

export interface AdminPlayer {
  readonly id: number
  readonly name?: string
  /** False while a player with a sid is away (connection down, place held). */
  readonly connected: boolean
  /** The node its connection is on. */
  readonly node: string
}

export interface AdminRoom {
  readonly code: string
  readonly name: string
  /** The node running the room's actor (its owner). */
  readonly node: string
  readonly preset: boolean
  readonly public: boolean
  /** `start` was given: the room takes no new players. */
  readonly started: boolean
  readonly hostConnected: boolean
  readonly maxPlayers: number
  readonly players: readonly AdminPlayer[]
  /** Frames and payload bytes: `in` from the players, `out` delivered to players. */
  readonly frames: { readonly in: number; readonly out: number }
  readonly bytes: { readonly in: number; readonly out: number }
  readonly ageMs: number
}

export interface AdminNode {
  readonly id: string
  /** The node that answered. */
  readonly self: boolean
  /** Open WebSocket connections by role. */
  readonly connections: Readonly<Record<string, number>>
  readonly rooms: number
  /** WebSocket frames per second over the last second or more, each way (`in` = received). */
  readonly framesPerSecond: { readonly in: number; readonly out: number }
  /** p99 of a bus round trip, when the node is clustered and measures it; else null. */
  readonly busP99Ms: number | null
}

/** `GET /api/admin/rooms`. */
export interface AdminOverview {
  /** `node`: the rooms of the node that answered; `cluster`: of every node. */
  readonly scope: 'node' | 'cluster'
  readonly nodes: readonly AdminNode[]
  readonly rooms: readonly AdminRoom[]
}

/**
 * The rooms an operator sees and acts on.
 *
 * Contract: `overview()` lists every room in scope once, each with the node that owns it;
 * `act()` carries the action out through the room's mailbox (in turn with everything else
 * that happens to the room, host connected or not) and resolves with its outcome: done, or
 * refused with a code (`no_such_room` for a code with no room in scope, `unknown_player`,
 * `preset_room`). A cluster-wide directory answers the same shapes with `scope: 'cluster'`,
 * forwarding an action to the room's owner; this node's directory is `NodeDirectory`.
 */
export interface AdminDirectory {
  overview(): Promise<AdminOverview>
  act(code: string, action: OperatorAction): Promise<OperatorOutcome>
}

export interface NodeDirectoryOptions {
  readonly registry: RoomRegistry
  readonly metrics: ServerMetrics
  readonly node: string
  /** The p99 of this node's recent bus round trips (a cluster); null when not measured. */
  readonly busP99Ms?: () => number | null
  readonly now?: () => number
}

/** The rooms of this node (`scope: 'node'`); a cluster's directory merges every node's (cluster-directory.ts). */
export class NodeDirectory implements AdminDirectory {
  #opts: NodeDirectoryOptions
  #now: () => number
  /** Frame counters at the start of the current rate window, and the last rate measured. */
  #window: { at: number; in: number; out: number }
  #rate = { in: 0, out: 0 }

  constructor(opts: NodeDirectoryOptions) {
    this.#opts = opts
    this.#now = opts.now ?? Date.now
    this.#window = { at: this.#now(), ...opts.metrics.frames }
  }

  async overview(): Promise<AdminOverview> {
    const { registry, metrics, node } = this.#opts
    const now = this.#now()
    const rooms: AdminRoom[] = []
    for (const room of registry.rooms()) {
      const f = room.figures()
      rooms.push({
        code: room.key,
        name: room.name,
        node: room.node || node,
        preset: room.isPreset,
        public: room.isPublic,
        started: !room.acceptConns,
        hostConnected: room.hostPresent,
        maxPlayers: room.maxPlayers,
        players: f.players.map((p) => ({ id: p.id, ...(p.name === undefined ? {} : { name: p.name }), connected: !p.away, node: p.node ?? node })),
        frames: { in: f.fromPlayers.frames, out: f.toPlayers.frames },
        bytes: { in: f.fromPlayers.bytes, out: f.toPlayers.bytes },
        ageMs: Math.max(0, now - f.createdAt),
      })
    }
    rooms.sort((a, b) => Number(a.preset) - Number(b.preset) || a.code.localeCompare(b.code))
    return {
      scope: 'node',
      nodes: [{ id: node, self: true, connections: { ...metrics.connections }, rooms: registry.size, framesPerSecond: this.#framesPerSecond(now), busP99Ms: this.#opts.busP99Ms?.() ?? null }],
      rooms,
    }
  }

  async act(code: string, action: OperatorAction): Promise<OperatorOutcome> {
    const room = this.#opts.registry.get(code)
    if (!room) return { ok: false, code: 'no_such_room', reason: `no room ${code}` }
    return room.operate(action)
  }

  /** The rate over the window that closed last; a window closes once it is a second old. */
  #framesPerSecond(now: number): { in: number; out: number } {
    const { frames } = this.#opts.metrics
    const elapsed = now - this.#window.at
    if (elapsed >= 1000) {
      this.#rate = { in: ((frames.in - this.#window.in) * 1000) / elapsed, out: ((frames.out - this.#window.out) * 1000) / elapsed }
      this.#window = { at: now, in: frames.in, out: frames.out }
    }
    return this.#rate
  }
}
