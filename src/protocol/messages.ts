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

export type ServerMessage =
  | { readonly cmd: 'prepare_reply'; readonly key: string; readonly token: string; readonly dropped?: number }
  | { readonly cmd: 'state'; readonly name: string; readonly players: readonly number[]; readonly max_players: number; readonly accept_conns: boolean }
  | { readonly cmd: 'player_joined'; readonly player: number }
  | { readonly cmd: 'player_left'; readonly player: number }
  | { readonly cmd: 'from'; readonly from: number; readonly data: Uint8Array }
  | { readonly cmd: 'from_str'; readonly from: number; readonly data: string }
  | { readonly cmd: 'error'; readonly reason: string; readonly code: string }
  | { readonly cmd: 'stop' }
