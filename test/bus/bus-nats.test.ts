import t from 'tap'
import { NatsBus } from '../../src/bus/bus-nats.js'
import { NatsCluster, NatsServer } from '../helpers/nats-server.js'
import { until } from '../helpers/server.js'
import { busContract } from './bus-contract.js'
import { busClusterContract } from './bus-cluster-contract.js'

const server = await NatsServer.start()
t.teardown(() => server.stop())

let n = 0
/** A connected bus (the contract suites start from one); each factory call gets its own prefix. */
const open = async (servers: string, prefix: string): Promise<NatsBus> => {
  const bus = new NatsBus({ servers, prefix })
  await until(() => bus.connected, `a connection to ${servers}`)
  return bus
}

busContract(t, () => open(server.url, `t${++n}.`))

t.test('nats bus - cluster contract (two connections to one nats-server)', async (t) => {
  busClusterContract(t, async () => {
    const prefix = `c${++n}.`
    return [await open(server.url, prefix), await open(server.url, prefix)] as const
  })
})

t.test('nats bus - cluster contract across a 3-node NATS cluster (nodes on different servers)', async (t) => {
  const cluster = await NatsCluster.start({ jetstream: false })
  t.teardown(() => cluster.stop())
  busClusterContract(t, async () => {
    const prefix = `x${++n}.`
    return [await open(cluster.servers[0]!.url, prefix), await open(cluster.servers[2]!.url, prefix)] as const
  })
})
