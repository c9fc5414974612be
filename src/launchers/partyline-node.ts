/**
 * A real `partyline serve` process (`partyline dev-cluster`; tests that kill a node): its
 * own data directory, a port chosen before it starts (so its URL is known whatever it logs),
 * its settings in the environment, started once `/healthz` answers 200. `readiness()` reads
 * `/readyz`. `kill()` and `restart()` keep the port and the data directory.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { LaunchedServer, ServerProcess } from './spawned-server.js'

/** How to run the `partyline` command: an executable and the arguments before the sub-command. */
export interface PartylineCommand {
  readonly file: string
  readonly args: readonly string[]
}

/** The command this process was started as: the same Node, loader flags (tsx) and entry script. */
export function thisCommand(): PartylineCommand {
  const entry = process.argv[1]
  if (entry === undefined) throw new Error('this process has no entry script to run again')
  return { file: process.execPath, args: [...process.execArgv, entry] }
}

export interface PartylineNodeOptions {
  /** `PARTYLINE_NODE_ID`; also the name of its data directory. */
  readonly id: string
  /** `PORT`: a real port (never 0), so the URL is known before the node says it. */
  readonly port: number
  /** `HOST` (default 127.0.0.1); a wildcard address is reached on 127.0.0.1. */
  readonly host?: string
  /** The data directory (`PARTYLINE_DATA_DIR`) is `<parentDir>/<id>`. */
  readonly parentDir: string
  /** More settings by variable (`REDIS_URL`, `NATS_URL`, …), over this process's environment. */
  readonly env?: Readonly<Record<string, string>>
  /** More `serve` flags; a flag wins over the environment. */
  readonly args?: readonly string[]
  /** Default: `thisCommand()`. */
  readonly command?: PartylineCommand
  /** How long a SIGTERM may take before SIGKILL (give it `PARTYLINE_SHUTDOWN_MS` and more). */
  readonly stopBoundMs?: number
  /** How long the node may take to answer `/healthz` after it is spawned. */
  readonly startBoundMs?: number
  readonly ownProcessGroup?: boolean
  /** Each line the node prints (its log). */
  readonly onLine?: (line: string) => void
}

/** The body of `/readyz` and its status, or `undefined` when the node does not answer. */
export interface NodeReadiness {
  readonly status: number
  readonly body: Readonly<Record<string, unknown>>
}

export class PartylineNode extends LaunchedServer {
  readonly id: string
  readonly port: number
  readonly dir: string
  readonly #opts: PartylineNodeOptions

  private constructor(dir: string, opts: PartylineNodeOptions) {
    super()
    this.id = opts.id
    this.port = opts.port
    this.dir = dir
    this.#opts = opts
  }

  /** The node, configured and its data directory made, not started yet (`restart()` starts it). */
  static async create(opts: PartylineNodeOptions): Promise<PartylineNode> {
    if (opts.port <= 0) throw new Error(`partyline node ${opts.id}: needs a real port, got ${opts.port}`)
    const dir = join(opts.parentDir, opts.id)
    await mkdir(dir, { recursive: true })
    return new PartylineNode(dir, opts)
  }

  /** Created and started; stopped and its directory removed if it could not start. */
  static async start(opts: PartylineNodeOptions): Promise<PartylineNode> {
    return LaunchedServer.started(await PartylineNode.create(opts))
  }

  /** `http://host:port` (127.0.0.1 for a node listening on every address). */
  get url(): string {
    return `http://${this.#reachAt()}:${this.port}`
  }

  /** `ws://host:port`, the root hosts and players open `/CREATE` and `/<CODE>` under. */
  get ws(): string {
    return `ws://${this.#reachAt()}:${this.port}`
  }

  protected override get stopBoundMs(): number {
    return this.#opts.stopBoundMs ?? 10_000
  }

  async restart(): Promise<void> {
    if (this.running) throw new Error(`partyline node ${this.id} is running`)
    const command = this.#opts.command ?? thisCommand()
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.#opts.env,
      PARTYLINE_NODE_ID: this.id,
      PORT: String(this.port),
      HOST: this.#opts.host ?? '127.0.0.1',
      PARTYLINE_DATA_DIR: this.dir,
    }
    const args = [...command.args, 'serve', ...(this.#opts.args ?? [])]
    this.process = await ServerProcess.spawn(command.file, args, 'nodejs', process.cwd(), {
      env,
      ownProcessGroup: this.#opts.ownProcessGroup ?? false,
      ...(this.#opts.onLine ? { onLine: this.#opts.onLine } : {}),
    })
    await this.process.waitReady(async () => (await this.#get('/healthz'))?.status === 200, `partyline node ${this.id} on ${this.url}`, this.#opts.startBoundMs ?? 30_000)
  }

  /** `/readyz` now: 200 ready, 503 with what is down; undefined when nothing answers. */
  async readiness(): Promise<NodeReadiness | undefined> {
    return this.#get('/readyz')
  }

  #reachAt(): string {
    const host = this.#opts.host ?? '127.0.0.1'
    if (host === '0.0.0.0' || host === '::') return '127.0.0.1'
    return host.includes(':') ? `[${host}]` : host
  }

  async #get(path: string): Promise<NodeReadiness | undefined> {
    try {
      const res = await fetch(this.url + path, { signal: AbortSignal.timeout(2000) })
      const body = (await res.json()) as Record<string, unknown>
      return { status: res.status, body }
    } catch {
      return undefined
    }
  }
}
