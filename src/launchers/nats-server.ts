/**
 * Real `nats-server` processes (tests, `partyline dev-cluster`), in the manner of nats.js's own launcher: a config
 * in a temp directory, free ports on 127.0.0.1, wait until it accepts, remove everything on
 * stop. One node (`NatsServer.start`) or a cluster of three with JetStream
 * (`NatsCluster.start`). `kill()` and `restart()` keep the port and the JetStream store
 * directory, for fault tests. A missing binary rejects with how to install it.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ask, freePorts, LaunchedServer, removeDir, ServerProcess, tempDir, waitFor } from './spawned-server.js'

export interface NatsServerOptions {
  /** Enable JetStream with file storage in the temp directory. */
  readonly jetstream?: boolean
  /** The binary to run (tests of the launcher name a missing one). */
  readonly command?: string
  /** The client port (a test that starts clients first picks it with `freePort`). */
  readonly port?: number
  /** Where the temp directory is made (default: the OS temp dir). */
  readonly parentDir?: string
  /** Run in a process group of its own (see `SpawnOptions.ownProcessGroup`). */
  readonly ownProcessGroup?: boolean
}

interface NodePorts {
  readonly client: number
  readonly monitor: number
  readonly route?: number
}

interface ClusterPlan {
  readonly name: string
  /** Route ports of every member, this one included (nats-server skips its own). */
  readonly routes: readonly number[]
}

export class NatsServer extends LaunchedServer {
  readonly name: string
  readonly dir: string
  readonly #ports: NodePorts
  readonly #opts: NatsServerOptions
  readonly #cluster: ClusterPlan | undefined

  private constructor(name: string, dir: string, ports: NodePorts, opts: NatsServerOptions, cluster?: ClusterPlan) {
    super()
    this.name = name
    this.dir = dir
    this.#ports = ports
    this.#opts = opts
    this.#cluster = cluster
  }

  /** Starts one node on free ports; resolves once it accepts clients. */
  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const dir = await tempDir('nats-', opts.parentDir)
    // The monitor never gets the client port, which may be a port picked but not yet bound.
    const [client, monitor] = opts.port === undefined ? await freePorts(2) : [opts.port, (await freePorts(1, [opts.port]))[0]!]
    return LaunchedServer.started(new NatsServer('n1', dir, { client: client!, monitor: monitor! }, opts))
  }

  /** A member of a cluster: configured now, started by the cluster (use its `kill` and `restart`; `NatsCluster.stop` removes the shared directory). */
  static member(name: string, dir: string, ports: NodePorts, opts: NatsServerOptions, cluster: ClusterPlan): NatsServer {
    return new NatsServer(name, dir, ports, opts, cluster)
  }

  get port(): number {
    return this.#ports.client
  }

  get url(): string {
    return `nats://127.0.0.1:${this.#ports.client}`
  }

  /** The monitoring endpoint (`/varz`, `/jsz`, …). */
  get monitorUrl(): string {
    return `http://127.0.0.1:${this.#ports.monitor}`
  }

  /** Whether this node answers its client port with INFO now. */
  async accepting(): Promise<boolean> {
    return (await ask(this.#ports.client, '')).startsWith('INFO ')
  }

  /** The monitoring endpoint's JSON (`/routez`, `/jsz`, …). */
  async monitor(path: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.monitorUrl}${path}`)
    return (await res.json()) as Record<string, unknown>
  }

  /**
   * (Re)starts the process on the same ports and store directory; resolves once it accepts.
   * `authToken` makes it refuse clients without that token (a server reconfigured under them).
   */
  async restart(opts: { readonly authToken?: string } = {}): Promise<void> {
    if (this.running) throw new Error(`nats-server ${this.name} is running`)
    const conf = join(this.dir, `${this.name}.conf`)
    await writeFile(conf, this.#config() + (opts.authToken ? `authorization { token: ${JSON.stringify(opts.authToken)} }\n` : ''))
    this.process = await ServerProcess.spawn(this.#opts.command ?? 'nats-server', ['-c', conf], 'nats-server', this.dir, {
      ownProcessGroup: this.#opts.ownProcessGroup ?? false,
    })
    await this.process.waitReady(() => this.accepting(), `nats-server ${this.name} on port ${this.port}`)
  }

  #config(): string {
    const lines = [
      `listen: 127.0.0.1:${this.#ports.client}`,
      `http: 127.0.0.1:${this.#ports.monitor}`,
      `server_name: ${this.name}`,
    ]
    if (this.#opts.jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(this.dir, this.name))} }`)
    const c = this.#cluster
    if (c !== undefined && this.#ports.route !== undefined) {
      const routes = c.routes.map((p) => `nats-route://127.0.0.1:${p}`).join(', ')
      lines.push(`cluster { name: ${c.name}, listen: 127.0.0.1:${this.#ports.route}, routes: [${routes}] }`)
    }
    return lines.join('\n') + '\n'
  }
}

/** Three (or `size`) routed nats-server nodes, JetStream on by default. */
export class NatsCluster {
  readonly servers: readonly NatsServer[]
  readonly dir: string

  private constructor(dir: string, servers: NatsServer[]) {
    this.dir = dir
    this.servers = servers
  }

  /**
   * Starts `size` servers on free ports. A port picked free can be taken by another process
   * before its server binds it: that start is retried on new ports (twice at most).
   */
  static async start(opts: NatsServerOptions & { readonly size?: number } = {}): Promise<NatsCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await NatsCluster.#startOnce(opts)
      } catch (err) {
        if (attempt >= 3 || !String(err instanceof Error ? err.message : err).includes('address already in use')) throw err
      }
    }
  }

  static async #startOnce(opts: NatsServerOptions & { readonly size?: number }): Promise<NatsCluster> {
    const size = opts.size ?? 3
    const o: NatsServerOptions = { jetstream: true, ...opts }
    const dir = await tempDir('nats-cluster-', opts.parentDir)
    const ports: NodePorts[] = []
    const picked = await freePorts(3 * size)
    for (let i = 0; i < size; i++) ports.push({ client: picked[3 * i]!, monitor: picked[3 * i + 1]!, route: picked[3 * i + 2]! })
    const plan: ClusterPlan = { name: 'partyline-test', routes: ports.map((p) => p.route!) }
    const servers = ports.map((p, i) => NatsServer.member(`n${i + 1}`, dir, p, o, plan))
    const cluster = new NatsCluster(dir, servers)
    try {
      await Promise.all(servers.map((s) => s.restart()))
      await cluster.formed()
    } catch (err) {
      await cluster.stop()
      throw err
    }
    return cluster
  }

  /** Every client URL, comma-separated (the form `NATS_URL` takes). */
  get urls(): string {
    return this.servers.map((s) => s.url).join(',')
  }

  /** Resolves when every running node routes to every other running one and, with JetStream, a meta leader is elected. */
  async formed(ms = 20_000): Promise<void> {
    await waitFor(async () => {
      const up = this.servers.filter((s) => s.running)
      for (const s of up) {
        const routez = await s.monitor('/routez').catch(() => undefined)
        if (routez === undefined || Number(routez['num_routes']) < up.length - 1) return false
        const jsz = await s.monitor('/jsz').catch(() => undefined)
        if (jsz !== undefined && 'meta_cluster' in jsz) {
          const meta = jsz['meta_cluster'] as { leader?: string } | undefined
          if (!meta?.leader) return false
        }
      }
      return true
    }, 'the NATS cluster to form', ms)
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.kill('SIGTERM')))
    await removeDir(this.dir)
  }
}
