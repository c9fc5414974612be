/**
 * A real `redis-server` (tests, `partyline dev-cluster`): a free port picked first (`--port 0` would disable TCP
 * in Redis), a temp directory as its working directory, no persistence unless asked,
 * ready once it answers PING. `kill()` and `restart()` keep the port and the directory (an
 * append-only file there is loaded again); `restart({ empty: true })` starts with nothing,
 * as a Redis without persistence comes back; `pause()` freezes it (SIGSTOP) to test a Redis
 * that hangs. A missing binary rejects with how to install it.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ask, freePort, LaunchedServer, removeDir, ServerProcess, tempDir } from './spawned-server.js'

export interface RedisServerOptions {
  /** Keep an append-only file (`--appendonly yes`, fsync every write in tests). */
  readonly appendonly?: boolean
  /** The binary to run (tests of the launcher name a missing one). */
  readonly command?: string
  /** The port (a test that starts clients first picks it with `freePort`). */
  readonly port?: number
  /** Where the temp directory is made (default: the OS temp dir). */
  readonly parentDir?: string
  /** Run in a process group of its own (see `SpawnOptions.ownProcessGroup`). */
  readonly ownProcessGroup?: boolean
}

export class RedisServer extends LaunchedServer {
  readonly port: number
  readonly dir: string
  readonly #opts: RedisServerOptions

  private constructor(port: number, dir: string, opts: RedisServerOptions) {
    super()
    this.port = port
    this.dir = dir
    this.#opts = opts
  }

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    return LaunchedServer.started(new RedisServer(opts.port ?? (await freePort()), await tempDir('redis-', opts.parentDir), opts))
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Whether it answers PING now (false while loading, stopped or refusing). */
  async accepting(): Promise<boolean> {
    return (await ask(this.port, 'PING\r\n')).startsWith('+PONG')
  }

  /** (Re)starts on the same port and directory; `empty` first deletes whatever it persisted. */
  async restart(opts: { readonly empty?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error('redis-server is running')
    if (opts.empty) for (const f of await readdir(this.dir)) await removeDir(join(this.dir, f))
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--save', '',
      '--appendonly', this.#opts.appendonly ? 'yes' : 'no',
      '--appendfsync', 'always',
      '--protected-mode', 'no',
      '--daemonize', 'no',
    ]
    this.process = await ServerProcess.spawn(this.#opts.command ?? 'redis-server', args, 'redis-server', this.dir, {
      ownProcessGroup: this.#opts.ownProcessGroup ?? false,
    })
    await this.process.waitReady(() => this.accepting(), `redis-server on port ${this.port}`)
  }

  /** Freezes the process (SIGSTOP): connections stay open and nothing is answered. */
  pause(): void {
    this.process?.child.kill('SIGSTOP')
  }

  /** Thaws a paused process (SIGCONT). */
  resume(): void {
    this.process?.child.kill('SIGCONT')
  }

  override async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.resume()
    await super.kill(signal)
  }
}
