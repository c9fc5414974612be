/**
 * ClickPlanet on two nodes while its engines fail (real nats-server and redis-server):
 * JetStream killed and restarted on the same store directory, Redis killed, the stream
 * deleted under running nodes, JetStream unreachable at start. Each test says what kept working, what was refused with
 * which code, and checks that nothing acknowledged was lost.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { connect } from 'nats'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { NatsServer } from '../../helpers/nats-server.js'
import { RedisServer } from '../../helpers/redis-server.js'
import { freePort } from '../../helpers/spawned-server.js'
import { converged, services, startNode, type ClusterNode } from './cluster-helpers.js'
import { click, leaderboard, Listener, ownerships, postBytes, waitFor } from './helpers.js'

async function readyz(base: string): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${base}/readyz`)
  return { status: res.status, body: (await res.json()) as Record<string, string> }
}

t.test('cluster - nats-server killed and restarted during clicks: 503 unavailable while down, reads and listeners carry on, nothing acknowledged lost', async (t) => {
  const { nats, urls } = await services(t)
  const nodes: ClusterNode[] = []
  for (const id of ['o1', 'o2']) nodes.push(await startNode(urls, id, { clicksAckWaitMs: 1000 }))
  t.teardown(() => Promise.all(nodes.map((n) => n.server.close())))
  const [a, b] = nodes as [ClusterNode, ClusterNode]
  const listener = await Listener.open(`${b.ws}/ws/listen`)
  t.teardown(() => listener.ws.close())
  const acked = new Map<number, string>()
  for (let i = 0; i < 20; i++) {
    await click(a.base, i, 'fr')
    acked.set(i, 'fr')
  }
  await listener.waitCount(20)
  const before = await ownerships(b.base)

  await nats.kill()
  // clicks while JetStream is down: refused with 503 `unavailable`, saying why
  const refused = await waitFor('a click refused', async () => {
    const res = await postBytes(`${a.base}/api/click`, encodeClickRequest({ tileId: 100, countryId: 'de' }))
    const body = (await res.json()) as { error?: string; code?: string }
    if (res.status === 200) acked.set(100, 'de')
    return res.status === 503 ? body : undefined
  })
  t.equal(refused.code, 'unavailable', 'the code from the HTTP error registry')
  t.match(refused.error, /JetStream/, `with the reason: ${refused.error}`)
  const ready = await waitFor('readyz to name jetstream', async () => {
    const r = await readyz(a.base)
    return r.status === 503 && /unreachable|lost|closed/.test(r.body['jetstream'] ?? '') ? r : undefined
  })
  t.equal(ready.body['status'], 'degraded', `/readyz: ${JSON.stringify(ready.body)}`)
  t.same(await ownerships(b.base), before, 'reads keep serving the last state')
  t.ok((await leaderboard(a.base)).length > 0)
  t.equal(listener.closeCode, undefined, 'the listener keeps its socket')

  await nats.restart()
  // clicks are taken again once the stream is back (same store directory: same stream)
  for (const [k, n] of nodes.entries()) {
    // each node's connection comes back on its own time
    await waitFor(`clicks to be taken again on ${n.server.nodeId}`, async () => {
      const res = await postBytes(`${n.base}/api/click`, encodeClickRequest({ tileId: 101 + k, countryId: 'it' }))
      await res.arrayBuffer()
      if (res.status === 200) acked.set(101 + k, 'it')
      return res.status === 200 ? true : undefined
    }, 30_000)
  }
  for (let i = 200; i < 210; i++) {
    await click(b.base, i, 'es')
    acked.set(i, 'es')
  }
  const head = Math.max(...nodes.map((n) => n.server.clickplanet!.stats.logPosition))
  await converged(nodes, head, 30_000)
  const updates = await listener.waitCount(20 + acked.size - 20)
  t.ok(updates.some((u) => u.tileId === 209), 'the listener gets updates again, on the same socket')
  t.equal(listener.closeCode, undefined)
  for (const n of nodes) {
    const map = new Map((await ownerships(n.base)).map((o) => [o.tileId, o.countryId]))
    for (const [tile, cc] of acked) t.equal(map.get(tile), cc, `${n.server.nodeId}: acknowledged click on tile ${tile} is there`)
  }
  t.match(await readyz(a.base), { status: 200, body: { jetstream: 'ok' } })
  t.ok(a.server.clickplanet!.stats.publishFailures >= 1, 'publish failures are counted')
})

t.test('cluster - Redis killed: clicks, reads and updates go on; snapshots wait and are saved when it is back', async (t) => {
  const { redis, urls } = await services(t)
  const nodes: ClusterNode[] = []
  for (const id of ['p1', 'p2']) nodes.push(await startNode(urls, id, { snapshotEveryClicks: 10, snapshotIntervalMs: 100 }))
  t.teardown(() => Promise.all(nodes.map((n) => n.server.close())))
  const [a, b] = nodes as [ClusterNode, ClusterNode]
  for (let i = 0; i < 20; i++) await click(a.base, i, 'pl')
  await waitFor('a snapshot', () => (nodes.some((n) => n.server.clickplanet!.stats.snapshotsSaved > 0) ? true : undefined))
  await redis.kill()
  const failuresBefore = nodes.reduce((s, n) => s + n.server.clickplanet!.stats.snapshotFailures, 0)
  for (let i = 20; i < 60; i++) await click(i % 2 ? a.base : b.base, i, 'cz')
  await waitFor('a snapshot to fail', () => (nodes.reduce((s, n) => s + n.server.clickplanet!.stats.snapshotFailures, 0) > failuresBefore ? true : undefined))
  t.equal((await ownerships(b.base)).length, 60, 'clicks were taken and show on the other node')
  const saved = nodes.map((n) => n.server.clickplanet!.stats.snapshotsSaved)
  await redis.restart()
  for (let i = 60; i < 80; i++) await click(a.base, i, 'sk')
  await waitFor('snapshots to be saved again', () => (nodes.some((n, k) => n.server.clickplanet!.stats.snapshotsSaved > saved[k]!) ? true : undefined), 20_000)
  t.pass('snapshots resumed once Redis was back')
})

t.test('cluster - the stream deleted and created again under running nodes: detected, rebuilt, no mixed history, the old snapshot deleted', async (t) => {
  const { urls } = await services(t)
  const nodes: ClusterNode[] = []
  for (const id of ['q1', 'q2']) nodes.push(await startNode(urls, id, { snapshotIntervalMs: 200 }))
  t.teardown(() => Promise.all(nodes.map((n) => n.server.close())))
  const [a, b] = nodes as [ClusterNode, ClusterNode]
  const redis = new Redis(urls.redis)
  t.teardown(() => redis.quit())
  const snapshotKeys = async (): Promise<string[]> => (await redis.keys('*snap:clickplanet.*')).sort()
  for (let i = 0; i < 10; i++) await click(a.base, i, 'fr')
  await converged(nodes, 10)
  const [old] = await waitFor('a snapshot of the first incarnation', async () => {
    const keys = await snapshotKeys()
    return keys.length === 1 ? keys : undefined
  })
  const nc = await connect({ servers: urls.nats })
  t.teardown(() => nc.close())
  const jsm = await nc.jetstreamManager()
  await jsm.streams.delete('CLICKS')
  await waitFor('every node to rebuild', () => (nodes.every((n) => n.server.clickplanet!.stats.logRebuilds >= 1) ? true : undefined), 20_000)
  // the new history: its position 1 onwards are other clicks
  for (let i = 500; i < 505; i++) await click(i % 2 ? a.base : b.base, i, 'de')
  const head = (await jsm.streams.info('CLICKS')).state.last_seq
  await converged(nodes, head)
  for (const n of nodes) {
    const map = (await ownerships(n.base)).map((o) => [o.tileId, o.countryId])
    t.same(map, [[500, 'de'], [501, 'de'], [502, 'de'], [503, 'de'], [504, 'de']], `${n.server.nodeId}: only the new history, nothing of the old one`)
  }
  t.same(await leaderboard(a.base), [{ countryId: 'de', score: 5 }])
  // Once the new incarnation has a snapshot, the old history's is deleted from Redis.
  const keys = await waitFor('only the new incarnation\'s snapshot in Redis', async () => {
    const k = await snapshotKeys()
    return k.length === 1 && k[0] !== old ? k : undefined
  })
  t.match(keys[0], /snap:clickplanet\.CLICKS-\d{4}-/, `the old one (${old}) is gone, the new one (${keys[0]}) stays`)
})

t.test('cluster - a node started while JetStream is unreachable: it serves (clicks 503, reads answer), then follows once NATS is there', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const port = await freePort()
  const node = await startNode({ nats: `nats://127.0.0.1:${port}`, redis: redis.url }, 'd1')
  t.teardown(() => node.server.close())
  const res = await postBytes(`${node.base}/api/click`, encodeClickRequest({ tileId: 3, countryId: 'fr' }))
  t.equal(res.status, 503, 'a click is refused')
  t.match(await res.json(), { code: 'unavailable', error: /JetStream/ })
  t.same(await ownerships(node.base), [], 'reads answer (an empty planet)')
  t.match(await readyz(node.base), { status: 503, body: { jetstream: /unreachable|connecting/ } })
  const nats = await NatsServer.start({ jetstream: true, port })
  t.teardown(() => nats.stop())
  await waitFor('clicks to be taken', async () => {
    const r = await postBytes(`${node.base}/api/click`, encodeClickRequest({ tileId: 3, countryId: 'fr' }))
    await r.arrayBuffer()
    return r.status === 200 ? true : undefined
  }, 30_000)
  t.same((await ownerships(node.base)).map((o) => [o.tileId, o.countryId]), [[3, 'fr']], 'and the click shows')
  // the bus (`nats`) reconnects on its own backoff
  const ready = await waitFor('/readyz 200', async () => { const r = await readyz(node.base); return r.status === 200 ? r : undefined }, 10_000)
  t.equal(ready.body['jetstream'], 'ok')
})
