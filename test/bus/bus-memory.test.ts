import t from 'tap'
import { MemoryBus, MemoryBusHub } from '../../src/bus/bus-memory.js'
import { busContract } from './bus-contract.js'
import { busClusterContract } from './bus-cluster-contract.js'

busContract(t, () => new MemoryBus())

t.test('memory bus - cluster contract (two buses on one hub)', async (t) => {
  busClusterContract(t, async () => {
    const hub = new MemoryBusHub()
    return [new MemoryBus(hub), new MemoryBus(hub)] as const
  })
})

t.test('memory bus - buses without a shared hub never see each other', async (t) => {
  const a = new MemoryBus()
  const b = new MemoryBus()
  let got = 0
  b.subscribe('s', () => got++)
  a.publish('s', new Uint8Array(1))
  b.publish('s', new Uint8Array(1))
  await new Promise((r) => queueMicrotask(() => r(undefined)))
  t.equal(got, 1, 'only its own')
})
