/**
 * What the nats-server, redis-server and partyline-node launchers share: a free port, a temp
 * directory, a child process whose missing binary is a clear error (never a skip), and a
 * bounded stop. Used by the tests and by `partyline dev-cluster`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

/** A port free on 127.0.0.1 right now (the OS picks it; the caller binds it soon after). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!
}

/**
 * `count` distinct ports free on 127.0.0.1 right now, none of them in `avoid`. Each is held
 * until all are picked: ports picked one at a time and released at once can repeat (the OS
 * may hand a released port out again), and so can a port picked earlier but not yet bound
 * (a server about to start on it).
 */
export async function freePorts(count: number, avoid: readonly number[] = []): Promise<number[]> {
  const held: Server[] = []
  const ports: number[] = []
  try {
    for (let tries = 0; ports.length < count && tries < count + 64; tries++) {
      const server = createServer()
      held.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', resolve)
      })
      const address = server.address()
      if (address === null || typeof address === 'string') throw new Error('no TCP address')
      if (!avoid.includes(address.port)) ports.push(address.port)
    }
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))))
  }
  if (ports.length < count) throw new Error(`could not find ${count} free ports`)
  return ports
}

/** Whether a listener can bind `host`:`port` now (false: taken, or not an address of this machine). */
export async function canListen(port: number, host: string): Promise<boolean> {
  const server = createServer()
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, host, () => resolve(true))
  })
  if (bound) await new Promise<void>((resolve) => server.close(() => resolve()))
  return bound
}

/** A new directory named `prefix` + random characters, under `parent` (default: the OS temp dir). */
export async function tempDir(prefix: string, parent: string = tmpdir()): Promise<string> {
  return mkdtemp(join(parent, prefix))
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/** Polls `check` every 20 ms until it is true; rejects after `ms` naming `what`. */
export async function waitFor(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` now. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Sends `line` over TCP and resolves the first chunk answered ('' when refused or silent). */
export function ask(port: number, line: string, ms = 1000): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    const done = (answer: string): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(''), ms)
    socket.once('connect', () => socket.write(line))
    socket.once('data', (d) => done(d.toString('utf8')))
    socket.once('error', () => done(''))
  })
}

/** A command that is not on the PATH; the message says which Debian package brings it. */
export class MissingBinaryError extends Error {
  constructor(readonly command: string, readonly packageName: string) {
    super(`${command} was not found on the PATH; install it with \`apt-get install ${packageName}\` (Debian/Ubuntu).`)
    this.name = 'MissingBinaryError'
  }
}

export interface SpawnOptions {
  /** The child's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv
  /**
   * Run the child in a process group of its own, so a Ctrl-C in the terminal reaches only
   * this process, which then stops its children in the order it chooses.
   */
  readonly ownProcessGroup?: boolean
  /** Called with each complete line the child writes to stdout or stderr. */
  readonly onLine?: (line: string) => void
}

/** A spawned server process: its exit, and the tail of what it printed (for error messages). */
export class ServerProcess {
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #output = ''

  private constructor(child: ChildProcess, onLine: ((line: string) => void) | undefined) {
    this.child = child
    const keep = (d: Buffer): void => {
      this.#output = (this.#output + d.toString('utf8')).slice(-4000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    if (onLine !== undefined) {
      for (const stream of [child.stdout, child.stderr]) if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine)
    }
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  }

  /** Spawns `command`; rejects with MissingBinaryError when it is not installed. */
  static async spawn(command: string, args: readonly string[], packageName: string, cwd: string, opts: SpawnOptions = {}): Promise<ServerProcess> {
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.ownProcessGroup ? { detached: true } : {}),
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new MissingBinaryError(command, packageName) : err))
    })
    return new ServerProcess(child, opts.onLine)
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  get output(): string {
    return this.#output
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `ms` if it is still running. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 5000): Promise<void> {
    if (!this.running) return
    this.child.kill(signal)
    const force = setTimeout(() => this.child.kill('SIGKILL'), ms)
    await this.exited
    clearTimeout(force)
  }

  /** Resolves when `ready()` holds; rejects with the server's own output if it exits first. */
  async waitReady(ready: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
    await waitFor(async () => {
      if (!this.running) throw new Error(`${what} exited before it was ready:\n${this.#output}`)
      return ready()
    }, what, ms)
  }
}

/**
 * A launched server process with a temp directory: `restart()` (re)starts it on the same
 * ports and directory, `kill()` stops it keeping the directory, `stop()` removes everything.
 */
export abstract class LaunchedServer {
  abstract readonly dir: string
  protected process: ServerProcess | undefined

  /** (Re)starts the process; resolves once it accepts clients. */
  abstract restart(): Promise<void>

  get running(): boolean {
    return this.process?.running ?? false
  }

  /** The process id of the running (or last) process. */
  get pid(): number | undefined {
    return this.process?.child.pid
  }

  /** How the running (or last) process ended; undefined before the first start. */
  get exited(): ServerProcess['exited'] | undefined {
    return this.process?.exited
  }

  /** How long `kill` waits for the process to exit before it sends SIGKILL. */
  protected get stopBoundMs(): number {
    return 5000
  }

  /** The tail of what the running (or last) process printed. */
  get output(): string {
    return this.process?.output ?? ''
  }

  /** Stops the process with `signal` (SIGKILL: no clean-up at all); the directory stays. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.process?.stop(signal, this.stopBoundMs)
  }

  /** Stops the process (SIGTERM) and removes its directory. */
  async stop(): Promise<void> {
    await this.kill('SIGTERM')
    await removeDir(this.dir)
  }

  /** `server` started, or stopped and cleaned up if it could not start. */
  static async started<T extends LaunchedServer>(server: T, start: () => Promise<void> = () => server.restart()): Promise<T> {
    try {
      await start()
    } catch (err) {
      await server.stop()
      throw err
    }
    return server
  }
}
