import { parseArgs } from 'node:util'
import { ConfigError, flagOf, loadSettings, settings as settingsTable, type Settings } from '../config.js'
import { canListen } from '../launchers/spawned-server.js'
import { DevCluster, describeEnd, MissingServersError, type NodeState } from './dev-cluster.js'

const MAX_NODES = 16

/** Flags dev-cluster sets on every node itself; a node given one of them would not be where it is announced. */
const OWN_SETTINGS = [settingsTable.port, settingsTable.redisUrl, settingsTable.natsUrl, settingsTable.nodeId, settingsTable.dataDir].map((s) => ({
  env: s.env,
  flag: flagOf(s.env),
}))

const USAGE = `usage: partyline dev-cluster [--nodes 3] [--port 8081] [--ready-timeout 60] [-- serve options]
       npm run dev-cluster -- --nodes 3
Starts a partyline cluster on this machine to try it: nats-server (with JetStream) and
redis-server from the PATH on free ports, then N \`partyline serve\` nodes that share them
(REDIS_URL, NATS_URL, PARTYLINE_NODE_ID node-1 … node-N, each its own PARTYLINE_DATA_DIR),
all in one temp directory. Prints each node's URL once it answers /readyz, and the NATS and
Redis URLs. Ctrl-C (or SIGTERM) stops the nodes (SIGTERM), then NATS and Redis, and removes
the directory; a second Ctrl-C kills everything at once. A node that dies is reported and
the others keep running (kill -9 one to watch the rest carry on).

  --nodes <n>           how many nodes, 1 to ${MAX_NODES} (default 3)
  --port <port>         node i listens on <port> + i - 1 (default 8081: 8081, 8082, …);
                        0: a free port for each node
  --ready-timeout <s>   how long to wait for every node to answer /readyz 200 (default 60)
  -h, --help            this text
  -- <serve options>    passed to every node, e.g. -- --log-level warn --player-grace-ms 5000
                        (${OWN_SETTINGS.map((s) => s.flag).join(', ')} are set by dev-cluster)

Nodes listen on 127.0.0.1 (-- --host 0.0.0.0 for every address); their log lines are
printed with the node's id in front.
Needs nats-server and redis-server on the PATH: apt-get install nats-server redis-server.
Exit codes: 0 stopped by a signal, 1 could not start, 2 bad usage or NATS / Redis missing.`

class UsageError extends Error {}

interface Invocation {
  readonly nodes: number
  readonly port: number
  readonly readyTimeoutMs: number
  readonly serveArgs: readonly string[]
  /** The settings every node will have (the serve options over the environment). */
  readonly settings: Settings
}

/**
 * `partyline dev-cluster`: returns the exit code (0 stopped by a signal, 1 could not start,
 * 2 bad usage or NATS / Redis not installed).
 */
export async function runDevCluster(argv: readonly string[]): Promise<number> {
  let invocation: Invocation | 'help'
  try {
    invocation = parse(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`partyline dev-cluster: ${err.message}\n(see partyline dev-cluster --help)\n`)
      return 2
    }
    if (err instanceof ConfigError) {
      const why = err.message.replace(/^partyline: /, '').replace(/ \(see --help\)$/, '')
      process.stderr.write(`partyline dev-cluster: serve option after --: ${why}\n(see partyline --help for the serve options)\n`)
      return 2
    }
    throw err
  }
  if (invocation === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  return run(invocation)
}

