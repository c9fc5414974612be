/**
 * ClickPlanet on three nodes sharing a JetStream stream and Redis (real nats-server and
 * redis-server): clicks on every node at once, many racing on one tile, and every node's
 * ownerships, leaderboard and update stream agree; a read right after an acknowledged click
 * on the same node shows it.
 */
import t from 'tap'
import { connect } from 'nats'
import { runRobotWith } from '../../../src/games/clickplanet/robot.js'
import { converged, services, startNode, type ClusterNode } from './cluster-helpers.js'
import { batch, click, leaderboard, Listener, ownerships, waitFor } from './helpers.js'

t.test('cluster - three nodes, clicks on all at once racing on one tile: ownerships, leaderboard and updates agree', async (t) => {
  const { urls } = await services(t)
  const nodes: ClusterNode[] = []
  for (const id of ['n1', 'n2', 'n3']) nodes.push(await startNode(urls, id))
  t.teardown(() => Promise.all(nodes.map((n) => n.server.close())))
  const listeners = await Promise.all(nodes.map((n) => Listener.open(`${n.ws}/ws/listen`)))
  t.teardown(() => listeners.forEach((l) => l.ws.close()))
  const countries = ['fr', 'de', 'it', 'es', 'pt']
  // 3 nodes × 60 clicks: two thirds on tile 7, the rest spread; all in flight together
  const acked: { tileId: number; countryId: string; clickId: string }[] = []
  await Promise.all(nodes.map(async (n, k) => {
    await Promise.all(Array.from({ length: 60 }, async (_, i) => {
      const tileId = i % 3 === 2 ? 10 + ((i + k * 7) % 40) : 7
      const countryId = countries[(i + k) % countries.length]!
      const res = await click(n.base, tileId, countryId)
      acked.push({ tileId, countryId, clickId: res.clickId })
    }))
  }))
  t.equal(acked.length, 180, 'every click acknowledged')
  t.equal(new Set(acked.map((a) => a.clickId)).size, 180, 'with distinct click ids')
  const head = Math.max(...nodes.map((n) => n.server.clickplanet!.stats.logPosition))
  await converged(nodes, head)
  const maps = await Promise.all(nodes.map((n) => ownerships(n.base)))
  t.same(maps[1], maps[0], 'n2 has the same owners as n1')
  t.same(maps[2], maps[0], 'n3 too')
  t.ok(maps[0]!.some((o) => o.tileId === 7), 'the raced tile has an owner')
  const boards = await Promise.all(nodes.map((n) => leaderboard(n.base)))
  t.same(boards[1], boards[0])
  t.same(boards[2], boards[0])
  const n = listeners[0]!.updates.length
  t.ok(n > 0)
  await Promise.all(listeners.map((l) => l.waitCount(n)))
  const streams = listeners.map((l) => l.updates.map((u) => `${u.tileId}:${u.previousCountryId}>${u.countryId}`))
  t.same(streams[1], streams[0], 'n2\'s listener got the same updates in the same order')
  t.same(streams[2], streams[0], 'n3\'s too')
  // the last update of each tile is its owner
  const last = new Map<number, string>()
  for (const u of listeners[0]!.updates) last.set(u.tileId, u.countryId)
  t.same(new Map(maps[0]!.map((o) => [o.tileId, o.countryId])), last, 'the updates lead to the map')
})

t.test('cluster - a read right after an acknowledged click on the same node shows it', async (t) => {
  const { urls } = await services(t)
  const nodes: ClusterNode[] = []
  for (const id of ['r1', 'r2', 'r3']) nodes.push(await startNode(urls, id))
  t.teardown(() => Promise.all(nodes.map((n) => n.server.close())))
  for (let i = 0; i < 30; i++) {
    const node = nodes[i % 3]!
    const tileId = 100 + i
    const countryId = i % 2 ? 'jp' : 'br'
    await click(node.base, tileId, countryId)
    const seen = await batch(node.base, tileId, tileId)
    t.same(seen.map((o) => [o.tileId, o.countryId]), [[tileId, countryId]], `click ${i} on ${node.server.nodeId} shows at once`)
  }
})

