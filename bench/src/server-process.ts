import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { BENCH_DIR, ROOT_DIR } from './build.js'
import type { SystemName } from './systems/index.js'

/** A server under test, running as a child process pinned to core 0. */
export interface RunningServer {
  readonly system: SystemName
  readonly pid: number
  readonly url: string
  /** The last lines it wrote to stderr (for error messages). */
  stderrTail(): string
  /** SIGTERM, then SIGKILL if it has not exited within 8 s. */
  stop(): Promise<void>
}

export interface ServerStartOptions {
  /** Directory for a V8 CPU profile written at exit; none when undefined. */
  readonly cpuProfileDir?: string
  readonly cpuProfileName?: string
  /** Start node with `--perf-basic-prof` so `perf` can name JS functions. */
  readonly perfMap?: boolean
  /** The core the server is pinned to. */
  readonly core: number
  /** Scheduling niceness (negative: priority over other work on the machine; needs root). */
  readonly nice: number
  /** Settings for partyline beyond the benchmark's own (environment variables). */
  readonly env?: Readonly<Record<string, string>>
}

/** `nice -n <n> taskset -c <core> node …`: both exec, so the child's pid is node's. */
export function pinnedNode(core: number, nice: number, args: readonly string[]): [string, string[]] {
  const pinned = ['taskset', '-c', String(core), process.execPath, ...args]
  return nice === 0 ? [pinned[0]!, pinned.slice(1)] : ['nice', ['-n', String(nice), ...pinned]]
}

const PARTYLINE_ENTRY = join(ROOT_DIR, 'dist/src/main.js')

/** Why partyline cannot run, or undefined when its build is there. */
export function partylineUnavailable(): string | undefined {
  return existsSync(PARTYLINE_ENTRY)
    ? undefined
    : `${PARTYLINE_ENTRY} does not exist (run \`npm run build\` at the repository root)`
}

export async function startServer(system: SystemName, options: ServerStartOptions): Promise<RunningServer> {
  const port = await freePort()
  const nodeArgs: string[] = []
  if (options.cpuProfileDir !== undefined) {
    mkdirSync(options.cpuProfileDir, { recursive: true })
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`)
    if (options.cpuProfileName) nodeArgs.push(`--cpu-prof-name=${options.cpuProfileName}`)
  }
  if (options.perfMap) nodeArgs.push('--perf-basic-prof')
  let cwd = BENCH_DIR
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), NODE_ENV: 'production' }
  if (system === 'partyline') {
    cwd = ROOT_DIR
    nodeArgs.push(PARTYLINE_ENTRY, 'serve')
    Object.assign(env, {
      HOST: '127.0.0.1',
      PARTYLINE_LOG_LEVEL: 'warn',
      // One address opens every room and player here; the per-address throttles and caps would refuse it.
      PARTYLINE_ROOMS_PER_MINUTE: '1000000',
      PARTYLINE_JOIN_ATTEMPTS_PER_MINUTE: '1000000',
      PARTYLINE_HOSTS_PER_ADDRESS: '100000',
      PARTYLINE_PLAYERS_PER_ADDRESS: '100000',
      ...options.env,
    })
  } else {
    const file = { 'ws-relay': 'ws-relay-server.js', 'socket.io': 'socketio-server.js', colyseus: 'colyseus-server.js' }[system]
    nodeArgs.push(join(BENCH_DIR, 'build/systems', file))
  }
  const [command, args] = pinnedNode(options.core, options.nice, nodeArgs)
  const child = spawn(command, args, {
    cwd,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const server: RunningServer = {
    system,
    pid: child.pid!,
    url: `ws://127.0.0.1:${port}`,
    stderrTail: () => stderr.trim().split('\n').slice(-8).join('\n'),
    stop: () => stopChild(child, exited),
  }
  try {
    await waitHealthy(port, child, 20_000)
  } catch (error) {
    await server.stop()
    throw new Error(`${system} did not start: ${(error as Error).message}\n${server.stderrTail()}`)
  }
  if (options.cpuProfileDir !== undefined) unpinProfilerThread(server.pid)
  return server
}

/**
 * V8's sampler thread (`v8:ProfEvntProc`) must not share the pinned core with the thread it
 * samples: it would only get to run when the main thread blocks, and the profile would show
 * little but syscalls and GC. Let it run on any core (the samples are still taken on core 0).
 */
function unpinProfilerThread(pid: number): void {
  const cores = `0-${Math.max(1, availableParallelism() - 1)}`
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'v8:ProfEvntProc') {
        execFileSync('taskset', ['-p', '-c', cores, tid], { stdio: 'ignore' })
      }
    } catch {
      // the thread ended, or taskset failed: the profile is just less even
    }
  }
}

async function waitHealthy(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = performance.now() + ms
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before answering /healthz`)
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`/healthz did not answer 200 within ${ms} ms`)
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  // partyline drains for up to PARTYLINE_SHUTDOWN_MS (4 s) + 1 s; a profile is written at exit.
  const timer = setTimeout(() => child.kill('SIGKILL'), 8000)
  await exited
  clearTimeout(timer)
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
