/**
 * Where is room CODE: the one answer the WebSocket gateway, the lobby and host sessions ask
 * for. A room runs here (a local `Room`), on another node (its ownership, from the Store's
 * directory; only in a cluster), or nowhere.
 *
 * Local rooms are answered without waiting (`here`), so a single node never pays a
 * Store round trip for a join. A remote answer comes from the Store; a directory that
 * cannot be reached falls back to the last owner seen for the code (rooms that moved are
 * told to every node), so joins of known rooms keep working while Redis is down.
 */
import type { Ownership, Store } from '../store/store.js'
import type { Room } from './room.js'
import type { RoomRegistry } from './registry.js'

export type Whereabouts =
  | { readonly kind: 'here'; readonly room: Room }
  | { readonly kind: 'elsewhere'; readonly owner: Ownership }
  | { readonly kind: 'nowhere' }

const NOWHERE: Whereabouts = { kind: 'nowhere' }

/** Owners remembered for the fallback (a bound, so lookups of random codes cannot grow it). */
const KNOWN_OWNERS = 10_000

export interface RoomLocatorOptions {
  readonly registry: RoomRegistry
  /** This node's id. */
  readonly node: string
  /** The shared directory, when this node is one of a cluster; absent on a single node. */
  readonly directory?: Store
}

export class RoomLocator {
  readonly #opts: RoomLocatorOptions
  readonly #known = new Map<string, Ownership>()

  constructor(opts: RoomLocatorOptions) {
    this.#opts = opts
  }

  /** Whether rooms may run on other nodes. */
  get clustered(): boolean {
    return this.#opts.directory !== undefined
  }

  /** The room if it runs on this node (no waiting). */
  here(code: string): Room | undefined {
    return this.#opts.registry.get(code)
  }

  async locate(code: string): Promise<Whereabouts> {
    const room = this.here(code)
    if (room) return { kind: 'here', room }
    const directory = this.#opts.directory
    if (!directory) return NOWHERE
    let owner: Ownership | undefined
    try {
      owner = await directory.owner(code)
    } catch {
      owner = this.#known.get(code)
    }
    // It may have arrived here while the directory answered (an adoption, a hand-over).
    const arrived = this.here(code)
    if (arrived) return { kind: 'here', room: arrived }
    if (!owner || owner.node === this.#opts.node) {
      this.#known.delete(code)
      return NOWHERE
    }
    this.learned(code, owner)
    return { kind: 'elsewhere', owner }
  }

  /** A room's owner as told by the cluster (a move, a lookup): the fallback while the directory is down. */
  learned(code: string, owner: Ownership): void {
    if (this.#known.size >= KNOWN_OWNERS && !this.#known.has(code)) {
      const oldest = this.#known.keys().next().value
      if (oldest !== undefined) this.#known.delete(oldest)
    }
    this.#known.set(code, owner)
  }

  /** The room ended (or is known gone). */
  forget(code: string): void {
    this.#known.delete(code)
  }
}
