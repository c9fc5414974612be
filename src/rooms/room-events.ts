import type { ErrorCode } from '../errors.js'
import type { Host } from './host.js'
import type { PlayerPort } from './player-port.js'
import type { HandedOver } from './room.js'

/**
 * Everything that can happen to a room: the messages of its mailbox. The Room handles them
 * strictly in the order they were posted, one at a time.
 */
export type RoomEvent =
  /**
   * A phone joins. With `rejoin`, a connection that already was player `rejoin` comes back
   * after its room moved to another node (it kept its socket): it gets its place back.
   */
  | { readonly type: 'player-connect'; readonly port: PlayerPort; readonly sid: string | undefined; readonly name?: string | undefined; readonly rejoin?: number }
  | { readonly type: 'player-frame'; readonly port: PlayerPort; readonly data: Uint8Array | string }
  | { readonly type: 'player-disconnect'; readonly port: PlayerPort }
  | { readonly type: 'start'; readonly host: Host }
  | { readonly type: 'kick'; readonly host: Host; readonly player: number }
  | { readonly type: 'stop'; readonly host: Host }
  | { readonly type: 'send'; readonly host: Host; readonly data: Uint8Array | string; readonly to: readonly number[] | undefined }
  | { readonly type: 'host-detached'; readonly host: Host }
  | { readonly type: 'host-resume'; readonly host: Host; readonly token: string; readonly onRefused: (reason: 'bad_token' | 'ended') => void }
  | { readonly type: 'host-grace-over'; readonly epoch: number }
  | { readonly type: 'player-grace-over'; readonly player: number; readonly epoch: number }
  /**
   * The host is about to be told something that does not come from the room (a refusal of
   * its frame): show it the pending `state` first, so messages keep the order of causes.
   */
  | { readonly type: 'show-state'; readonly host: Host }
  /** End of a turn with changes (`deadline`: the longest a change may wait has passed). */
  | { readonly type: 'settle'; readonly deadline: boolean }
  /** Close the next slice of players of an ended room. */
  | { readonly type: 'teardown' }
  | { readonly type: 'operator'; readonly action: OperatorAction; readonly reply: (outcome: OperatorOutcome) => void }
  | { readonly type: 'shutdown' }
  /** End the room here for a hand-over to another node (see `Room.handOver`). */
  | { readonly type: 'hand-over'; readonly reply: (handed: HandedOver | undefined) => void }

/**
 * What an operator (the admin API) may do to a room: the host's own `start`, `kick` and
 * `stop`, through the same mailbox, whether or not the host is connected.
 */
export type OperatorAction = { readonly kind: 'start' } | { readonly kind: 'kick'; readonly player: number } | { readonly kind: 'stop' }

/**
 * How an operator action went: done, or refused with a code from the registry and a reason
 * (`unknown_player`; `no_such_room` once the room has ended; `preset_room` for start or stop
 * of a preset room, which lives as long as the server).
 */
export type OperatorOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: typeof ErrorCode.UnknownPlayer | typeof ErrorCode.NoSuchRoom | typeof ErrorCode.PresetRoom; readonly reason: string }
