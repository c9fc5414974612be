/**
 * A partyline cluster on one machine, to try it: `nats-server` (with JetStream) and
 * `redis-server` from the PATH on free ports, and N real `partyline serve` nodes sharing
 * them, all under one temp directory.
 *
 * Contract:
 * - Every process runs in a process group of its own, so a Ctrl-C in the terminal reaches
 *   only the command, which stops them in order: nodes first (SIGTERM, so they hand over
 *   and close their sockets with 1012 while NATS and Redis are still there), then NATS and
 *   Redis; then the directory is removed. A SIGKILL of the command itself stops nothing.
 * - `stop()` may be called at any time, during `launch()` too: nothing is started after
 *   it, and everything started is stopped.
 * - A process that ends while the cluster is not stopping is reported (`exited`); the
 *   others keep running (kill a node to watch the cluster carry on).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { NatsServer } from '../launchers/nats-server.js'
import { PartylineNode, type NodeReadiness, type PartylineCommand } from '../launchers/partyline-node.js'
import { RedisServer } from '../launchers/redis-server.js'
import { freePort, MissingBinaryError, removeDir, tempDir, type LaunchedServer } from '../launchers/spawned-server.js'

export interface DevClusterPlan {
  readonly nodes: number
  /** Node i (from 0) listens on `port + i`; 0: a free port for each node. */
  readonly port: number
  /** `HOST` of every node. */
  readonly host: string
  /** Extra `serve` flags for every node. */
  readonly serveArgs: readonly string[]
  /** How long a node may take to exit after SIGTERM before it is killed. */
  readonly nodeStopBoundMs: number
  /** How long a node may take to answer `/healthz` after it is spawned. */
  readonly nodeStartBoundMs: number
  /** How to run `partyline` (default: the command this process was started as). */
  readonly command?: PartylineCommand
  /** Where the cluster's directory is made (default: the OS temp dir). */
  readonly parentDir?: string
}

export interface ProcessEnd {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface DevClusterEvents {
  /** A line a node printed (its log). */
  line?(node: string, line: string): void
  /** A process ended while the cluster was not stopping; `output` is the tail it printed. */
  exited?(part: string, end: ProcessEnd, output: string): void
  /** What `stop()` is doing now. */
  stopping?(step: string): void
}

/** Where a node got to: serving and ready, up but not ready (with its `/readyz`), or failed (exited, or never answered). */
export type NodeState =
  | { readonly node: PartylineNode; readonly state: 'ready'; readonly readiness: NodeReadiness }
  | { readonly node: PartylineNode; readonly state: 'not ready'; readonly readiness: NodeReadiness | undefined }
  | { readonly node: PartylineNode; readonly state: 'failed'; readonly why: string }

/** NATS or Redis (or both) are not installed: the message names them and how to install them. */
export class MissingServersError extends Error {
  constructor(readonly missing: readonly MissingBinaryError[]) {
    const commands = missing.map((m) => m.command).join(' and ')
    const packages = missing.map((m) => m.packageName).join(' ')
    super(
      `${commands} ${missing.length > 1 ? 'are' : 'is'} not on the PATH; dev-cluster runs ${missing.length > 1 ? 'them' : 'it'} from there. ` +
        `Install with \`apt-get install ${packages}\` (Debian/Ubuntu) or \`brew install ${packages.replace('redis-server', 'redis')}\` (macOS), then run it again.`,
    )
    this.name = 'MissingServersError'
  }
}

export class DevCluster {
  readonly dir: string
  readonly #plan: DevClusterPlan
  readonly #events: DevClusterEvents
  #nats: NatsServer | undefined
  #redis: RedisServer | undefined
  readonly #nodes: PartylineNode[] = []
  /** Why a node did not start, by id. */
  readonly #startFailures = new Map<string, string>()
  #launching: Promise<void> | undefined
  #stopped: Promise<void> | undefined

  private constructor(dir: string, plan: DevClusterPlan, events: DevClusterEvents) {
    this.dir = dir
    this.#plan = plan
    this.#events = events
  }

  /** The cluster's directory, made; nothing started yet. */
  static async create(plan: DevClusterPlan, events: DevClusterEvents = {}): Promise<DevCluster> {
    return new DevCluster(await tempDir('partyline-dev-cluster-', plan.parentDir), plan, events)
  }

  get nats(): NatsServer | undefined {
    return this.#nats
  }

  get redis(): RedisServer | undefined {
    return this.#redis
  }

  get nodes(): readonly PartylineNode[] {
    return this.#nodes
  }

  get stopping(): boolean {
    return this.#stopped !== undefined
  }

