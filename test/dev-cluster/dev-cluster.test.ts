/**
 * `partyline dev-cluster` as a process: real nats-server, redis-server and `partyline serve`
 * nodes; each run gets a TMPDIR of its own, so the test can see that nothing is left in it.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { ask } from '../../src/launchers/spawned-server.js'
import { HostPeer, httpGet, until } from '../helpers/server.js'

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

type Tap = Test

interface Run {
  readonly tmp: string
  out: string
  err: string
  exit: number | null | undefined
  signal(s: NodeJS.Signals): void
  exited(): Promise<number | null>
}

async function devCluster(t: Tap, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
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

interface Summary {
  readonly dir: string
  readonly natsUrl: string
  readonly redisPort: number
  readonly pids: readonly number[]
  readonly nodes: ReadonlyArray<{ id: string; url: string; ws: string; pid: number }>
}

/** Waits for the summary the command prints once the nodes are ready, and reads it. */
async function summary(run: Run, nodes: number): Promise<Summary> {
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

function alive(pid: number): boolean {
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
async function endOrder(pids: readonly number[], ms = 30_000): Promise<Map<number, number>> {
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
async function processesNaming(dir: string): Promise<number[]> {
  const found: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes(dir)) found.push(Number(entry))
  }
  return found
}

/** The cluster directories in the run's TMPDIR (tsx keeps its cache there too). */
async function clusterDirs(run: Run): Promise<string[]> {
  return (await readdir(run.tmp)).filter((name) => name.startsWith('partyline-dev-cluster-'))
}

async function leftNothing(t: Tap, run: Run, pids: readonly number[]): Promise<void> {
  t.same(pids.filter(alive), [], 'no process of the cluster is left')
  t.same(await processesNaming(run.tmp), [], 'no process names the temp dir')
  t.same(await clusterDirs(run), [], 'the cluster directory is removed')
}

t.test('dev-cluster - two nodes share NATS and Redis, answer /readyz and /healthz, a room lands in the Redis directory; SIGINT stops nodes, then servers, and leaves nothing', async (t) => {
  const run = await devCluster(t, ['--nodes', '2', '--port', '0'])
  const s = await summary(run, 2)
  t.match(s.dir, new RegExp(`^${run.tmp}/partyline-dev-cluster-`), 'everything under one temp dir')
  t.match(run.out, `Every node: REDIS_URL=redis://127.0.0.1:${s.redisPort} NATS_URL=${s.natsUrl} PARTYLINE_NODE_ID=node-<n>.`)
  t.match(run.out, /Stop everything with Ctrl-C/)
  t.not(new Set(s.nodes.map((n) => n.url)).size, 1, 'distinct ports')

  for (const node of s.nodes) {
    const ready = await httpGet(node, '/readyz')
    t.equal(ready.status, 200, `${node.id} /readyz`)
    t.match(ready.body, { status: 'ready', redis: 'ok', nats: 'ok' }, `${node.id} uses Redis and NATS`)
    t.equal((await httpGet(node, '/healthz')).status, 200, `${node.id} /healthz`)
    t.match(await httpGet(node, '/metrics').then((m) => m.text), `partyline_node_info{node="${node.id}",store="redis",bus="nats"} 1`, `${node.id} is named ${node.id}`)
  }

  const [first] = s.nodes
  const host = new HostPeer(first!)
  const { key } = await host.prepare({ name: 'Quiz', public: true })
  t.equal(await ask(s.redisPort, `HGET partyline:dir:${key} node\r\n`), '$6\r\nnode-1\r\n', 'the Redis directory names node-1 as the owner')
  const lobby = (await httpGet(first!, '/api/rooms')).body as { rooms: Array<{ key: string; name: string }> }
  t.match(lobby.rooms.find((r) => r.key === key), { key, name: 'Quiz' }, "the room is in node-1's lobby")
  await until(() => run.out.includes('node-1 | ') && /node-1 \| .*"msg":"room created"/.test(run.out), "node-1's log line, prefixed", 5000)

  const ended = endOrder(s.pids)
  run.signal('SIGINT')
  t.equal((await host.closedWith()).code, 1012, 'the host is closed with 1012: the node stopped gracefully')
  t.equal(await run.exited(), 0)
  const order = await ended
  const [natsPid, redisPid, ...nodePids] = s.pids.map((pid) => order.get(pid)!)
  t.ok(Math.max(...nodePids) <= Math.min(natsPid!, redisPid!), `every node ended before NATS and Redis (poll rounds: nodes ${nodePids.join(', ')}; nats ${natsPid}, redis ${redisPid})`)
  const steps = ['stopping node-1, node-2 (SIGTERM)', 'stopping nats-server and redis-server', `stopped; removed ${s.dir}`].map((step) => run.err.indexOf(step))
  t.ok(steps.every((i) => i >= 0) && steps[0]! < steps[1]! && steps[1]! < steps[2]!, `nodes first, then the servers, then the directory:\n${run.err}`)
  await leftNothing(t, run, s.pids)
})

t.test('dev-cluster - serve options reach every node; a node killed with -9 is reported and the other keeps serving; SIGTERM stops the rest', async (t) => {
  const run = await devCluster(t, ['--nodes', '2', '--port', '0', '--', '--clickplanet', 'false', '--shutdown-ms', '1000'])
  const s = await summary(run, 2)
  const [one, two] = s.nodes
  for (const node of s.nodes) t.equal((await httpGet(node, '/api/leaderboard')).status, 404, `${node.id} runs without ClickPlanet (--clickplanet false)`)

  process.kill(two!.pid, 'SIGKILL')
  await until(() => run.err.includes('node-2 exited (signal SIGKILL) while the cluster runs'), 'the report of node-2', 10_000)
  t.equal((await httpGet(one!, '/readyz')).status, 200, 'node-1 keeps serving')
  t.equal(run.exit, undefined, 'the command keeps running')

  run.signal('SIGTERM')
  t.equal(await run.exited(), 0)
  t.match(run.err, /stopping node-1 \(SIGTERM\)/, 'only the live node is stopped')
  await leftNothing(t, run, s.pids)
})

t.test('dev-cluster - without nats-server or redis-server on the PATH: exit 2 saying how to install them, nothing left behind', async (t) => {
  const empty = await mkdtemp(join(tmpdir(), 'empty-path-'))
  t.teardown(() => rm(empty, { recursive: true, force: true }))
  const neither = await devCluster(t, ['--port', '0'], { ...process.env, PATH: empty })
  t.equal(await neither.exited(), 2)
  t.match(neither.err, 'nats-server and redis-server are not on the PATH')
  t.match(neither.err, 'apt-get install nats-server redis-server')
  t.same(await clusterDirs(neither), [], 'no directory left')

  // Only Redis installed: it is started, then stopped when NATS turns out to be missing.
  const onlyRedis = await mkdtemp(join(tmpdir(), 'redis-only-path-'))
  t.teardown(() => rm(onlyRedis, { recursive: true, force: true }))
  const redisPath = await new Promise<string>((resolve, reject) => {
    const which = spawn('sh', ['-c', 'command -v redis-server'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    which.stdout.on('data', (d: Buffer) => (out += d.toString()))
    which.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error('redis-server is not installed'))))
  })
  await symlink(redisPath, join(onlyRedis, 'redis-server'))
  const noNats = await devCluster(t, ['--port', '0'], { ...process.env, PATH: onlyRedis })
  t.equal(await noNats.exited(), 2)
  t.match(noNats.err, 'nats-server is not on the PATH')
  t.match(noNats.err, 'apt-get install nats-server`')
  t.notMatch(noNats.err, 'redis-server is not', 'redis-server is not named')
  t.same(await processesNaming(noNats.tmp), [], 'the redis-server it started is stopped')
  t.same(await clusterDirs(noNats), [], 'no directory left')
})