function parse(argv: readonly string[]): Invocation | 'help' {
  const dash = argv.indexOf('--')
  const own = dash === -1 ? argv : argv.slice(0, dash)
  const serveArgs = dash === -1 ? [] : argv.slice(dash + 1)
  let values
  try {
    values = parseArgs({
      args: [...own],
      strict: true,
      allowPositionals: false,
      options: {
        nodes: { type: 'string', default: '3' },
        port: { type: 'string', default: '8081' },
        'ready-timeout': { type: 'string', default: '60' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) return 'help'
  const nodes = whole('--nodes', values.nodes, 1, MAX_NODES)
  const port = whole('--port', values.port, 0, 65535)
  if (port !== 0 && port + nodes - 1 > 65535) throw new UsageError(`--port ${port} leaves no room for ${nodes} nodes (the last port would be ${port + nodes - 1})`)
  const readyTimeoutMs = whole('--ready-timeout', values['ready-timeout'], 1, 3600) * 1000
  for (const arg of serveArgs) {
    const taken = OWN_SETTINGS.find((s) => arg === s.flag || arg.startsWith(`${s.flag}=`))
    if (taken) throw new UsageError(`${taken.flag} is set by dev-cluster for each node (${taken.env}); leave it out of the serve options`)
  }
  // The values every node will start with: a bad serve option stops here, before anything runs.
  const settings = loadSettings({ ...process.env, HOST: '127.0.0.1', REDIS_URL: 'redis://127.0.0.1:6379', NATS_URL: 'nats://127.0.0.1:4222' }, serveArgs)
  return { nodes, port, readyTimeoutMs, serveArgs, settings }
}

function whole(flag: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`)
  return Number(value)
}

async function run(inv: Invocation): Promise<number> {
  const host = inv.settings.host
  if (inv.port !== 0) {
    for (let i = 0; i < inv.nodes; i++) {
      if (!(await canListen(inv.port + i, host))) {
        process.stderr.write(`partyline dev-cluster: port ${inv.port + i} on ${host} is taken; pass another --port, or --port 0 for free ports\n`)
        return 2
      }
    }
  }
  const width = `node-${inv.nodes}`.length
  const out = (text: string): boolean => process.stdout.write(text + '\n')
  const say = (text: string): boolean => process.stderr.write(`dev-cluster: ${text}\n`)
  const cluster = await DevCluster.create(
    {
      nodes: inv.nodes,
      port: inv.port,
      host,
      serveArgs: inv.serveArgs,
      // A node exits within PARTYLINE_SHUTDOWN_MS plus a second (cluster.md); past more than that it is killed.
      nodeStopBoundMs: inv.settings.shutdownMs + 3000,
      nodeStartBoundMs: inv.readyTimeoutMs,
    },
    {
      line: (node, line) => out(`${node.padEnd(width)} | ${line}`),
      exited: (part, end, output) => {
        const node = part.startsWith('node-')
        // A node's lines were printed as they came; a server's only on a crash (not on a signal someone sent).
        const tail = node || end.signal !== null ? '' : `; its last output:\n${output.trim().split('\n').slice(-10).join('\n')}`
        say(`${part} exited (${describeEnd(end)}) while the cluster runs; ${node ? 'the others keep running' : 'the nodes keep running and name it in /readyz'}${tail}`)
      },
      stopping: (step) => say(step),
    },
  )

  let signalled: (signal: NodeJS.Signals) => void = () => undefined
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve))
  let forced = false
  const stopped = async (): Promise<number> => {
    await cluster.stop()
    return forced ? 1 : 0
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!cluster.stopping) {
      say(`${signal}: stopping the cluster (again to kill everything at once)`)
      signalled(signal)
      void cluster.stop()
    } else if (!forced) {
      forced = true
      say(`${signal}: killing everything now (SIGKILL)`)
      void cluster.kill()
    }
  }
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  for (const s of signals) process.on(s, onSignal)
  try {
    try {
      await cluster.launch()
    } catch (err) {
      if (cluster.stopping) return await stopped()
      const missing = err instanceof MissingServersError
      process.stderr.write(`partyline dev-cluster: ${missing ? '' : 'could not start: '}${(err as Error).message}\n`)
      await cluster.stop()
      return missing ? 2 : 1
    }
    if (!cluster.stopping) {
      const states = await cluster.states(inv.readyTimeoutMs)
      if (cluster.stopping) return await stopped()
      out(summary(cluster, states, inv))
      if (states.every((s) => s.state === 'failed')) {
        say('no node started; stopping')
        await cluster.stop()
        return 1
      }
    }
    await stopSignal
    return await stopped()
  } finally {
    // Whatever happened above, nothing this command started outlives it.
    await cluster.stop()
    for (const s of signals) process.off(s, onSignal)
  }
}

function summary(cluster: DevCluster, states: readonly NodeState[], inv: Invocation): string {
  const nats = cluster.nats!
  const redis = cluster.redis!
  const width = Math.max(`node-${inv.nodes}`.length, 'redis'.length)
  const row = (name: string, text: string): string => `  ${name.padEnd(width)}  ${text}`
  const lines = [
    `partyline dev-cluster: ${states.filter((s) => s.state === 'ready').length} of ${inv.nodes} nodes ready, in ${cluster.dir}`,
    row('nats', `${nats.url}  (JetStream; monitoring ${nats.monitorUrl})  pid ${nats.pid}`),
    row('redis', `${redis.url}  pid ${redis.pid}`),
  ]
  for (const s of states) {
    const where = `${s.node.url}  pid ${s.node.pid ?? '-'}`
    if (s.state === 'ready') lines.push(row(s.node.id, `${where}  ready`))
    else if (s.state === 'not ready') lines.push(row(s.node.id, `${where}  NOT READY after ${inv.readyTimeoutMs / 1000} s: /readyz ${s.readiness ? `${s.readiness.status} ${JSON.stringify(s.readiness.body)}` : 'did not answer'}`))
    else lines.push(row(s.node.id, `FAILED: ${s.why}`))
  }
  const first = states.find((s) => s.state === 'ready')?.node ?? states[0]?.node
  if (first) lines.push(`A game page opens ${first.ws}/CREATE (any node); phones open ws://…/<CODE>; the lobby is ${first.url}/api/rooms.`)
  lines.push(`Every node: REDIS_URL=${redis.url} NATS_URL=${nats.url} PARTYLINE_NODE_ID=node-<n>.`)
  if (first) lines.push(`ClickPlanet (unless --clickplanet false): one planet on every node, its clicks in the JetStream stream CLICKS: click on ${first.url}/api/click, watch ${first.ws}/ws/listen or any other node.`)
  lines.push(`Stop everything with Ctrl-C (or kill -TERM ${process.pid}): the nodes first, then NATS and Redis; ${cluster.dir} is removed.`)
  return lines.join('\n')
}
