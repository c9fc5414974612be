import type { ErrorCode } from '../errors.js'
import type { RosterEntry } from '../protocol/messages.js'

export type { RosterEntry }

/**
 * The host side of a room: the game that runs it.
 *
 * A Room never touches a socket. Everything it has to tell its game goes through this
 * interface, and there are two implementations: `RemoteHost` (a game page on the other end
 * of a WebSocket, speaking CBOR or JSON) and an in-process game for preset rooms
 * (`PresetGame`, e.g. ClickPlanet). Calls are made from inside the room's mailbox, in the
 * order the room handled its events; an implementation must not re-enter the room
 * synchronously expecting a result (post to it instead: the post is queued).
 */
export interface Host {
  /**
   * The room is the host's: answers `prepare` or `resume` (`prepare_reply`). `control` is
   * how this host gives its room commands from now on (bound to this host: once another
   * connection resumes the room, its commands are ignored).
   */
  attached(info: AttachInfo, control: HostControl): void
  /** The room's visible state changed (or was just attached). */
  state(state: RoomStateView): void
  /** A player joined; `name` when its phone gave one. */
  playerJoined(player: number, name?: string): void
  playerLeft(player: number): void
  /**
   * A player with a sid lost its connection and its place is held (`player_away`). Optional:
   * an in-process game that does not care leaves it out.
   */
  playerAway?(player: number): void
  /**
   * A held player is back (`player_back`), or, with `replaced`, a new connection with its sid
   * took its seat over while the old one was still open.
   */
  playerBack?(player: number, replaced: boolean): void
  /**
   * A player sent a frame: bytes arrive as `from`, text as `from_str`. `address` is the
   * player's client address, for per-address limits of in-process games; a remote page is
   * never told it.
   */
  fromPlayer(player: number, data: Uint8Array | string, address?: string): void
  /** The host's last command was refused; nothing changed. */
  error(code: ErrorCode, reason: string): void
  /** The room has ended (host `stop`, or the server shut it). */
  stopped(): void
  /** The server is going down: close with 1012 so the page reconnects (and resumes). */
  restarting(): void
  /** Another connection resumed this room: this host is detached (close 4011). */
  replaced(): void
}

/** What `prepare_reply` tells a host: the code, a fresh resume token, frames dropped while it was away. */
export interface AttachInfo {
  readonly key: string
  readonly token: string
  readonly dropped?: number
}

/** What a host sees of its room: the fields of the `state` message. */
export interface RoomStateView {
  readonly name: string
  readonly players: readonly number[]
  readonly max_players: number
  readonly accept_conns: boolean
  /** Every player, in the order of `players`: id, name if given, and whether it is away. */
  readonly roster: readonly RosterEntry[]
}

/** Commands a host gives its room. The same for a remote page and an in-process game. */
export interface RoomControl {
  readonly key: string
  start(): void
  kick(player: number): void
  stop(): void
  /** Send `data` to the listed players (all current players when `to` is undefined). */
  send(data: Uint8Array | string, to?: readonly number[]): void
}

/** What a host with a connection of its own gives its room besides commands. */
export interface HostControl extends RoomControl {
  /** The host's connection ended without `stop`: the room waits for a resume (host grace). */
  detached(): void
  /**
   * The host is about to be told something that does not come from the room (a refusal of
   * its frame): the room shows it the pending `state` first, so answers keep their order.
   */
  showState(): void
}

/**
 * An in-process game that hosts a preset room with a fixed code (e.g. `PLANET`).
 * The registry creates the room at start-up and attaches `host(control)` to it; the room
 * never waits for a remote host and never ends while the server runs.
 */
export interface PresetGame {
  /** Fixed room code; presets use codes outside the generated alphabet (e.g. 6 letters). */
  readonly code: string
  readonly name: string
  readonly maxPlayers: number
  /** Listed in the lobby (`GET /api/rooms`). */
  readonly public: boolean
  /** Called once when the room is created; returns the Host the room talks to. */
  host(control: RoomControl): Host
}

/** A host that takes every call and does nothing (a room's stand-in before its host binds; tests). */
export function silentHost(): Host {
  return {
    attached() {},
    state() {},
    playerJoined() {},
    playerLeft() {},
    fromPlayer() {},
    error() {},
    stopped() {},
    restarting() {},
    replaced() {},
  }
}
