import t from 'tap'
import { RedisStore } from '../../src/store/store-redis.js'
import { RedisServer } from '../helpers/redis-server.js'
import { waitFor } from '../helpers/spawned-server.js'
import { storeContract } from './store-contract.js'
import { storeClusterContract } from './store-cluster-contract.js'

const server = await RedisServer.start()
t.teardown(() => server.stop())

let n = 0
/** Each store gets its own key prefix on the one server, and a clock the suite moves. */
const open = (prefix: string, clock: { now: number }, expiry = {}) =>
  new RedisStore({ url: server.url, prefix, now: () => clock.now, ...expiry })

t.test('redis store', async (t) => {
  storeContract(t, () => {
    const clock = { now: 1_000_000 }
    const prefix = `t${++n}:`
    return { store: open(prefix, clock), advance: async (ms) => void (clock.now += ms), reopen: () => open(prefix, clock) }
  })
})

t.test('redis store - cluster contract (two connections to one Redis)', async (t) => {
  storeClusterContract(t, (expiry) => {
    const clock = { now: 1_000_000 }
    const prefix = `c${++n}:`
    return { store: open(prefix, clock, expiry), advance: async (ms) => void (clock.now += ms), peer: () => open(prefix, clock, expiry) }
  })
})

t.test("redis store - on Redis's own clock: leases lapse, orphans expire, cooldowns end", async (t) => {
  const prefix = `real${++n}:`
  const a = new RedisStore({ url: server.url, prefix, orphanTtlMs: 300, orphanCooldownMs: 300 })
  const b = new RedisStore({ url: server.url, prefix, orphanTtlMs: 300, orphanCooldownMs: 300 })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  await a.renewLease('a', 200)
  const own = (await a.claimCode('REAL', 'a'))!
  t.same(await b.nodes(), { live: ['a'], lapsed: [] })
  await waitFor(async () => (await b.nodes()).lapsed.some((n) => n.node === 'a'), 'the lease to lapse')
  t.same(await b.owner('REAL'), own, 'an orphan, adoptable for a while')
  await waitFor(async () => (await b.owner('REAL')) === undefined, 'the orphan to expire')
  t.equal(await b.claimCode('REAL', 'b'), undefined, 'cooling down')
  await waitFor(async () => (await b.claimCode('REAL', 'b')) !== undefined, 'the cooldown to end')
})

t.test('redis store - a record with thousands of players is written and patched whole', async (t) => {
  const store = new RedisStore({ url: server.url, prefix: `big${++n}:` })
  t.teardown(() => store.close())
  const own = (await store.claimCode('HUGE', 'a'))!
  const players = Array.from({ length: 5000 }, (_, i) => ({ id: i + 1, sid: `sid-${i}` }))
  const record = { key: 'HUGE', node: 'a', name: 'big', public: true, maxPlayers: 10000, acceptConns: true, tokenHash: 'x', nextId: 5001, players, kickedSids: [] }
  await store.saveRoom(record, own)
  t.same(await store.loadRoom('HUGE'), record)
  await store.updateRoom('HUGE', { removePlayers: players.slice(0, 3000).map((p) => p.id) }, own)
  t.equal((await store.loadRoom('HUGE'))?.players.length, 2000)
})

