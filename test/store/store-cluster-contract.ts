/**
 * The Store's cluster contract suite (leases, ownership and fencing epochs, adoption,
 * expiry with the owner, incremental records, restore), run unchanged against every
 * implementation through a factory. `make(expiry)` opens storage with those expiry options
 * and a clock the suite moves; `peer()` opens a second handle on the same storage (what
 * another node sees: the same instance for memory, another connection for Redis).
 */
import type { Test } from 'tap'
import { OwnershipLost, type Ownership, type RoomRecord, type Store } from '../../src/store/store.js'

type Tap = Test

export const EXPIRY = { orphanTtlMs: 2_000, orphanCooldownMs: 10_000 } as const

export interface ClusterStoreUnderTest {
  readonly store: Store
  /** Moves the clock of every handle on this storage. */
  advance(ms: number): Promise<void>
  peer(): Store
}

const record = (key: string, node: string, over: Partial<RoomRecord> = {}): RoomRecord => ({
  key,
  node,
  name: 'Quiz',
  public: false,
  maxPlayers: 8,
  acceptConns: true,
  tokenHash: 'cd'.repeat(32),
  nextId: 3,
  players: [{ id: 1, sid: 'sid-one' }, { id: 2 }],
  kickedSids: ['sid-kicked'],
  ...over,
})

const LEASE = 1_000

