/**
 * The admin API of a cluster: every node's rooms (`scope: 'cluster'`). This node answers
 * for its own rooms and asks every other live node for theirs over the Bus; a node that does
 * not answer in time is left out (its rooms are missing from that answer, never guessed).
 * An action goes to the room's owner, through that room's mailbox.
 */
import type { Cluster } from '../cluster/cluster.js'
import type { OperatorAction, OperatorOutcome } from '../rooms/room-events.js'
import type { RoomLocator } from '../rooms/room-locator.js'
import type { Store } from '../store/store.js'
import type { AdminDirectory, AdminOverview, NodeDirectory } from './admin-directory.js'

/** How long another node has to answer. */
const ANSWER_MS = 1000

export interface ClusterDirectoryOptions {
  readonly local: NodeDirectory
  readonly cluster: Pick<Cluster, 'askOverview' | 'askAct'>
  readonly store: Store
  readonly locator: RoomLocator
  readonly node: string
}

export class ClusterDirectory implements AdminDirectory {
  readonly #opts: ClusterDirectoryOptions

  constructor(opts: ClusterDirectoryOptions) {
    this.#opts = opts
  }

  async overview(): Promise<AdminOverview> {
    const { local, cluster, store, node } = this.#opts
    const live = await store.nodes().then((n) => n.live, () => [] as string[])
    const [own, ...others] = await Promise.all([local.overview(), ...live.filter((n) => n !== node).map((n) => cluster.askOverview(n, ANSWER_MS))])
    const answers = [own!, ...others.filter((o): o is AdminOverview => o !== undefined)]
    return {
      scope: 'cluster',
      nodes: answers.flatMap((a) => a.nodes.map((n) => ({ ...n, self: n.id === node }))),
      rooms: answers.flatMap((a) => a.rooms).sort((a, b) => Number(a.preset) - Number(b.preset) || a.code.localeCompare(b.code) || a.node.localeCompare(b.node)),
    }
  }

  async act(code: string, action: OperatorAction): Promise<OperatorOutcome> {
    const { local, cluster, locator } = this.#opts
    const where = await locator.locate(code).catch(() => ({ kind: 'nowhere' }) as const)
    if (where.kind === 'here') return local.act(code, action)
    if (where.kind === 'elsewhere') {
      const outcome = await cluster.askAct(where.owner.node, code, action, ANSWER_MS)
      if (outcome) return outcome
    }
    return { ok: false, code: 'no_such_room', reason: `no room ${code}` }
  }
}
