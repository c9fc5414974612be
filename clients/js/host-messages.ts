/** What the server says to a host, read and checked field by field. */
import type { Decoder } from 'cbor-x'
import { bytesOf, fromBase64 } from './socket.js'

/** One player of the room as `state` lists it in `roster`. */
export interface RosterEntry {
  readonly id: number
  /** The name the player joined with (`?name=`), if any. */
  readonly name?: string
  /** A player with a sid whose connection is down: its place is held for the grace period. */
  readonly away: boolean
}

/** The room as the server last described it (its `state` message), in this API's casing. */
export interface RoomState {
  /** `""` when the room was prepared without a name. */
  readonly name: string
  /** Ids of the players in the room, including those holding their place (sid) while away. */
  readonly players: readonly number[]
  /**
   * The players with their names and whether they are away. From a server that sends no
   * `roster` (the original WMBP), built from `players`: no names, nobody away.
   */
  readonly roster: readonly RosterEntry[]
  readonly maxPlayers: number
  /** `false` once the host has called `start`: new players are refused with 4003. */
  readonly acceptConns: boolean
}

/** A server-to-host message whose fields have been checked. */
export type ServerMessage =
  | { readonly cmd: 'prepare_reply'; readonly key: string; readonly token: string; readonly dropped: number }
  | { readonly cmd: 'state'; readonly state: RoomState }
  | { readonly cmd: 'player_joined'; readonly player: number; readonly name: string | undefined }
  | { readonly cmd: 'player_left' | 'player_away' | 'player_back'; readonly player: number }
  | { readonly cmd: 'from'; readonly from: number; readonly data: Uint8Array }
  | { readonly cmd: 'from_str'; readonly from: number; readonly data: string }
  | { readonly cmd: 'error'; readonly code: string; readonly reason: string }
  | { readonly cmd: 'stop' }

type Fields = Readonly<Record<string, unknown>>

const isText = (v: unknown): v is string => typeof v === 'string'
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isId = (v: unknown): v is number => isCount(v) && v > 0
const isMap = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v)

function field<T>(m: Fields, key: string, ok: (v: unknown) => v is T, what: string): T {
  const v = m[key]
  if (!ok(v)) throw new Error(`${typeof m.cmd === 'string' ? `${m.cmd}: ` : ''}\`${key}\` is not ${what}`)
  return v
}

const optionalText = (m: Fields, key: string): string | undefined =>
  m[key] === undefined || m[key] === null ? undefined : field(m, key, isText, 'text')

function rosterOf(m: Fields, players: readonly number[]): RosterEntry[] {
  if (m.roster === undefined || m.roster === null) return players.map((id) => ({ id, away: false }))
  const roster = field(m, 'roster', (v): v is unknown[] => Array.isArray(v), 'an array')
  return roster.map((e) => {
    if (!isMap(e)) throw new Error('state: a `roster` entry is not a map')
    const id = field(e, 'id', isId, 'a player id')
    const name = optionalText(e, 'name')
    const away = e.away === undefined ? false : field(e, 'away', (v): v is boolean => typeof v === 'boolean', 'a boolean')
    return name === undefined ? { id, away } : { id, name, away }
  })
}

/**
 * Decode and check one frame from the server. Throws (with what is wrong) on a frame that is
 * not a map with a text `cmd` or whose fields have the wrong types; `undefined` for a
 * command this client does not know, which it ignores as the original WMBP host does.
 */
export function readServerMessage(raw: unknown, json: boolean, decoder: Decoder): ServerMessage | undefined {
  let decoded: unknown
  if (json) {
    if (typeof raw !== 'string') throw new Error('a binary frame on a JSON connection')
    decoded = JSON.parse(raw)
  } else {
    const bytes = bytesOf(raw)
    if (!bytes) throw new Error('a text frame on a CBOR connection')
    decoded = decoder.decode(bytes)
  }
  if (!isMap(decoded)) throw new Error('not a map')
  const m = decoded
  const cmd = field(m, 'cmd', isText, 'text')
  switch (cmd) {
    case 'prepare_reply':
      return {
        cmd,
        key: field(m, 'key', isText, 'text'),
        // An original WMBP server sends neither (it has no resume).
        token: m.token === undefined ? '' : field(m, 'token', isText, 'text'),
        dropped: m.dropped === undefined ? 0 : field(m, 'dropped', isCount, 'a count'),
      }
    case 'state': {
      const players = field(m, 'players', (v): v is unknown[] => Array.isArray(v), 'an array')
      if (!players.every(isId)) throw new Error('state: `players` holds something other than player ids')
      const name = optionalText(m, 'name') ?? ''
      const maxPlayers = field(m, 'max_players', isCount, 'a count')
      const acceptConns = field(m, 'accept_conns', (v): v is boolean => typeof v === 'boolean', 'a boolean')
      return { cmd, state: { name, players, roster: rosterOf(m, players), maxPlayers, acceptConns } }
    }
    case 'player_joined':
      return { cmd, player: field(m, 'player', isId, 'a player id'), name: optionalText(m, 'name') }
    case 'player_left':
    case 'player_away':
    case 'player_back':
      return { cmd, player: field(m, 'player', isId, 'a player id') }
    case 'from': {
      const from = field(m, 'from', isId, 'a player id')
      const data = json ? fromBase64(field(m, 'data', isText, 'base64 text')) : field(m, 'data', (v): v is Uint8Array => v instanceof Uint8Array, 'bytes')
      return { cmd, from, data }
    }
    case 'from_str':
      return { cmd, from: field(m, 'from', isId, 'a player id'), data: field(m, 'data', isText, 'text') }
    case 'error':
      return { cmd, reason: field(m, 'reason', isText, 'text'), code: m.code === undefined ? 'error' : field(m, 'code', isText, 'text') }
    case 'stop':
      return { cmd }
    default:
      return undefined
  }
}
