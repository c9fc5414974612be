/**
 * The line between nodes: what one node queues for another in one turn leaves as one
 * envelope, in order; consecutive sends of one frame become one op; a big turn is split.
 */
import t from 'tap'
import { MemoryBus, MemoryBusHub } from '../../src/bus/bus-memory.js'
import { NodeLink } from '../../src/cluster/node-link.js'
import { ENVELOPE_SOFT_LIMIT, Op, decodeEnvelope, encodeEnvelope, type WireOp } from '../../src/cluster/wire.js'
import { until } from '../helpers/server.js'

function pair(t: { teardown(fn: () => unknown): void }) {
  const hub = new MemoryBusHub()
  const got: { from: string; ops: WireOp[] }[] = []
  const busA = new MemoryBus(hub)
  const busB = new MemoryBus(hub)
  const a = new NodeLink(busA, 'a', () => {})
  const b = new NodeLink(busB, 'b', (from, ops) => got.push({ from, ops }))
  t.teardown(() => {
    a.close()
    b.close()
  })
  return { a, b, busA, got }
}

t.test('node link - one envelope per node per turn, ops in order, one send op for a frame to many connections', async (t) => {
  const { a, busA, got } = pair(t)
  const frame = new Uint8Array([1, 2, 3])
  a.send('b', [Op.Joined, 1, 7])
  for (const cid of [1, 2, 3]) a.sendFrame('b', cid, frame)
  a.sendFrame('b', 4, 'other')
  a.send('b', [Op.Close, 2, 4001])
  await until(() => got.length > 0, 'the envelope')
  t.equal(busA.stats.published, 1, 'one bus message')
  t.same(got[0]!.from, 'a')
  t.same(got[0]!.ops.map((op) => op[0]), [Op.Joined, Op.Send, Op.Send, Op.Close], 'in the order queued')
  t.same(got[0]!.ops[1]![1], [1, 2, 3], 'the frame once, three connection ids')
  t.same(Buffer.from(got[0]!.ops[1]![2] as Uint8Array), Buffer.from(frame))
  t.equal(got[0]!.ops[2]![2], 'other', 'text stays text')
})

t.test('node link - a turn past the soft limit leaves in several envelopes, still in order', async (t) => {
  const { a, busA, got } = pair(t)
  const big = new Uint8Array(ENVELOPE_SOFT_LIMIT / 2)
  for (let i = 0; i < 5; i++) a.send('b', [Op.PlayerFrame, i, big], big.byteLength)
  await until(() => got.flatMap((g) => g.ops).length === 5, 'every op')
  t.ok(busA.stats.published > 1, `${busA.stats.published} envelopes`)
  t.same(got.flatMap((g) => g.ops).map((op) => op[1]), [0, 1, 2, 3, 4])
})

t.test('wire - a message that is not an envelope is ignored', async (t) => {
  t.equal(decodeEnvelope(new Uint8Array([0xff, 0x00])), undefined)
  t.equal(decodeEnvelope(encodeEnvelope('a', []).subarray(1)), undefined)
  t.same(decodeEnvelope(encodeEnvelope('a', [[Op.Leave, 3]])), { from: 'a', ops: [[Op.Leave, 3]] })
})
