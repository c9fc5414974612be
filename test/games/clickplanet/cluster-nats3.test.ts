/**
 * ClickPlanet on a 3-server NATS cluster with a 3-replica stream (the production shape):
 * one NATS server killed during clicks. Clicks go on through the other two (a few may be
 * refused with 503 while JetStream elects a new leader), nothing acknowledged is lost, and
 * both partyline nodes agree.
 */
import t from 'tap'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { NatsCluster } from '../../helpers/nats-server.js'
import { RedisServer } from '../../helpers/redis-server.js'
import { converged, startNode, type ClusterNode } from './cluster-helpers.js'
import { ownerships, postBytes, waitFor } from './helpers.js'

t.test('cluster - a NATS server of three killed during clicks: the 3-replica stream keeps every acknowledged click', async (t) => {
  const nats = await NatsCluster.start()
  t.teardown(() => nats.stop())
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const urls = { nats: nats.urls, redis: redis.url }
  const nodes: ClusterNode[] = []
  for (const id of ['r1', 'r2']) nodes.push(await startNode(urls, id, { clicksReplicas: 3, clicksAckWaitMs: 3000 }))
  t.teardown(() => Promise.all(nodes.map((n) => n.server.close())))
  const acked = new Map<number, string>()
  let refused = 0
  const clickSome = async (from: number, to: number): Promise<void> => {
    await Promise.all(nodes.map(async (n, k) => {
      for (let tile = from + k; tile < to; tile += nodes.length) {
        const res = await postBytes(`${n.base}/api/click`, encodeClickRequest({ tileId: tile, countryId: 'fi' }))
        await res.arrayBuffer()
        if (res.status === 200) acked.set(tile, 'fi')
        else refused++
      }
    }))
  }
  /** Waits until every node takes a click (tiles `from`, `from + 1`, …). */
  const takingClicks = async (from: number): Promise<void> => {
    for (const [k, n] of nodes.entries()) {
      await waitFor(`${n.server.nodeId} to take clicks`, async () => {
        const res = await postBytes(`${n.base}/api/click`, encodeClickRequest({ tileId: from + k, countryId: 'fi' }))
        await res.arrayBuffer()
        if (res.status === 200) acked.set(from + k, 'fi')
        else refused++
        return res.status === 200 ? true : undefined
      }, 30_000)
    }
  }
  // the 3-replica stream is made by the first node: a moment before it has a leader
  await takingClicks(2000)
  refused = 0
  await clickSome(0, 100)
  t.equal(acked.size, 102, 'all clicks taken with three NATS servers')
  const victim = nats.servers[0]!
  await victim.kill()
  // Each node's connection moves to a live server, JetStream elects a leader if it must;
  // clicks meanwhile are refused with 503, never acknowledged and lost.
  await takingClicks(1000)
  await clickSome(100, 400)
  t.ok(acked.size >= 300, `${acked.size} clicks acknowledged with two NATS servers of three (${refused} refused with 503 while it moved)`)
  const head = Math.max(...nodes.map((n) => n.server.clickplanet!.stats.logPosition))
  await converged(nodes, head, 30_000)
  for (const n of nodes) {
    const map = new Map((await ownerships(n.base)).map((o) => [o.tileId, o.countryId]))
    const missing = [...acked.keys()].filter((tile) => map.get(tile) !== 'fi')
    t.same(missing, [], `${n.server.nodeId}: every acknowledged click is there`)
  }
})
