/**
 * The Bus contract suite, run unchanged against every implementation through a factory.
 */
import type { Test } from 'tap'
import type { Bus } from '../../src/bus/bus.js'
import { until } from '../helpers/server.js'

type Tap = Test

const bytes = (n: number) => new Uint8Array([n & 0xff, n >> 8])
const num = (d: Uint8Array) => d[0]! | (d[1]! << 8)

export function busContract(t: Tap, make: () => Promise<Bus> | Bus): void {
  const fresh = async (t: Tap) => {
    const bus = await make()
    t.teardown(() => bus.close())
    return bus
  }

  t.test('bus - every subscriber gets every message, in publish order', async (t) => {
    const bus = await fresh(t)
    const a: number[] = []
    const b: number[] = []
    bus.subscribe('room.ABCD', (d) => a.push(num(d)))
    bus.subscribe('room.ABCD', (d) => b.push(num(d)))
    for (let i = 0; i < 1000; i++) bus.publish('room.ABCD', bytes(i))
    await until(() => a.length === 1000 && b.length === 1000, 'all messages')
    const expected = Array.from({ length: 1000 }, (_, i) => i)
    t.same(a, expected)
    t.same(b, expected)
  })

  t.test('bus - delivery never happens inside publish', async (t) => {
    const bus = await fresh(t)
    let inside = false
    let sawInside = false
    let got = 0
    bus.subscribe('s', () => {
      sawInside ||= inside
      got++
    })
    inside = true
    bus.publish('s', bytes(1))
    inside = false
    await until(() => got === 1, 'delivery')
    t.equal(sawInside, false)
  })

  t.test('bus - subjects are separate; unsubscribe stops delivery; nobody listening is fine', async (t) => {
    const bus = await fresh(t)
    const a: number[] = []
    const other: number[] = []
    const sub = bus.subscribe('a', (d) => a.push(num(d)))
    bus.subscribe('b', (d) => other.push(num(d)))
    bus.publish('nobody', bytes(7))
    bus.publish('a', bytes(1))
    await until(() => a.length === 1, 'first')
    sub.unsubscribe()
    bus.publish('a', bytes(2))
    bus.publish('b', bytes(3))
    await until(() => other.length === 1, 'b')
    t.same(a, [1])
    t.same(other, [3])
  })
}
