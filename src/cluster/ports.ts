/**
 * The owner side of bridging: for each connection bridged from another node, a `PlayerPort`
 * or a `Host` that this node's Room talks to as to any other; what it is told becomes ops
 * for the door on the edge node. Ops from doors become events in the room's mailbox, so
 * the Room stays the only code that changes a room.
 */
import { CloseCode, type ErrorCode } from '../errors.js'
import type { AttachInfo, Host, HostControl, RoomStateView } from '../rooms/host.js'
import type { PlayerPort } from '../rooms/player-port.js'
import type { RoomRegistry } from '../rooms/registry.js'
import type { NodeLink } from './node-link.js'
import { Op, type HostCall, type HostCommandName } from './wire.js'

/**
 * Bridged connections by edge node, then by their id there: looked up for every frame a
 * door sends, so without building a key string per frame.
 */
class ByEdge<T> {
  readonly #edges = new Map<string, Map<number, T>>()
  #size = 0

  get size(): number {
    return this.#size
  }
  get(edge: string, cid: number): T | undefined {
    return this.#edges.get(edge)?.get(cid)
  }
  set(edge: string, cid: number, value: T): void {
    let of = this.#edges.get(edge)
    if (!of) this.#edges.set(edge, (of = new Map()))
    if (!of.has(cid)) this.#size++
    of.set(cid, value)
  }
  delete(edge: string, cid: number): boolean {
    const of = this.#edges.get(edge)
    if (!of?.delete(cid)) return false
    this.#size--
    if (of.size === 0) this.#edges.delete(edge)
    return true
  }
  /** Every connection of `edge`, taken out. */
  take(edge: string): T[] {
    const of = this.#edges.get(edge)
    if (!of) return []
    this.#edges.delete(edge)
    this.#size -= of.size
    return [...of.values()]
  }
  edges(): string[] {
    return [...this.#edges.keys()]
  }
  *values(): IterableIterator<T> {
    for (const of of this.#edges.values()) yield* of.values()
  }
}

class RemotePlayerPort implements PlayerPort {
  constructor(
    readonly ports: Ports,
    readonly edge: string,
    readonly cid: number,
    readonly code: string,
    readonly address: string,
  ) {}

  get node(): string {
    return this.edge
  }
  send(data: Uint8Array | string): void {
    this.ports.link.sendFrame(this.edge, this.cid, data)
  }
  close(code: CloseCode): void {
    if (this.ports.forget(this)) this.ports.link.send(this.edge, [Op.Close, this.cid, code])
  }
  refuse(code: CloseCode): void {
    if (this.ports.forget(this)) this.ports.link.send(this.edge, [Op.Refuse, this.cid, code])
  }
  joined(id: number): void {
    this.ports.link.send(this.edge, [Op.Joined, this.cid, id])
  }
}

class RemoteHost implements Host {
  control: HostControl | undefined

  constructor(
    readonly ports: Ports,
    readonly edge: string,
    readonly cid: number,
    readonly code: string,
  ) {}

  #call(c: HostCall, size = 16): void {
    this.ports.link.send(this.edge, [Op.HostCall, this.cid, c], size)
  }
  attached(info: AttachInfo, control: HostControl): void {
    this.control = control
    this.#call(['attached', { ...info }])
  }
  state(s: RoomStateView): void {
    this.#call(['state', s], 32 + s.players.length * 8)
  }
  playerJoined(player: number, name?: string): void {
    this.#call(['joined', player, name ?? null])
  }
  playerLeft(player: number): void {
    this.#call(['left', player])
  }
  playerAway(player: number): void {
    this.#call(['away', player])
  }
  playerBack(player: number, replaced: boolean): void {
    this.#call(['back', player, replaced])
  }
  fromPlayer(player: number, data: Uint8Array | string): void {
    this.#call(['from', player, data], typeof data === 'string' ? data.length * 3 : data.byteLength)
  }
  error(code: ErrorCode, reason: string): void {
    this.#call(['error', code, reason])
  }
  stopped(): void {
    this.ports.forgetHost(this)
    this.#call(['stopped'])
  }
  restarting(): void {
    if (this.ports.forgetHost(this)) this.#call(['restarting'])
  }
  replaced(): void {
    this.ports.forgetHost(this)
    this.#call(['replaced'])
  }
}

export class Ports {
  readonly link: NodeLink
  readonly #registry: RoomRegistry
  readonly #players = new ByEdge<RemotePlayerPort>()
  readonly #hosts = new ByEdge<RemoteHost>()

  constructor(link: NodeLink, registry: RoomRegistry) {
    this.link = link
    this.#registry = registry
  }

