import type { Host } from './host.js'
import type { PlayerPort } from './player-port.js'

/**
 * Everything that can happen to a room: the messages of its mailbox. The Room handles them
 * strictly in the order they were posted, one at a time.
 */
export type RoomEvent =
  | { readonly type: 'player-connect'; readonly port: PlayerPort; readonly sid: string | undefined }
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
  | { readonly type: 'shutdown' }
