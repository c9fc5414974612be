/**
 * `partyline dev-cluster` as a process: real nats-server, redis-server and `partyline serve`
 * nodes, stopped by SIGINT and SIGTERM, with a node killed in between.
 */
import t from 'tap'
import { ask } from '../../src/launchers/spawned-server.js'
import { HostPeer, httpGet, until } from '../helpers/server.js'
import { devCluster, endOrder, leftNothing, summary } from './dev-cluster-run.js'

t.test('dev-cluster - two nodes share NATS and Redis, answer /readyz and /healthz, a room lands in the Redis directory; SIGINT stops nodes, then servers, and leaves nothing', async (t) => {
  const run = await devCluster(t, ['--nodes', '2', '--port', '0'])
  const s = await summary(run, 2)
  t.match(s.dir, new RegExp(`^${run.tmp}/partyline-dev-cluster-`), 'everything under one temp dir')
  t.match(run.out, `Every node: REDIS_URL=redis://127.0.0.1:${s.redisPort} NATS_URL=${s.natsUrl} PARTYLINE_NODE_ID=node-<n>.`)
  t.match(run.out, /Stop everything with Ctrl-C/)
  t.equal(new Set(s.nodes.map((n) => n.url)).size, 2, 'distinct ports')

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
