import { existsSync } from 'node:fs'
import t from 'tap'
import { connect, type NatsConnection } from 'nats'
import { accepts } from '../../src/launchers/spawned-server.js'
import { NatsCluster, NatsServer } from '../../src/launchers/nats-server.js'

const open = async (t: Tap, servers: string): Promise<NatsConnection> => {
  const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 50 })
  t.teardown(() => nc.close())
  return nc
}
type Tap = { teardown(fn: () => unknown): void }

t.test('nats launcher - one node on a free port: accepts clients, stops and leaves nothing behind', async (t) => {
  const server = await NatsServer.start()
  t.not(server.port, 4222, 'never the default port')
  const nc = await open(t, server.url)
  const sub = nc.subscribe('hello', { max: 1 })
  nc.publish('hello', new TextEncoder().encode('world'))
  for await (const m of sub) t.equal(new TextDecoder().decode(m.data), 'world')
  await nc.close()
  await server.stop()
  t.equal(await accepts(server.port), false, 'port closed')
  t.equal(existsSync(server.dir), false, 'temp dir removed')
})

t.test('nats launcher - kill -9 and restart on the same port', async (t) => {
  const server = await NatsServer.start()
  t.teardown(() => server.stop())
  await server.kill()
  t.equal(server.running, false)
  t.equal(await accepts(server.port), false, 'down after kill -9')
  await server.restart()
  t.equal(await server.accepting(), true, 'back on the same port')
})

t.test('nats launcher - JetStream keeps its store directory across kill -9 and restart', async (t) => {
  const server = await NatsServer.start({ jetstream: true })
  t.teardown(() => server.stop())
  let nc = await open(t, server.url)
  const jsm = await nc.jetstreamManager()
  await jsm.streams.add({ name: 'KEPT', subjects: ['kept.>'] })
  for (let i = 0; i < 3; i++) await nc.jetstream().publish('kept.x', new Uint8Array([i]))
  await nc.close()
  await server.kill()
  await server.restart()
  nc = await open(t, server.url)
  const info = await (await nc.jetstreamManager()).streams.info('KEPT')
  t.equal(info.state.messages, 3, 'acknowledged messages are there after the restart')
})

t.test('nats launcher - a cluster of three with JetStream: routed, a message crosses nodes, R3 stream', async (t) => {
  const cluster = await NatsCluster.start()
  t.teardown(() => cluster.stop())
  t.equal(cluster.servers.length, 3)
  t.equal(cluster.urls.split(',').length, 3)
  const a = await open(t, cluster.servers[0]!.url)
  const c = await open(t, cluster.servers[2]!.url)
  const sub = c.subscribe('across', { max: 1 })
  await c.flush()
  // routes propagate interest asynchronously: publish until the subscriber on node 3 sees one
  const got = (async () => {
    for await (const m of sub) return new TextDecoder().decode(m.data)
    return undefined
  })()
  const timer = setInterval(() => a.publish('across', new TextEncoder().encode('from n1')), 20)
  t.equal(await got, 'from n1')
  clearInterval(timer)
  const jsm = await a.jetstreamManager()
  const info = await jsm.streams.add({ name: 'LAUNCHER', subjects: ['launcher.>'], num_replicas: 3 })
  t.equal(info.config.num_replicas, 3, 'a stream with 3 replicas is accepted')
  const ack = await a.jetstream().publish('launcher.x', new Uint8Array([1]))
  t.equal(ack.seq, 1)
})

t.test('nats launcher - a missing binary is an error that says how to install it', async (t) => {
  await t.rejects(NatsServer.start({ command: 'nats-server-not-installed' }), {
    name: 'MissingBinaryError',
    message: /nats-server-not-installed was not found on the PATH.*apt-get install nats-server/,
  })
})
