/**
 * The Store contract suite. Every implementation runs it unchanged through a factory:
 * `storeContract(t, () => new MemoryStore(now))` (and, with scale-out, a Redis store).
 */
import type { Test } from 'tap'
import type { Store, RoomRecord } from '../../src/store/store.js'

type Tap = Test

const record = (key: string, over: Partial<RoomRecord> = {}): RoomRecord => ({
  key,
  node: 'n1',
  name: 'Quiz',
  public: true,
  maxPlayers: 8,
  acceptConns: true,
  tokenHash: 'ab'.repeat(32),
  nextId: 3,
  players: [{ id: 1 }, { id: 2, sid: 'phone-0123456789abcdef' }],
  kickedSids: [],
  ...over,
})

/** `make(advance)` builds a fresh store whose clock the suite moves with `advance(ms)`. */
export function storeContract(t: Tap, make: () => { store: Store; advance: (ms: number) => Promise<void> }): void {
  const fresh = (t: Tap) => {
    const s = make()
    t.teardown(() => s.store.close())
    return s
  }

  t.test('store - a code is reserved once; its owner is known', async (t) => {
    const { store } = fresh(t)
    t.equal(await store.reserveCode('ABCD', 'n1'), true)
    t.equal(await store.reserveCode('ABCD', 'n2'), false, 'live code refused')
    t.equal(await store.lookupCode('ABCD'), 'n1')
    t.equal(await store.lookupCode('WXYZ'), undefined)
  })

  t.test('store - concurrent reservations of one code: exactly one wins', async (t) => {
    const { store } = fresh(t)
    const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.reserveCode('QQQQ', `n${i}`)))
    t.equal(wins.filter(Boolean).length, 1)
  })

  t.test('store - a released code cools down before it can be reserved again', async (t) => {
    const { store, advance } = fresh(t)
    await store.reserveCode('ABCD', 'n1')
    await store.releaseCode('ABCD', 1000)
    t.equal(await store.lookupCode('ABCD'), undefined)
    t.equal(await store.reserveCode('ABCD', 'n1'), false, 'cooling down')
    await advance(1001)
    t.equal(await store.reserveCode('ABCD', 'n1'), true, 'free after the cooldown')
  })

  t.test('store - records: save replaces whole, load returns a copy, delete removes', async (t) => {
    const { store } = fresh(t)
    await store.saveRoom(record('ABCD'))
    await store.saveRoom(record('ABCD', { nextId: 9, players: [] }))
    const loaded = await store.loadRoom('ABCD')
    t.same(loaded, record('ABCD', { nextId: 9, players: [] }))
    t.equal(await store.loadRoom('NONE'), undefined)
    await store.deleteRoom('ABCD')
    t.equal(await store.loadRoom('ABCD'), undefined)
  })

  t.test('store - writes from one caller apply in call order', async (t) => {
    const { store } = fresh(t)
    const writes = Array.from({ length: 50 }, (_, i) => store.saveRoom(record('ORDR', { nextId: i })))
    await Promise.all(writes)
    t.equal((await store.loadRoom('ORDR'))?.nextId, 49)
  })
}