  get counts(): { readonly player: number; readonly host: number } {
    return { player: this.#players.size, host: this.#hosts.size }
  }

  /** @internal true if the port was still bridged. */
  forget(port: RemotePlayerPort): boolean {
    if (this.#players.get(port.edge, port.cid) !== port) return false
    this.#players.delete(port.edge, port.cid)
    return true
  }

  /** @internal */
  forgetHost(host: RemoteHost): boolean {
    if (this.#hosts.get(host.edge, host.cid) !== host) return false
    this.#hosts.delete(host.edge, host.cid)
    return true
  }

  /** Ops from a door on node `from`. */
  handle(from: string, op: readonly unknown[]): void {
    const cid = op[1] as number
    switch (op[0]) {
      case Op.Join: {
        const [, , code, sid, name, address, rejoin] = op as [number, number, string, string | null, string | null, string, number | null]
        const port = new RemotePlayerPort(this, from, cid, code, address)
        const room = this.#registry.get(code)
        if (!room) return this.link.send(from, [Op.Refuse, cid, CloseCode.NoSuchRoom])
        this.#players.set(from, cid, port)
        return room.post({ type: 'player-connect', port, sid: sid ?? undefined, name: name ?? undefined, ...(rejoin === null ? {} : { rejoin }) })
      }
      case Op.PlayerFrame: {
        const port = this.#players.get(from, cid)
        if (port) this.#registry.get(port.code)?.post({ type: 'player-frame', port, data: op[2] as Uint8Array | string })
        return
      }
      case Op.Leave: {
        const port = this.#players.get(from, cid)
        if (!port) return
        this.#players.delete(from, cid)
        this.#registry.get(port.code)?.post({ type: 'player-disconnect', port })
        return
      }
      case Op.Resume: {
        const [, , code, token] = op as [number, number, string, string]
        const room = this.#registry.get(code)
        const host = new RemoteHost(this, from, cid, code)
        if (!room || room.isPreset) return this.link.send(from, [Op.HostCall, cid, ['refused', 'ended']])
        this.#hosts.set(from, cid, host)
        return room.post({
          type: 'host-resume',
          host,
          token,
          onRefused: (why) => {
            this.forgetHost(host)
            this.link.send(from, [Op.HostCall, cid, ['refused', why]])
          },
        })
      }
      case Op.HostCommand: {
        const control = this.#hosts.get(from, cid)?.control
        if (!control) return
        const name = op[2] as HostCommandName
        if (name === 'detached') this.#hosts.delete(from, cid)
        control[name]()
        return
      }
      case Op.Kick:
        return this.#hosts.get(from, cid)?.control?.kick(op[2] as number)
      case Op.HostSend: {
        const to = op[3] as number[] | null
        return this.#hosts.get(from, cid)?.control?.send(op[2] as Uint8Array | string, to ?? undefined)
      }
    }
  }

  /**
   * Node `edge` is gone (its lease lapsed) or unreachable past the player grace: its
   * connections are as good as dropped. Players with a sid are held (they may come back on
   * another node); its hosts are away (they may resume).
   */
  edgeGone(edge: string): void {
    for (const port of this.#players.take(edge)) this.#registry.get(port.code)?.post({ type: 'player-disconnect', port })
    for (const host of this.#hosts.take(edge)) host.control?.detached()
  }

  /**
   * After the Bus was unreachable: ask each edge (or only `edge`) which of its bridged
   * connections are still open; a leave sent during the outage was lost.
   */
  audit(edge?: string): void {
    const asked = new Map<string, { players: number[]; hosts: number[] }>()
    const of = (node: string) => {
      let a = asked.get(node)
      if (!a) asked.set(node, (a = { players: [], hosts: [] }))
      return a
    }
    for (const p of this.#players.values()) if (edge === undefined || p.edge === edge) of(p.edge).players.push(p.cid)
    for (const h of this.#hosts.values()) if (edge === undefined || h.edge === edge) of(h.edge).hosts.push(h.cid)
    for (const [node, a] of asked) this.link.send(node, [Op.Audit, a.players, a.hosts], 8 * (a.players.length + a.hosts.length))
  }

  /** An edge's answer to `audit`: these connections are gone there. */
  gone(edge: string, players: readonly number[], hosts: readonly number[]): void {
    for (const cid of players) {
      const port = this.#players.get(edge, cid)
      if (!port) continue
      this.#players.delete(edge, cid)
      this.#registry.get(port.code)?.post({ type: 'player-disconnect', port })
    }
    for (const cid of hosts) {
      const host = this.#hosts.get(edge, cid)
      if (!host) continue
      this.#hosts.delete(edge, cid)
      host.control?.detached()
    }
  }

  /** Every edge at once (the Bus was down past the player grace). */
  allEdgesGone(): void {
    const edges = new Set([...this.#players.edges(), ...this.#hosts.edges()])
    for (const e of edges) this.edgeGone(e)
  }

  /**
   * Room `code` left this node (hand-over): its bridged connections are forgotten without a
   * word, so that closing the room here does not close their sockets (they re-attach to
   * the new owner when it says the room moved). Hosts are told to reconnect (1012).
   */
  release(code: string): void {
    for (const port of [...this.#players.values()]) if (port.code === code) this.#players.delete(port.edge, port.cid)
    for (const host of [...this.#hosts.values()]) if (host.code === code) host.restarting()
  }
}
