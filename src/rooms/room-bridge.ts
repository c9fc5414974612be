import type { Ownership } from '../store/store.js'
import type { Host } from './host.js'
import type { PlayerEntry, PlayerPort } from './player-port.js'

/**
 * How a connection on this node reaches a room another node owns (a cluster; absent on a
 * single node). The connection keeps its socket here; the owner's Room sees an ordinary
 * `PlayerPort` or `Host` that forwards over the Bus, so the Room never knows.
 */
export interface RoomBridge {
  /** Where a phone on this node posts its join, frames and leave for room `code`. */
  playerEntry(code: string, owner: Ownership): PlayerEntry
  /** A host on this node resumes room `code`: `host.attached` on success, else `onRefused`. */
  resumeHost(code: string, owner: Ownership, host: Host, token: string, onRefused: (why: 'bad_token' | 'ended') => void): void
}

export type { PlayerPort }
