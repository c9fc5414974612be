/**
 * The edge side of bridging: connections whose socket is on this node and whose room runs
 * on another (its owner). Each is a door with an id on this node (`cid`); what the phone or
 * page does goes to the owner as ops, what the room does comes back as ops for the door.
 *
 * When the room moves (its owner died and another node adopted it, or it was handed over),
 * a player's door re-attaches to the new owner with its player id and keeps its socket; a
 * host's door is closed with 1012, and the page resumes with its token wherever it lands.
 */
import { CloseCode, type ErrorCode } from '../errors.js'
import type { Host, HostControl } from '../rooms/host.js'
import type { PlayerEntry, PlayerEvent, PlayerPort } from '../rooms/player-port.js'
import type { RoomBridge } from '../rooms/room-bridge.js'
import type { RoomRegistry } from '../rooms/registry.js'
import type { Ownership } from '../store/store.js'
import type { NodeLink } from './node-link.js'
import { Op, dataSize, type HostCall, type HostCommandName } from './wire.js'

class PlayerDoor implements PlayerEntry {
  cid = 0
  id: number | undefined
  port: PlayerPort | undefined
  sid: string | undefined
  name: string | undefined
  /** The room when it runs on this node now (it moved here); else its owner node. */
  local: PlayerEntry | undefined
  node: string

  constructor(
    readonly doors: Doors,
    readonly code: string,
    node: string,
  ) {
    this.node = node
  }

  post(e: PlayerEvent): void {
    if (this.local) return this.local.post(e)
    const link = this.doors.link
    switch (e.type) {
      case 'player-connect':
        this.port = e.port
        this.sid = e.sid
        this.name = e.name
        this.cid = this.doors.opened(this)
        return link.send(this.node, [Op.Join, this.cid, this.code, e.sid ?? null, e.name ?? null, e.port.address, null])
      case 'player-frame':
        return link.send(this.node, [Op.PlayerFrame, this.cid, e.data], dataSize(e.data))
      case 'player-disconnect':
        if (this.doors.closed(this)) link.send(this.node, [Op.Leave, this.cid])
    }
  }

  /** The room moved to `owner`: re-attach there, keeping the socket and the player id. */
  moved(owner: Ownership, here: PlayerEntry | undefined): void {
    const port = this.port
    if (!port) return
    if (here) {
      this.local = here
      this.doors.closed(this)
      return here.post({ type: 'player-connect', port, sid: this.sid, name: this.name, ...(this.id === undefined ? {} : { rejoin: this.id }) })
    }
    this.node = owner.node
    this.doors.link.send(this.node, [Op.Join, this.cid, this.code, this.sid ?? null, this.name ?? null, port.address, this.id ?? null])
  }
}

class HostDoor implements HostControl {
  constructor(
    readonly doors: Doors,
    readonly cid: number,
    readonly key: string,
    public node: string,
    readonly host: Host,
    readonly onRefused: (why: 'bad_token' | 'ended') => void,
  ) {}

  #command(name: HostCommandName): void {
    this.doors.link.send(this.node, [Op.HostCommand, this.cid, name])
  }
  start(): void {
    this.#command('start')
  }
  stop(): void {
    this.#command('stop')
  }
  detached(): void {
    this.#command('detached')
    this.doors.closedHost(this)
  }
  showState(): void {
    this.#command('showState')
  }
  kick(player: number): void {
    this.doors.link.send(this.node, [Op.Kick, this.cid, player])
  }
  send(data: Uint8Array | string, to?: readonly number[]): void {
    this.doors.link.send(this.node, [Op.HostSend, this.cid, data, to ?? null], dataSize(data))
  }

  /** What the room said to this host, from its owner. */
  call(c: HostCall): void {
    const host = this.host
    switch (c[0]) {
      case 'attached':
        return host.attached(c[1], this)
      case 'state':
        return host.state(c[1])
      case 'joined':
        return c[2] === null ? host.playerJoined(c[1]) : host.playerJoined(c[1], c[2])
      case 'left':
        return host.playerLeft(c[1])
      case 'away':
        return host.playerAway?.(c[1])
      case 'back':
        return host.playerBack?.(c[1], c[2])
      case 'from':
        return host.fromPlayer(c[1], c[2])
      case 'error':
        return host.error(c[1] as ErrorCode, c[2])
      case 'stopped':
        this.doors.closedHost(this)
        return host.stopped()
      case 'restarting':
        this.doors.closedHost(this)
        return host.restarting()
      case 'replaced':
        this.doors.closedHost(this)
        return host.replaced()
      case 'refused':
        this.doors.closedHost(this)
        return this.onRefused(c[1])
    }
  }
}

export interface DoorCounts {
  readonly player: number
  readonly host: number
}

export class Doors implements RoomBridge {
  readonly link: NodeLink
  readonly #registry: RoomRegistry
  #nextCid = 1
  readonly #players = new Map<number, PlayerDoor>()
  readonly #hosts = new Map<number, HostDoor>()

