/**
 * The lobby of a cluster: every node's rooms, read from the Store's directory and records,
 * so `GET /api/rooms` and `GET /api/rooms/<code>` answer the same on every node. The list is
 * cached briefly (a lobby page polls; the directory need not be read per request).
 */
import type { LobbyEntry, ClusterLobby } from '../transport/http-routes.js'
import type { RoomRecord, Store } from '../store/store.js'

/** How long a listing of the public rooms is reused. */
const LIST_TTL_MS = 500

const entry = (r: RoomRecord): LobbyEntry => ({ key: r.key, name: r.name, players: r.players.length, max_players: r.maxPlayers, accept_conns: r.acceptConns })

export class StoreLobby implements ClusterLobby {
  readonly #store: Store
  #cached: { at: number; rooms: Promise<LobbyEntry[]> } | undefined

  constructor(store: Store) {
    this.#store = store
  }

  publicRooms(): Promise<LobbyEntry[]> {
    const now = Date.now()
    if (this.#cached && now - this.#cached.at < LIST_TTL_MS) return this.#cached.rooms
    const rooms = this.#list()
    this.#cached = { at: now, rooms }
    rooms.catch(() => {
      if (this.#cached?.rooms === rooms) this.#cached = undefined
    })
    return rooms
  }

  async room(code: string): Promise<LobbyEntry | undefined> {
    if ((await this.#store.owner(code)) === undefined) return undefined
    const record = await this.#store.loadRoom(code)
    return record && entry(record)
  }

  async #list(): Promise<LobbyEntry[]> {
    const store = this.#store
    const { live, lapsed } = await store.nodes()
    const nodes = [...live, ...lapsed.map((l) => l.node)]
    const codes = (await Promise.all(nodes.map((n) => store.roomsOf(n)))).flat()
    const records = await Promise.all(codes.map((c) => store.loadRoom(c)))
    return records
      .filter((r): r is RoomRecord => r !== undefined && r.public)
      .map(entry)
      .sort((a, b) => a.key.localeCompare(b.key))
  }
}