t.test('cluster - snapshots: one node writes them to Redis, the stream is trimmed below them, a cold node loads the newest and replays the rest', async (t) => {
  const { urls } = await services(t)
  const fast = { snapshotEveryClicks: 50, snapshotIntervalMs: 200 }
  const nodes: ClusterNode[] = []
  for (const id of ['s1', 's2']) nodes.push(await startNode(urls, id, fast))
  t.teardown(() => Promise.all(nodes.map((n) => n.server.close())))
  for (let round = 0; round < 6; round++) {
    await Promise.all(nodes.map((n, k) => Promise.all(Array.from({ length: 25 }, (_, i) => click(n.base, (round * 50 + k * 25 + i) % 400, i % 2 ? 'ca' : 'mx')))))
  }
  const saved = await waitFor('a snapshot', () => {
    const s = nodes.map((n) => n.server.clickplanet!.stats.snapshotsSaved)
    return s.some((x) => x > 0) ? s : undefined
  })
  t.equal(saved.filter((x) => x > 0).length, 1, `one node writes the snapshots (saves per node: ${saved.join(', ')})`)
  const nc = await connect({ servers: urls.nats })
  t.teardown(() => nc.close())
  const jsm = await nc.jetstreamManager()
  const first = await waitFor('the stream to be trimmed', async () => {
    const info = await jsm.streams.info('CLICKS')
    return info.state.first_seq > 1 ? info.state.first_seq : undefined
  })
  const writer = nodes.find((n) => n.server.clickplanet!.stats.snapshotsSaved > 0)!
  t.ok(first - 1 <= writer.server.clickplanet!.stats.snapshotPosition, `trimmed through ${first - 1}, never above the snapshot (${writer.server.clickplanet!.stats.snapshotPosition})`)
  // A cold node: no data directory, only Redis and the stream
  const cold = await startNode(urls, 's3', fast)
  t.teardown(() => cold.server.close())
  const head = (await jsm.streams.info('CLICKS')).state.last_seq
  await converged([...nodes, cold], head)
  t.ok(cold.server.clickplanet!.stats.snapshotPosition >= first - 1, 'it started from a snapshot (the stream alone no longer holds the start)')
  t.same(await ownerships(cold.base), await ownerships(nodes[0]!.base), 'and has the same map')
  t.same(await leaderboard(cold.base), await leaderboard(nodes[1]!.base))
})

t.test('cluster - the robot on one node defends a territory clicked away on another', async (t) => {
  const { urls } = await services(t)
  const a = await startNode(urls, 'b1')
  t.teardown(() => a.server.close())
  const b = await startNode(urls, 'b2')
  t.teardown(() => b.server.close())
  const territory = Array.from(a.server.clickplanet!.map.tilesOf('fr')!)
  const [first, second] = territory as [number, number]
  await click(a.base, first, 'de')
  const stop = new AbortController()
  t.teardown(() => stop.abort())
  const port = new URL(b.base).port
  const done = runRobotWith(['--target-country', 'fr', '--wanted-country', 'be', '--host', '127.0.0.1', '--port', port, '--unsecure'],
    { signal: stop.signal, out: () => {}, handleSigint: false })
  const owner = async (base: string, tile: number): Promise<string | undefined> => (await batch(base, tile, tile))[0]?.countryId
  await waitFor('the robot (on b2) to reclaim the tile lost on b1 before it started', async () => ((await owner(a.base, first)) === 'be' ? true : undefined))
  await waitFor('the robot to listen on b2', () => (b.server.clickplanet!.stats.listeners >= 1 ? true : undefined))
  await click(a.base, second, 'it')
  await waitFor('the robot to take back the tile clicked on b1', async () => ((await owner(a.base, second)) === 'be' ? true : undefined))
  t.equal(await owner(b.base, second), 'be', 'both nodes agree')
  stop.abort()
  t.equal(await done, 0)
})