  /**
   * Starts NATS and Redis, then every node at once; resolves when each node answers
   * `/healthz` or failed to start (see `states`). Rejects with MissingServersError when
   * NATS or Redis is not installed, or with why NATS or Redis did not start.
   */
  launch(): Promise<void> {
    this.#launching ??= this.#launch()
    return this.#launching
  }

  async #launch(): Promise<void> {
    const servers = { parentDir: this.dir, ownProcessGroup: true }
    const [nats, redis] = await Promise.allSettled([NatsServer.start({ ...servers, jetstream: true }), RedisServer.start(servers)])
    if (nats.status === 'fulfilled') this.#watch('nats-server', (this.#nats = nats.value))
    if (redis.status === 'fulfilled') this.#watch('redis-server', (this.#redis = redis.value))
    const failed = [nats, redis].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    const missing = failed.filter((e): e is MissingBinaryError => e instanceof MissingBinaryError)
    if (missing.length > 0) throw new MissingServersError(missing)
    if (failed.length > 0) throw failed[0]
    await Promise.all(Array.from({ length: this.#plan.nodes }, (_, i) => this.#startNode(i)))
  }

  async #startNode(i: number): Promise<void> {
    const id = `node-${i + 1}`
    const port = this.#plan.port === 0 ? await freePort() : this.#plan.port + i
    if (this.stopping) return
    const node = await PartylineNode.create({
      id,
      port,
      host: this.#plan.host,
      parentDir: this.dir,
      env: { REDIS_URL: this.#redis!.url, NATS_URL: this.#nats!.url },
      args: this.#plan.serveArgs,
      stopBoundMs: this.#plan.nodeStopBoundMs,
      startBoundMs: this.#plan.nodeStartBoundMs,
      ownProcessGroup: true,
      ...(this.#plan.command ? { command: this.#plan.command } : {}),
      onLine: (line) => this.#events.line?.(id, line),
    })
    this.#nodes[i] = node
    if (this.stopping) return
    try {
      await node.restart()
      this.#watch(id, node)
    } catch (err) {
      if (!this.stopping) this.#startFailures.set(id, (err as Error).message)
    }
  }

  #watch(name: string, part: LaunchedServer): void {
    void part.exited?.then((end) => {
      if (!this.stopping) this.#events.exited?.(name, end, part.output)
    })
  }

  /**
   * Waits until every running node answers `/readyz` with 200, for at most `ms`, and says
   * where each got to. Returns early (as things are) once the cluster is stopping.
   */
  async states(ms: number): Promise<NodeState[]> {
    const deadline = Date.now() + ms
    return Promise.all(
      this.#nodes.map(async (node): Promise<NodeState> => {
        for (;;) {
          const failure = this.#startFailures.get(node.id)
          if (failure !== undefined) return { node, state: 'failed', why: failure }
          if (!node.running) {
            const end = await node.exited
            return { node, state: 'failed', why: end ? `exited (${describeEnd(end)})` : 'never started' }
          }
          const readiness = await node.readiness()
          if (readiness?.status === 200) return { node, state: 'ready', readiness }
          if (Date.now() >= deadline || this.stopping) return { node, state: 'not ready', readiness }
          await sleep(100)
        }
      }),
    )
  }

  /** Nodes first (SIGTERM, bounded), then NATS and Redis; then the directory is removed. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    // A node still starting is stopped too; its start then fails at once.
    const stopNodes = (): Promise<unknown> => Promise.all(this.#nodes.map((n) => n.kill('SIGTERM')))
    const running = this.#nodes.filter((n) => n.running).map((n) => n.id)
    if (running.length > 0) this.#events.stopping?.(`stopping ${running.join(', ')} (SIGTERM)`)
    await stopNodes()
    await this.#launching?.catch(() => undefined)
    await stopNodes()
    const servers = [this.#nats, this.#redis].filter((s): s is NatsServer | RedisServer => s?.running === true)
    if (servers.length > 0) this.#events.stopping?.(`stopping ${servers.map((s) => (s instanceof NatsServer ? 'nats-server' : 'redis-server')).join(' and ')}`)
    await Promise.all([this.#nats?.stop(), this.#redis?.stop()])
    await removeDir(this.dir)
    this.#events.stopping?.(`stopped; removed ${this.dir}`)
  }

  /** Kills every process at once (SIGKILL): for a second Ctrl-C while `stop()` waits. */
  async kill(): Promise<void> {
    await Promise.all([...this.#nodes, this.#nats, this.#redis].map((p) => p?.kill('SIGKILL')))
  }
}

export function describeEnd(end: ProcessEnd): string {
  return end.signal !== null ? `signal ${end.signal}` : `code ${end.code}`
}
