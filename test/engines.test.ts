/**
 * The engines factory and the server on real engines: memory by default, Redis and NATS
 * from the settings, one node id, a lease in Redis, degraded (not down) when an engine is
 * unreachable at start, and recovery by itself.
 */
import t from 'tap'
import { pino } from 'pino'
import { defaultSettings } from '../src/config.js'
import { createEngines, nodeIdFrom } from '../src/engines.js'
import { Readiness } from '../src/readiness.js'
import { MemoryBus } from '../src/bus/bus-memory.js'
import { NatsBus } from '../src/bus/bus-nats.js'
import { MemoryStore } from '../src/store/store-memory.js'
import { RedisStore } from '../src/store/store-redis.js'
import { NatsServer } from './helpers/nats-server.js'
import { RedisServer } from './helpers/redis-server.js'
import { freePort, freePorts, waitFor } from './helpers/spawned-server.js'
import { click } from './games/clickplanet/helpers.js'
import { HostPeer, httpGet, metricValue, scrape, testServer } from './helpers/server.js'

const quiet = pino({ level: 'silent' })

t.test('engines - memory store and bus by default; the node id from the setting or generated', async (t) => {
  const engines = createEngines(defaultSettings(), { logger: quiet, readiness: new Readiness() })
  t.teardown(() => engines.close())
  t.ok(engines.store instanceof MemoryStore)
  t.ok(engines.bus instanceof MemoryBus)
  t.same(engines.kinds, { store: 'memory', bus: 'memory' })
  t.same([...engines.reconnects()], [])
  t.match(engines.nodeId, /^[A-Za-z0-9_-]{1,64}$/)
  t.equal(nodeIdFrom({ nodeId: 'tv-1' }), 'tv-1')
  t.match(nodeIdFrom({ nodeId: '' }, 'web.example.org'), /^web-example-org-[0-9a-f]{8}$/, 'the hostname, cleaned, and a random suffix')
  t.match(nodeIdFrom({ nodeId: '' }, '...'), /^node-[0-9a-f]{8}$/)
  t.ok(nodeIdFrom({ nodeId: '' }, 'h'.repeat(200)).length <= 64)
  t.not(nodeIdFrom({ nodeId: '' }, 'same'), nodeIdFrom({ nodeId: '' }, 'same'), 'two starts, two ids')
})

t.test('engines - the server on Redis and NATS: one node id everywhere, a lease, rooms in the Redis directory', async (t) => {
  const redis = await RedisServer.start()
  const nats = await NatsServer.start()
  t.teardown(async () => {
    await redis.stop()
    await nats.stop()
  })
  const server = await testServer(t, { redisUrl: redis.url, natsUrl: nats.url, nodeId: 'node-a', nodeLeaseMs: 600 })
  t.equal(server.nodeId, 'node-a')
  await waitFor(() => server.readiness.ready, 'ready')
  t.same(server.readiness.report(), { status: 'ready', redis: 'ok', nats: 'ok' })
  const peer = new RedisStore({ url: redis.url })
  t.teardown(() => peer.close())
  await waitFor(async () => (await peer.nodes()).live.includes('node-a'), 'the lease in Redis')

  const host = new HostPeer(server)
  const { key } = await host.prepare()
  t.equal((await peer.owner(key))?.node, 'node-a', 'the room is in the shared directory, owned by this node')
  await waitFor(async () => (await peer.loadRoom(key))?.node === 'node-a', 'its record in Redis')
  t.equal(await peer.reserveCode(key, 'node-b'), false, 'another node cannot take its code')

  const metrics = await scrape(server)
  t.equal(metricValue(metrics, 'partyline_node_info', { node: 'node-a', store: 'redis', bus: 'nats' }), 1)
  t.match(metrics, /^partyline_engine_reconnects_total\{engine="redis"\} 0$/m)
  t.match(metrics, /^partyline_engine_reconnects_total\{engine="nats"\} 0$/m)
  t.match(metrics, /^partyline_bus_messages_total\{direction="dropped"\} 0$/m)

  host.close()
  await server.close()
  t.same((await peer.nodes()).live, [], 'a stopped node ends its lease at once')
})

t.test('engines - started with Redis and NATS down: not fatal, degraded and saying why, recovers by itself', async (t) => {
  const [redisPort, natsPort] = (await freePorts(2)) as [number, number]
  const server = await testServer(t, { redisUrl: `redis://127.0.0.1:${redisPort}`, natsUrl: `nats://127.0.0.1:${natsPort}`, nodeId: 'late-node' })
  await waitFor(() => /ECONNREFUSED/.test(server.readiness.report()['redis'] ?? ''), 'redis reported')
  const res = await httpGet(server, '/readyz')
  t.equal(res.status, 503)
  t.match(res.body, { status: 'degraded', redis: /^unreachable \(redis:\/\/127\.0\.0\.1:\d+\): .*; retrying$/, nats: /^(unreachable|connecting)/ })
  const host = new HostPeer(server)
  await host.opened
  host.command({ cmd: 'prepare', max_players: 4 })
  t.match(await host.message('error'), { code: 'unavailable' }, 'prepare is refused with unavailable while Redis is down')

  const redis = await RedisServer.start({ port: redisPort })
  const nats = await NatsServer.start({ port: natsPort })
  t.teardown(async () => {
    await redis.stop()
    await nats.stop()
  })
  await waitFor(() => server.readiness.ready, 'the node to become ready by itself', 15_000)
  t.equal((await httpGet(server, '/readyz')).status, 200)
  const { key } = await host.prepare()
  t.match(key, /^[A-Z]{4}$/, 'prepare works once Redis is back')
  host.close()
})

t.test('engines - ClickPlanet snapshots go to Redis with REDIS_URL', async (t) => {
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  const server = await testServer(t, { redisUrl: redis.url, clickplanet: true })
  await click(server.url, 7, 'fr')
  await server.close()
  const peer = new RedisStore({ url: redis.url })
  t.teardown(() => peer.close())
  t.equal((await peer.loadSnapshot('clickplanet'))?.position, 1, 'the final snapshot is in Redis')
})

t.test('engines - a factory given a store and a bus uses them, and keeps a lease when asked', async (t) => {
  const store = new MemoryStore()
  const bus = new NatsBus({ servers: `nats://127.0.0.1:${await freePort()}` })
  const readiness = new Readiness()
  const engines = createEngines(defaultSettings({ nodeId: 'given' }), { logger: quiet, readiness, store, bus, lease: true })
  t.teardown(() => engines.close())
  t.equal(engines.store, store)
  t.equal(engines.bus, bus)
  t.same(engines.kinds, { store: 'memory', bus: 'nats' })
  t.same([...engines.reconnects()], [['nats', 0]])
  await waitFor(async () => (await store.nodes()).live.includes('given'), 'a lease when asked for one')
})
