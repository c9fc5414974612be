/**
 * partyline's client for browsers and Node: a host (the game on the TV), a player (a phone)
 * and ClickPlanet. Hosts resume and players reconnect by themselves after a drop, keeping
 * their room and player id. The same code runs in a page (`/sdk/partyline.js`, nothing to
 * install) and in Node 20+ (pass `{ WebSocket }` from the `ws` package where there is no
 * global one).
 *
 * @example
 * ```ts
 * import { createRoom, joinRoom } from 'partyline'   // in a page: '/sdk/partyline.js'
 * import { WebSocket } from 'ws'                     // Node 20 only
 *
 * const host = await createRoom('ws://localhost:8081', { maxPlayers: 8, name: 'Quiz', WebSocket })
 * host.on('from_str', (player, text) => host.sendText(`echo: ${text}`, [player]))
 * const phone = await joinRoom('ws://localhost:8081', host.code, { name: 'Ann', WebSocket })
 * phone.on('message', (data) => console.log(data)) // "echo: hi"
 * phone.send('hi')
 * ```
 * @packageDocumentation
 */
export { CloseCode, closeReason, ErrorCode, ClientErrorCode, PartylineError } from './codes.js'
export { DEFAULT_RECONNECT, MIN_RECONNECT_DELAY_MS, reconnectDelay, reconnectPolicy, type ReconnectPolicy } from './backoff.js'
export { Emitter } from './emitter.js'
export type { ConnectionState, ReconnectEvents, ReconnectOption } from './link.js'
export type { ConnectOptions, WebSocketConstructor, WebSocketLike } from './socket.js'
export type { StorageLike } from './storage.js'
export type { RoomState, RosterEntry } from './host-messages.js'
export {
  HostClient,
  HOST_FINAL_CODES,
  createRoom,
  openRoom,
  reopenRoom,
  resumeRoom,
  type CreateRoomOptions,
  type HostEvents,
  type HostOptions,
} from './host.js'
export { PlayerClient, PLAYER_FINAL_CODES, joinRoom, type CloseInfo, type JoinOptions, type PlayerEvents } from './player.js'
export {
  ClickPlanet,
  PlanetListener,
  clickPlanet,
  decodePlanetMap,
  decodeUpdate,
  type ClickReceipt,
  type LeaderboardEntry,
  type ListenOptions,
  type Ownership,
  type PlanetListenerEvents,
  type PlanetMap,
  type PlanetOptions,
  type PlanetUpdate,
} from './clickplanet.js'
