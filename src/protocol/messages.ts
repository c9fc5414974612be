/**
 * The host protocol's messages, as typed values. Commands come from the host (validated by
 * `commands.ts`); server messages go to it (encoded by a HostCodec).
 */

export type HostCommand =
  | { readonly cmd: 'prepare'; readonly max_players: number; readonly name?: string | undefined; readonly public?: boolean | undefined }
  | { readonly cmd: 'resume'; readonly key: string; readonly token: string }
  | { readonly cmd: 'start' }
  | { readonly cmd: 'kick'; readonly player: number }
  | { readonly cmd: 'stop' }
  | { readonly cmd: 'to'; readonly to?: readonly number[] | undefined; readonly data: Uint8Array }
  | { readonly cmd: 'to_str'; readonly to?: readonly number[] | undefined; readonly data: string }

/**
 * One player as `state.roster` lists it: `name` when the phone gave one (`?name=`), `away`
 * while a player with a sid has lost its connection and its place is held.
 */
export interface RosterEntry {
  readonly id: number
  readonly name?: string
  readonly away: boolean
}

/**
 * What the server sends a host. Partyline's additions to the original WMBP messages are extra
 * keys (`token`, `dropped`, `code`, `roster`, `name`) and extra messages (`player_away`,
 * `player_back`), both of which an original page ignores.
 */
export type ServerMessage =
  | { readonly cmd: 'prepare_reply'; readonly key: string; readonly token: string; readonly dropped?: number }
  | {
      readonly cmd: 'state'
      readonly name: string
      readonly players: readonly number[]
      readonly max_players: number
      readonly accept_conns: boolean
      readonly roster: readonly RosterEntry[]
    }
  | { readonly cmd: 'player_joined'; readonly player: number; readonly name?: string }
  | { readonly cmd: 'player_left'; readonly player: number }
  | { readonly cmd: 'player_away'; readonly player: number }
  /** `replaced`: the player was not away; a new connection with its sid took its seat over. */
  | { readonly cmd: 'player_back'; readonly player: number; readonly replaced?: true }
  | { readonly cmd: 'from'; readonly from: number; readonly data: Uint8Array }
  | { readonly cmd: 'from_str'; readonly from: number; readonly data: string }
  | { readonly cmd: 'error'; readonly reason: string; readonly code: string }
  | { readonly cmd: 'stop' }