t.test('dev-cluster - bad usage exits 2 naming the problem before anything starts; --help documents it', async (t) => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const port = (taken.address() as { port: number }).port
  const cases: Array<[string[], RegExp]> = [
    [['--nodes', '0'], /--nodes must be a whole number from 1 to 16, got "0"/],
    [['--nodes', 'three'], /--nodes must be a whole number/],
    [['--port', '65535', '--nodes', '2'], /--port 65535 leaves no room for 2 nodes/],
    [['--what'], /Unknown option '--what'/],
    [['--', '--port', '9000'], /--port is set by dev-cluster for each node \(PORT\)/],
    [['--', '--redis-url=redis://elsewhere:6379'], /--redis-url is set by dev-cluster/],
    [['--', '--bogus', '1'], /serve option after --: unknown option --bogus/],
    [['--', '--max-players', 'lots'], /serve option after --: setting PARTYLINE_MAX_PLAYERS \(--max-players\) must be a whole number/],
    [['--nodes', '1', '--port', String(port)], new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken; pass another --port, or --port 0`)],
  ]
  for (const [args, message] of cases) {
    const run = await devCluster(t, args)
    t.equal(await run.exited(), 2, args.join(' '))
    t.match(run.err, message, args.join(' '))
    t.same(await clusterDirs(run), [], `${args.join(' ')}: nothing started`)
  }
  const help = await devCluster(t, ['--help'])
  t.equal(await help.exited(), 0)
  for (const part of ['--nodes <n>', '--port <port>', '0: a free port for each node', '-- <serve options>', 'Ctrl-C', 'apt-get install nats-server redis-server'])
    t.match(help.out, part, `--help mentions ${part}`)
})
