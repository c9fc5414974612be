/**
 * The NATS bus against a real nats-server that is down at start, killed and restarted:
 * what kept working, what was dropped (counted), and that it recovers by itself.
 */
import t from 'tap'
import { NatsBus } from '../../src/bus/bus-nats.js'
import { Readiness } from '../../src/readiness.js'
import { NatsServer } from '../helpers/nats-server.js'
import { freePort } from '../helpers/spawned-server.js'
import { until } from '../helpers/server.js'

const num = (d: Uint8Array) => d[0]! | (d[1]! << 8)
const bytes = (n: number) => new Uint8Array([n & 0xff, n >> 8])

/**
 * Publishes probes on `subject` until one arrives (subscriptions come back asynchronously),
 * then a last one, and waits for it: after that no probe is in flight, and `got` is emptied.
 */
async function flowing(bus: NatsBus, subject: string, got: number[]): Promise<void> {
  await until(() => {
    bus.publish(subject, bytes(0xffff))
    return got.includes(0xffff)
  }, `${subject} to flow`, 15_000)
  bus.publish(subject, bytes(0xfffe))
  await until(() => got.includes(0xfffe), 'the last probe')
  got.length = 0
}

t.test('nats bus - started while NATS is down: degraded, publishes dropped and counted, then it connects by itself', async (t) => {
  const port = await freePort()
  const readiness = new Readiness()
  const bus = new NatsBus({ servers: `nats://127.0.0.1:${port}`, prefix: 'down.', health: readiness.component('nats') })
  t.teardown(() => bus.close())
  const got: number[] = []
  const all: number[] = []
  bus.subscribe('room.ABCD', (d) => got.push(all[all.length] = num(d)))
  await until(() => /unreachable \(nats:\/\/127\.0\.0\.1:\d+\)/.test(readiness.report()['nats'] ?? ''), 'readiness to name the unreachable server')
  t.equal(readiness.ready, false)
  for (let i = 0; i < 50; i++) bus.publish('room.ABCD', bytes(i))
  t.equal(bus.stats.dropped, 50, 'every publish while down is dropped and counted')
  t.equal(bus.stats.published, 0)

  const server = await NatsServer.start({ port })
  t.teardown(() => server.stop())
  await until(() => bus.connected, 'the bus to connect by itself', 15_000)
  t.equal(readiness.report()['nats'], 'ok')
  await flowing(bus, 'room.ABCD', got)
  t.same(all.filter((n) => n < 50), [], 'nothing published while down was delivered later')
})

t.test('nats bus - nats-server killed and restarted: drops during the outage, reconnects, delivery resumes in order', async (t) => {
  const server = await NatsServer.start()
  t.teardown(() => server.stop())
  const readiness = new Readiness()
  const a = new NatsBus({ servers: server.url, prefix: 'kill.', health: readiness.component('nats') })
  const b = new NatsBus({ servers: server.url, prefix: 'kill.' })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  await until(() => a.connected && b.connected, 'both connected')
  const got: number[] = []
  b.subscribe('node.b', (d) => got.push(num(d)))
  await flowing(a, 'node.b', got)
  for (let i = 0; i < 100; i++) a.publish('node.b', bytes(i))
  await until(() => got.length === 100, 'delivery before the fault')

  await server.kill()
  await until(() => !a.connected && !b.connected, 'both to notice')
  t.match(readiness.report()['nats'], /^unreachable \(.+\): disconnected; retrying$/, 'readiness says why')
  t.equal(readiness.ready, false)
  const dropped = a.stats.dropped
  for (let i = 0; i < 200; i++) a.publish('node.b', bytes(1000 + i))
  t.equal(a.stats.dropped - dropped, 200, 'publishes during the outage are dropped and counted, not buffered')

  await server.restart()
  await until(() => a.connected && b.connected, 'both to reconnect by themselves', 20_000)
  t.equal(a.reconnects, 1, 'one reconnect counted')
  t.equal(readiness.report()['nats'], 'ok')
  await flowing(a, 'node.b', got)
  for (let i = 0; i < 100; i++) a.publish('node.b', bytes(i))
  await until(() => got.length === 100, 'delivery after the fault')
  t.same(got, Array.from({ length: 100 }, (_, i) => i), 'in order')
  t.notOk(got.some((n) => n >= 1000 && n < 1200), 'nothing from the outage came back')
})

t.test('nats bus - close while NATS is down ends the retry loop at once', async (t) => {
  const bus = new NatsBus({ servers: `nats://127.0.0.1:${await freePort()}` })
  await bus.close()
  t.equal(bus.connected, false)
})

t.test('nats bus - a server that refuses it for a while (authorization errors) does not end its retries', async (t) => {
  const server = await NatsServer.start()
  t.teardown(() => server.stop())
  const readiness = new Readiness()
  const bus = new NatsBus({ servers: server.url, prefix: 'auth.', health: readiness.component('nats') })
  t.teardown(() => bus.close())
  await until(() => bus.connected, 'connected')
  const got: number[] = []
  bus.subscribe('s', (d) => got.push(num(d)))
  await server.kill()
  await server.restart({ authToken: 'not-the-bus' })
  // nats.js closes a connection for good after two authorization errors in a row, unless told not to
  await until(() => (server.output.match(/authentication error/g) ?? []).length >= 4, 'four refused attempts', 15_000)
  t.equal(bus.connected, false, 'refused meanwhile')
  t.equal(readiness.ready, false)
  await server.kill()
  await server.restart()
  await until(() => bus.connected, 'connected again by itself', 20_000)
  await flowing(bus, 's', got)
  t.equal(readiness.report()['nats'], 'ok')
})