  constructor(link: NodeLink, registry: RoomRegistry) {
    this.link = link
    this.#registry = registry
  }

  get counts(): DoorCounts {
    return { player: this.#players.size, host: this.#hosts.size }
  }

  playerEntry(code: string, owner: Ownership): PlayerEntry {
    return new PlayerDoor(this, code, owner.node)
  }

  resumeHost(code: string, owner: Ownership, host: Host, token: string, onRefused: (why: 'bad_token' | 'ended') => void): void {
    const door = new HostDoor(this, this.#nextCid++, code, owner.node, host, onRefused)
    this.#hosts.set(door.cid, door)
    this.link.send(owner.node, [Op.Resume, door.cid, code, token])
  }

  /** @internal A player door joined: its id. */
  opened(door: PlayerDoor): number {
    const cid = this.#nextCid++
    this.#players.set(cid, door)
    return cid
  }

  /** @internal Forget a door; true if it was open. */
  closed(door: PlayerDoor): boolean {
    return this.#players.delete(door.cid)
  }

  closedHost(door: HostDoor): void {
    this.#hosts.delete(door.cid)
  }

  /** Ops from a room's owner for doors here. */
  handle(from: string, op: readonly unknown[]): void {
    switch (op[0]) {
      case Op.Send: {
        const [, cids, data] = op as [number, number[], Uint8Array | string]
        for (const cid of cids) {
          const door = this.#players.get(cid)
          if (door && door.node === from) door.port?.send(data)
        }
        return
      }
      case Op.Joined: {
        const door = this.#players.get(op[1] as number)
        if (door && door.node === from) door.id = op[2] as number
        return
      }
      case Op.Close:
      case Op.Refuse: {
        const door = this.#players.get(op[1] as number)
        if (!door || door.node !== from) return
        this.#players.delete(door.cid)
        const code = op[2] as CloseCode
        if (op[0] === Op.Close) door.port?.close(code)
        else door.port?.refuse(code)
        return
      }
      case Op.HostCall: {
        const door = this.#hosts.get(op[1] as number)
        if (door && door.node === from) door.call(op[2] as HostCall)
      }
    }
  }

  /** Room `code` runs on `owner` now: players re-attach there, hosts are closed with 1012 to resume. */
  moved(code: string, owner: Ownership): void {
    const here = owner.node === this.link.node ? this.#registry.get(code) : undefined
    for (const door of [...this.#players.values()]) if (door.code === code && door.node !== owner.node) door.moved(owner, here)
    for (const door of [...this.#hosts.values()]) {
      if (door.key !== code || door.node === owner.node) continue
      this.#hosts.delete(door.cid)
      door.host.restarting()
    }
  }

  /** An owner's audit: answer with those of `players` and `hosts` that are no longer open here. */
  audited(owner: string, players: readonly number[], hosts: readonly number[]): void {
    const gonePlayers = players.filter((cid) => this.#players.get(cid)?.node !== owner)
    const goneHosts = hosts.filter((cid) => this.#hosts.get(cid)?.node !== owner)
    this.link.send(owner, [Op.Gone, gonePlayers, goneHosts], 8 * (gonePlayers.length + goneHosts.length))
  }

  /** After the Bus was unreachable: ask every owner this node's doors point at for an audit. */
  askAudit(): void {
    const owners = new Set<string>()
    for (const d of this.#players.values()) if (!d.local) owners.add(d.node)
    for (const d of this.#hosts.values()) owners.add(d.node)
    for (const owner of owners) this.link.send(owner, [Op.AuditMe])
  }

  /**
   * Node `node` lapsed. Its rooms should be adopted and moved within `afterMs`; doors still
   * pointing at it then (nobody adopted the room: it expired, or every node is gone) are
   * closed with 1012, so their phones and pages find out where the room is now, or that it
   * is gone.
   */
  ownerLost(node: string, afterMs: number): void {
    setTimeout(() => {
      for (const door of [...this.#players.values()]) {
        if (door.node !== node || door.local) continue
        this.#players.delete(door.cid)
        door.port?.close(CloseCode.ServiceRestart)
      }
      for (const door of [...this.#hosts.values()]) {
        if (door.node !== node) continue
        this.#hosts.delete(door.cid)
        door.host.restarting()
      }
    }, afterMs).unref()
  }

  /**
   * The Bus was unreachable longer than a player may be away: every door is closed with
   * 1012 (its room's owner has let it go), and reconnects.
   */
  closeAll(): void {
    for (const door of [...this.#players.values()]) {
      this.#players.delete(door.cid)
      door.port?.close(CloseCode.ServiceRestart)
    }
    for (const door of [...this.#hosts.values()]) {
      this.#hosts.delete(door.cid)
      door.host.restarting()
    }
  }
}