export function storeClusterContract(t: Tap, make: (expiry: typeof EXPIRY) => ClusterStoreUnderTest): void {
  const fresh = (t: Tap) => {
    const s = make(EXPIRY)
    const peer = s.peer()
    t.teardown(async () => {
      await peer.close()
      await s.store.close()
    })
    return { ...s, peer }
  }
  const lost = (code: string) => ({ name: 'OwnershipLost', code })

  t.test('store cluster - a renewed lease keeps a node live; a lapsed one is listed as lapsed, then forgotten', async (t) => {
    const { store, peer, advance } = fresh(t)
    t.same(await store.nodes(), { live: [], lapsed: [] })
    await store.renewLease('a', LEASE)
    await peer.renewLease('b', LEASE)
    t.same(await peer.nodes(), { live: ['a', 'b'], lapsed: [] }, 'every node sees every lease')
    await advance(LEASE / 2)
    await store.renewLease('a', LEASE)
    await advance(LEASE / 2)
    t.same(await store.nodes(), { live: ['a'], lapsed: [{ node: 'b', forMs: 0 }] }, 'b did not renew in time')
    await advance(EXPIRY.orphanTtlMs)
    t.same(await store.nodes(), { live: [], lapsed: [{ node: 'a', forMs: 1500 }] }, 'b is forgotten once its rooms would have expired; a lapsed 1.5 s ago')
    await peer.dropLease('a')
    t.same((await store.nodes()).live, [], 'dropped')
  })

  t.test('store cluster - dropLease ends a lease at once', async (t) => {
    const { store, peer } = fresh(t)
    await store.renewLease('a', 60_000)
    await store.dropLease('a')
    t.same(await peer.nodes(), { live: [], lapsed: [{ node: 'a', forMs: 0 }] })
    await store.dropLease('never-leased')
  })

  t.test('store cluster - claims get ever greater epochs; codes are reserved once, cluster-wide', async (t) => {
    const { store, peer } = fresh(t)
    const a = await store.claimCode('AAAA', 'n1')
    const b = await peer.claimCode('BBBB', 'n2')
    t.equal(a?.node, 'n1')
    t.ok(a && b && b.epoch > a.epoch, 'a later claim has a greater epoch')
    t.equal(await peer.claimCode('AAAA', 'n2'), undefined, 'taken, seen from the other node')
    t.equal(await peer.reserveCode('AAAA', 'n2'), false)
    t.same(await peer.owner('AAAA'), a)
    t.equal(await peer.lookupCode('BBBB'), 'n2')
    const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : peer).claimCode('RACE', `n${i}`)))
    t.equal(wins.filter((w) => w !== undefined).length, 1, 'concurrent claims from two nodes: one wins')
  })

  t.test('store cluster - a released code cools down cluster-wide', async (t) => {
    const { store, peer, advance } = fresh(t)
    const own = (await store.claimCode('COOL', 'n1'))!
    await store.saveRoom(record('COOL', 'n1'), own)
    await store.releaseRoom('COOL', own, 5_000)
    t.equal(await peer.owner('COOL'), undefined)
    t.equal(await peer.loadRoom('COOL'), undefined, 'the record goes with it')
    t.equal(await peer.claimCode('COOL', 'n2'), undefined, 'cooling down on the other node too')
    await advance(5_001)
    t.ok(await peer.claimCode('COOL', 'n2'), 'free after the cooldown')
  })

  t.test('store cluster - adoption moves ownership only from the expected owner and epoch, with a new epoch', async (t) => {
    const { store, peer } = fresh(t)
    const old = (await store.claimCode('ADPT', 'a'))!
    await store.saveRoom(record('ADPT', 'a'), old)
    t.equal(await peer.adoptRoom('ADPT', { node: 'a', epoch: old.epoch + 1 }, 'b'), undefined, 'wrong epoch: refused')
    t.equal(await peer.adoptRoom('ADPT', { node: 'x', epoch: old.epoch }, 'b'), undefined, 'wrong node: refused')
    t.equal(await peer.adoptRoom('NONE', old, 'b'), undefined, 'no such room')
    const now = await peer.adoptRoom('ADPT', old, 'b')
    t.equal(now?.node, 'b')
    t.ok(now && now.epoch > old.epoch, 'the epoch moved up')
    t.same(await store.owner('ADPT'), now)
    t.equal((await store.loadRoom('ADPT'))?.node, 'b', "the record names its new owner")
    t.same(await store.roomsOf('a'), [])
    t.same(await store.roomsOf('b'), ['ADPT'])
    t.equal(await store.adoptRoom('ADPT', old, 'c'), undefined, 'a second adoption from the old owner fails')
  })

  t.test('store cluster - of concurrent adoptions from one owner, exactly one wins', async (t) => {
    const { store, peer } = fresh(t)
    const old = (await store.claimCode('MANY', 'dead'))!
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? store : peer).adoptRoom('MANY', old, `n${i}`)))
    const winners = results.filter((r): r is Ownership => r !== undefined)
    t.equal(winners.length, 1)
    t.same(await store.owner('MANY'), winners[0])
  })

  t.test('store cluster - a late owner is fenced: its writes and release are refused and change nothing', async (t) => {
    const { store, peer } = fresh(t)
    const old = (await store.claimCode('FENC', 'a'))!
    await store.saveRoom(record('FENC', 'a', { nextId: 3 }), old)
    const now = (await peer.adoptRoom('FENC', old, 'b'))!
    await peer.updateRoom('FENC', { set: { nextId: 4 }, players: [{ id: 3, sid: 'new' }] }, now)
    const before = await peer.loadRoom('FENC')

    await t.rejects(store.saveRoom(record('FENC', 'a', { nextId: 99 }), old), lost('FENC'), 'save refused')
    await t.rejects(store.updateRoom('FENC', { set: { acceptConns: false } }, old), lost('FENC'), 'update refused')
    await t.rejects(store.releaseRoom('FENC', old, 1000), lost('FENC'), 'release refused')
    await t.rejects(store.restoreRoom(record('FENC', 'a'), old), lost('FENC'), 'restore refused')
    const err = await store.saveRoom(record('FENC', 'a'), old).catch((e: unknown) => e)
    t.ok(err instanceof OwnershipLost, 'an OwnershipLost')
    t.same((err as OwnershipLost).current, now, 'it names the current owner')

    t.same(await peer.loadRoom('FENC'), before, 'nothing changed')
    t.same(await peer.owner('FENC'), now)
    await t.rejects(store.saveRoom(record('GONE', 'a'), old), lost('GONE'), 'a room nobody owns: refused too')
  })

  t.test('store cluster - updateRoom changes part of a record; a missing record is refused', async (t) => {
    const { store, peer } = fresh(t)
    const own = (await store.claimCode('PTCH', 'a'))!
    await t.rejects(store.updateRoom('PTCH', { set: { nextId: 5 } }, own), /no record/)
    await store.saveRoom(record('PTCH', 'a', { players: [{ id: 1, sid: 's1' }, { id: 2 }], nextId: 3 }), own)
    await store.updateRoom('PTCH', { set: { nextId: 4 }, players: [{ id: 3, sid: 's3' }] }, own)
    await store.updateRoom('PTCH', { removePlayers: [1], set: { kickedSids: ['s1'], acceptConns: false } }, own)
    await store.updateRoom('PTCH', { players: [{ id: 2, sid: 'later' }] }, own)
    t.same(await peer.loadRoom('PTCH'), record('PTCH', 'a', {
      nextId: 4,
      players: [{ id: 2, sid: 'later' }, { id: 3, sid: 's3' }],
      kickedSids: ['s1'],
      acceptConns: false,
    }))
    const writes = Array.from({ length: 30 }, (_, i) => store.updateRoom('PTCH', { set: { nextId: 10 + i } }, own))
    await Promise.all(writes)
    t.equal((await peer.loadRoom('PTCH'))?.nextId, 39, 'updates apply in call order')
  })

  t.test("store cluster - an orphan stays adoptable for the orphan TTL, then expires with its owner's lease", async (t) => {
    const { store, peer, advance } = fresh(t)
    await store.renewLease('a', LEASE)
    const own = (await store.claimCode('ORPH', 'a'))!
    await store.saveRoom(record('ORPH', 'a'), own)
    await advance(LEASE + EXPIRY.orphanTtlMs - 1)
    t.same(await peer.nodes(), { live: [], lapsed: [{ node: 'a', forMs: EXPIRY.orphanTtlMs - 1 }] })
    t.same(await peer.owner('ORPH'), own, 'still listed: adoptable')
    t.same(await peer.roomsOf('a'), ['ORPH'])
    t.ok(await peer.loadRoom('ORPH'), 'its record is there to adopt from')
    await advance(1)
    t.equal(await peer.owner('ORPH'), undefined, 'expired')
    t.equal(await peer.loadRoom('ORPH'), undefined, 'the record with it')
    t.same(await peer.roomsOf('a'), [])
    t.equal(await peer.claimCode('ORPH', 'b'), undefined, 'the code cools down')
    await advance(EXPIRY.orphanCooldownMs)
    t.ok(await peer.claimCode('ORPH', 'b'), 'then it is free')
  })

  t.test('store cluster - an expired orphan is gone even when nobody looked at it; its node does not get it back', async (t) => {
    const { store, peer, advance } = fresh(t)
    await store.renewLease('a', LEASE)
    const own = (await store.claimCode('LATE', 'a'))!
    await store.saveRoom(record('LATE', 'a'), own)
    await advance(LEASE + EXPIRY.orphanTtlMs + 10)
    await store.renewLease('a', LEASE) // back after a long pause
    t.same(await peer.roomsOf('a'), [], 'not listed')
    t.equal(await peer.owner('LATE'), undefined)
    await t.rejects(store.saveRoom(record('LATE', 'a'), own), lost('LATE'), 'its fenced writes are refused')
  })

  t.test('store cluster - an adopted room belongs to its new owner\'s lease', async (t) => {
    const { store, peer, advance } = fresh(t)
    await store.renewLease('a', LEASE)
    await peer.renewLease('b', 60_000)
    const old = (await store.claimCode('MOVE', 'a'))!
    await advance(LEASE)
    const now = (await peer.adoptRoom('MOVE', old, 'b'))!
    await advance(EXPIRY.orphanTtlMs * 3)
    t.same(await store.owner('MOVE'), now, 'kept: b is live')
    t.same(await store.nodes(), { live: ['b'], lapsed: [] })
  })

  t.test('store cluster - the rooms of a node that never took a lease never expire', async (t) => {
    const { store, peer, advance } = fresh(t)
    const own = (await store.claimCode('SOLO', 'single'))!
    await advance(EXPIRY.orphanTtlMs * 100)
    t.same(await peer.owner('SOLO'), own)
    t.same(await peer.roomsOf('single'), ['SOLO'])
  })

  t.test('store cluster - roomsOf lists what a node owns now', async (t) => {
    const { store, peer } = fresh(t)
    for (const code of ['R001', 'R002', 'R003']) await store.claimCode(code, 'a')
    await peer.claimCode('R004', 'b')
    await store.releaseRoom('R002', (await store.owner('R002'))!, 0)
    t.same(await peer.roomsOf('a'), ['R001', 'R003'])
    t.same(await peer.roomsOf('b'), ['R004'])
    t.same(await peer.roomsOf('nobody'), [])
  })

  t.test('store cluster - restoreRoom writes a lost room back under its ownership, never over another', async (t) => {
    const { store, peer, advance } = fresh(t)
    const fence = { node: 'a', epoch: 1_000 }
    await store.restoreRoom(record('BACK', 'a'), fence)
    t.same(await peer.owner('BACK'), fence)
    t.same(await peer.loadRoom('BACK'), record('BACK', 'a'))
    t.same(await peer.roomsOf('a'), ['BACK'])
    await store.restoreRoom(record('BACK', 'a', { nextId: 7 }), fence)
    t.equal((await peer.loadRoom('BACK'))?.nextId, 7, 'again by the same owner: the record is rewritten')
    const next = await peer.claimCode('NEXT', 'b')
    t.ok(next && next.epoch > fence.epoch, 'later epochs stay above the restored one')

    await t.rejects(store.restoreRoom(record('NEXT', 'a'), { node: 'a', epoch: 5 }), lost('NEXT'), 'owned by another: refused')
    const own = (await peer.claimCode('DONE', 'b'))!
    await peer.releaseRoom('DONE', own, 5_000)
    await t.rejects(store.restoreRoom(record('DONE', 'b'), own), lost('DONE'), 'ended and cooling down: refused')
    await advance(5_001)
    t.same(await peer.owner('NEXT'), next, 'untouched')
  })
}
