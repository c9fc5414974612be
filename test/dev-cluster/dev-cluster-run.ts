/**
 * `partyline dev-cluster` run as a process by the tests: each run gets a TMPDIR of its own,
 * so a test can see that nothing is left in it.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { until } from '../helpers/server.js'

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

type Tap = Test

export interface Run {
  readonly tmp: string
  out: string
  err: string
  exit: number | null | undefined
  signal(s: NodeJS.Signals): void
  exited(): Promise<number | null>
}

export async function devCluster(t: Tap, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  const tmp = await mkdtemp(join(tmpdir(), 'dev-cluster-test-'))
  const child = spawn(process.execPath, ['--import=tsx', main, 'dev-cluster', ...args], { env: { ...env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] })
  const run: Run = {
    tmp,
    out: '',
    err: '',
    exit: undefined,
    signal: (s) => child.kill(s),
    exited: () => until(() => run.exit !== undefined, 'dev-cluster to exit', 30_000).then(() => run.exit!),
  }
  child.stdout.on('data', (d: Buffer) => (run.out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (run.err += d.toString()))
  child.on('exit', (code) => (run.exit = code))
  t.teardown(async () => {
    if (run.exit === undefined) {
      child.kill('SIGTERM')
      await run.exited().catch(() => child.kill('SIGKILL'))
    }
    await rm(tmp, { recursive: true, force: true })
  })
  return run
}

export interface Summary {
  readonly dir: string
  readonly natsUrl: string
  readonly redisPort: number
  readonly pids: readonly number[]
  readonly nodes: ReadonlyArray<{ id: string; url: string; ws: string; pid: number }>
}

/** Waits for the summary the command prints once the nodes are ready, and reads it. */
export async function summary(run: Run, nodes: number): Promise<Summary> {
  await until(() => /^partyline dev-cluster: \d+ of \d+ nodes ready/m.test(run.out) || run.exit !== undefined, 'the summary', 90_000)
  const head = /^partyline dev-cluster: (\d+) of (\d+) nodes ready, in (\S+)$/m.exec(run.out)
  if (head === null) throw new Error(`no summary; exit ${run.exit}\n${run.err}\n${run.out.slice(-2000)}`)
  const nats = /^ {2}nats\s+(nats:\/\/\S+)\s.*pid (\d+)$/m.exec(run.out)!
  const redis = /^ {2}redis\s+redis:\/\/127\.0\.0\.1:(\d+)\s+pid (\d+)$/m.exec(run.out)!
  const rows = [...run.out.matchAll(/^ {2}(node-\d+)\s+(http:\/\/\S+)\s+pid (\d+)\s+ready$/gm)]
  if (rows.length !== nodes) throw new Error(`expected ${nodes} ready nodes:\n${run.out}`)
  const list = rows.map((r) => ({ id: r[1]!, url: r[2]!, ws: r[2]!.replace(/^http/, 'ws'), pid: Number(r[3]) }))
  return {
    dir: head[3]!,
    natsUrl: nats[1]!,
    redisPort: Number(redis[1]),
    pids: [Number(nats[2]), Number(redis[2]), ...list.map((n) => n.pid)],
    nodes: list,
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * Polls `pids` until every one is gone (bounded) and resolves, for each, the poll round in
 * which it was first seen gone: the order the processes ended in.
 */
export async function endOrder(pids: readonly number[], ms = 30_000): Promise<Map<number, number>> {
  const gone = new Map<number, number>()
  const deadline = Date.now() + ms
  for (let round = 0; gone.size < pids.length; round++) {
    if (Date.now() > deadline) throw new Error(`still running after ${ms} ms: ${pids.filter((p) => !gone.has(p)).join(', ')}`)
    for (const pid of pids) if (!gone.has(pid) && !alive(pid)) gone.set(pid, round)
    await new Promise((r) => setTimeout(r, 2))
  }
  return gone
}

/** Pids of processes whose command line names `dir` (nats-server and redis-server are given paths in their directory). */
export async function processesNaming(dir: string): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(dir)) found.push(Number(entry))
  }
  return found
}

/** The cluster directories in the run's TMPDIR (tsx keeps its cache there too). */
export async function clusterDirs(run: Run): Promise<string[]> {
  return (await readdir(run.tmp)).filter((name) => name.startsWith('partyline-dev-cluster-'))
}

export async function leftNothing(t: Tap, run: Run, pids: readonly number[]): Promise<void> {
  t.same(pids.filter(alive), [], 'no process of the cluster is left')
  t.same(await processesNaming(run.tmp), [], 'no process names the temp dir')
  t.same(await clusterDirs(run), [], 'the cluster directory is removed')
}
