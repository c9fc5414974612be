/**
 * The Bus's cluster contract suite: buses of several nodes on one network, run unchanged
 * against every implementation through a factory that makes two nodes' buses.
 */
import type { Test } from 'tap'
import type { Bus } from '../../src/bus/bus.js'
import { until } from '../helpers/server.js'

type Tap = Test

const bytes = (n: number) => new Uint8Array([n & 0xff, n >> 8])
const num = (d: Uint8Array) => d[0]! | (d[1]! << 8)

const PROBE = new Uint8Array(5)
const LAST_PROBE = new Uint8Array(6)

/**
 * Resolves once messages on `subject` from `from` reach `to` (interest travels between NATS
 * servers asynchronously), and every probe sent meanwhile has arrived. Probes are 5 and 6
 * bytes long; the tests' handlers count only their own 2-byte messages.
 */
async function connected(from: Bus, to: Bus, subject: string): Promise<void> {
  let seen = false
  let last = false
  const sub = to.subscribe(subject, (d) => {
    seen = true
    last ||= d.length === LAST_PROBE.length
  })
  await until(() => {
    if (!seen) from.publish(subject, PROBE)
    return seen
  }, `${subject} to cross`)
  from.publish(subject, LAST_PROBE)
  await until(() => last, 'the probes to arrive')
  sub.unsubscribe()
}

const mine = (d: Uint8Array) => d.length === 2

export function busClusterContract(t: Tap, makePair: () => Promise<readonly [Bus, Bus]>): void {
  const fresh = async (t: Tap) => {
    const [a, b] = await makePair()
    t.teardown(() => Promise.all([a.close(), b.close()]))
    return [a, b] as const
  }

  t.test('bus cluster - a message crosses to every node, in publish order', async (t) => {
    const [a, b] = await fresh(t)
    await connected(a, b, 'probe')
    const onA: number[] = []
    const onB: number[] = []
    a.subscribe('node.x', (d) => mine(d) && onA.push(num(d)))
    b.subscribe('node.x', (d) => mine(d) && onB.push(num(d)))
    await connected(a, b, 'node.x')
    await connected(a, a, 'node.x')
    for (let i = 0; i < 1000; i++) a.publish('node.x', bytes(i))
    await until(() => onA.length === 1000 && onB.length === 1000, 'every message on both nodes')
    const expected = Array.from({ length: 1000 }, (_, i) => i)
    t.same(onB, expected, 'the other node, in order')
    t.same(onA, expected, 'the publishing node too')
  })

  t.test('bus cluster - stats count what was published, received and dropped, with bytes', async (t) => {
    const [a, b] = await fresh(t)
    const got: number[] = []
    b.subscribe('count.me', (d) => d.length === 100 && got.push(num(d)))
    b.subscribe('count.me', () => {})
    await connected(a, b, 'count.me')
    const before = { out: a.stats.published, bytesOut: a.stats.bytesOut, in: b.stats.received, bytesIn: b.stats.bytesIn }
    for (let i = 0; i < 10; i++) a.publish('count.me', new Uint8Array(100))
    await until(() => got.length === 10, 'ten messages')
    t.equal(a.stats.published - before.out, 10)
    t.equal(a.stats.bytesOut - before.bytesOut, 1000)
    t.equal(b.stats.received - before.in, 10, 'once per message, not per handler')
    t.equal(b.stats.bytesIn - before.bytesIn, 1000)
  })

  t.test('bus cluster - bad subjects: subscribe throws a TypeError, publish drops and counts', async (t) => {
    const [a] = await fresh(t)
    for (const s of ['', 'a b', 'room.*', 'room.>', 'a..b', '.a', 'x'.repeat(257)]) {
      t.throws(() => a.subscribe(s, () => {}), TypeError, JSON.stringify(s))
      const dropped = a.stats.dropped
      a.publish(s, bytes(1))
      t.equal(a.stats.dropped, dropped + 1, `publish to ${JSON.stringify(s)} dropped`)
    }
  })

  t.test('bus cluster - a closed node publishes nothing and receives nothing; the others go on', async (t) => {
    const [a, b] = await fresh(t)
    const onB: number[] = []
    let onA = 0
    a.subscribe('after.close', (d) => mine(d) && onA++)
    b.subscribe('after.close', (d) => mine(d) && onB.push(num(d)))
    await connected(b, a, 'after.close')
    await connected(b, b, 'after.close')
    await a.close()
    const dropped = a.stats.dropped
    a.publish('after.close', bytes(1))
    t.equal(a.stats.dropped, dropped + 1, 'dropped after close')
    b.publish('after.close', bytes(2))
    await until(() => onB.length === 1, "b's own message")
    t.same(onB, [2])
    t.equal(onA, 0)
  })
}
