/**
 * The Store contract suite. Every implementation runs it unchanged through a factory:
 * `storeContract(t, () => ({ store: new MemoryStore(now), advance }))` (and, with scale-out,
 * a Redis store). A factory that can open a second store on the same storage passes
 * `reopen`, and the suite checks that snapshots survive it.
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

export interface StoreUnderTest {
  readonly store: Store
  /** Moves the store's clock. */
  advance(ms: number): Promise<void>
  /** A new store on the same storage (what a restarted process would open), if it has any. */
  reopen?(): Store
}

/** Bytes that differ at every position from those of another `seed`. */
const blob = (size: number, seed: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff)

/** `make()` builds a fresh store whose clock the suite moves with `advance(ms)`. */
export function storeContract(t: Tap, make: () => StoreUnderTest): void {
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

  t.test('store - snapshots: none until saved; position and bytes come back as saved', async (t) => {
    const { store } = fresh(t)
    t.equal(await store.loadSnapshot('clickplanet'), undefined)
    const bytes = blob(1000, 1)
    await store.saveSnapshot('clickplanet', { position: 12_345, bytes })
    const got = await store.loadSnapshot('clickplanet')
    t.equal(got?.position, 12_345)
    t.ok(got && Buffer.from(got.bytes).equals(Buffer.from(bytes)), 'same bytes')
    await store.saveSnapshot('empty', { position: 0, bytes: new Uint8Array(0) })
    t.same(await store.loadSnapshot('empty'), { position: 0, bytes: new Uint8Array(0) }, 'empty bytes and position 0 are fine')
  })

  t.test('store - snapshots: the latest save wins; names are independent', async (t) => {
    const { store } = fresh(t)
    await store.saveSnapshot('a', { position: 1, bytes: blob(10, 1) })
    await store.saveSnapshot('b', { position: 7, bytes: blob(20, 2) })
    await store.saveSnapshot('a', { position: 2, bytes: blob(5, 3) })
    const a = await store.loadSnapshot('a')
    t.equal(a?.position, 2)
    t.ok(a && Buffer.from(a.bytes).equals(Buffer.from(blob(5, 3))), 'the whole new snapshot, not a mix')
    t.equal((await store.loadSnapshot('b'))?.position, 7)
    t.equal(await store.loadSnapshot('c'), undefined)
  })

  t.test('store - snapshots: concurrent saves of one name apply in call order', async (t) => {
    const { store } = fresh(t)
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.saveSnapshot('race', { position: i, bytes: blob(100 + i, i) })))
    const got = await store.loadSnapshot('race')
    t.equal(got?.position, 19)
    t.ok(got && Buffer.from(got.bytes).equals(Buffer.from(blob(119, 19))))
    // a load called right after a save sees it
    const saved = store.saveSnapshot('race', { position: 20, bytes: blob(3, 20) })
    t.equal((await store.loadSnapshot('race'))?.position, 20)
    await saved
  })

  t.test('store - snapshots: saved and loaded bytes are copies', async (t) => {
    const { store } = fresh(t)
    const bytes = blob(64, 5)
    const saving = store.saveSnapshot('copy', { position: 3, bytes })
    bytes.fill(0) // the caller reuses its buffer at once
    await saving
    const first = await store.loadSnapshot('copy')
    t.ok(first && Buffer.from(first.bytes).equals(Buffer.from(blob(64, 5))), 'the bytes as they were when save was called')
    first!.bytes.fill(9)
    const second = await store.loadSnapshot('copy')
    t.ok(second && Buffer.from(second.bytes).equals(Buffer.from(blob(64, 5))), 'changing a loaded copy changes nothing stored')
  })

  t.test('store - snapshots: a few megabytes round-trip', async (t) => {
    const { store } = fresh(t)
    const bytes = blob(3 * 1024 * 1024 + 7, 11)
    await store.saveSnapshot('big', { position: 2 ** 40, bytes })
    const got = await store.loadSnapshot('big')
    t.equal(got?.position, 2 ** 40)
    t.ok(got && Buffer.from(got.bytes).equals(Buffer.from(bytes)))
  })

  t.test('store - snapshots: bad names and positions are refused', async (t) => {
    const { store } = fresh(t)
    for (const name of ['', '.hidden', 'a/b', '../up', 'x'.repeat(101), 'sp ace']) {
      await t.rejects(store.saveSnapshot(name, { position: 1, bytes: blob(1, 1) }), TypeError, `name ${JSON.stringify(name)}`)
      await t.rejects(store.loadSnapshot(name), TypeError)
    }
    for (const position of [-1, 1.5, Number.NaN, 2 ** 60]) {
      await t.rejects(store.saveSnapshot('ok', { position, bytes: blob(1, 1) }), TypeError, `position ${position}`)
    }
    t.equal(await store.loadSnapshot('ok'), undefined, 'nothing was saved')
  })

  t.test('store - snapshots: listed by name prefix; a deleted one is gone, its writer\'s epochs still grow', async (t) => {
    const { store } = fresh(t)
    for (const name of ['game.A-1', 'game.A-2', 'game.AB-1', 'other']) await store.saveSnapshot(name, { position: 1, bytes: blob(4, 1) })
    t.same((await store.snapshotNames('game.A-')).sort(), ['game.A-1', 'game.A-2'], 'by prefix')
    t.same((await store.snapshotNames('')).sort(), ['game.A-1', 'game.A-2', 'game.AB-1', 'other'], 'the empty prefix: all')
    t.same(await store.snapshotNames('none'), [])
    const writer = await store.claimSnapshotWriter('game.A-1', 'n1', 60_000)
    await store.deleteSnapshot('game.A-1')
    t.equal(await store.loadSnapshot('game.A-1'), undefined, 'deleted')
    t.same((await store.snapshotNames('game.')).sort(), ['game.A-2', 'game.AB-1'])
    await store.deleteSnapshot('game.A-1')
    t.pass('deleting what is not there is no error')
    await store.releaseSnapshotWriter('game.A-1', writer!)
    const next = await store.claimSnapshotWriter('game.A-1', 'n2', 60_000)
    t.ok(next && next.epoch > writer!.epoch, 'a writer after the delete has a greater epoch')
    await t.rejects(store.deleteSnapshot('../up'), TypeError, 'names are checked')
  })

  t.test('store - snapshots: a store reopened on the same storage has them back', async (t) => {
    const s = fresh(t)
    if (s.reopen === undefined) {
      t.pass('this store keeps nothing across instances')
      return
    }
    await s.store.saveSnapshot('clickplanet', { position: 99, bytes: blob(500, 4) })
    await s.store.close()
    const again = s.reopen()
    t.teardown(() => again.close())
    const got = await again.loadSnapshot('clickplanet')
    t.equal(got?.position, 99)
    t.ok(got && Buffer.from(got.bytes).equals(Buffer.from(blob(500, 4))))
  })

  t.test('store - snapshot writer: one node at a time; the same node keeps its epoch; a lapsed one is replaced with a greater epoch', async (t) => {
    const { store, advance } = fresh(t)
    const a = await store.claimSnapshotWriter('clickplanet', 'n1', 1000)
    t.ok(a && a.node === 'n1' && a.epoch >= 1, 'the first claim wins')
    t.equal(await store.claimSnapshotWriter('clickplanet', 'n2', 1000), undefined, 'another node is refused while it runs')
    t.same(await store.claimSnapshotWriter('clickplanet', 'n1', 1000), a, 'the writer renews, same epoch')
    t.ok(await store.claimSnapshotWriter('other', 'n2', 1000), 'names are independent')
    await advance(1001)
    const b = await store.claimSnapshotWriter('clickplanet', 'n2', 1000)
    t.ok(b && b.node === 'n2' && b.epoch > a!.epoch, 'after it lapsed, another node takes it with a greater epoch')
    t.equal(await store.saveNewerSnapshot('clickplanet', { position: 5, bytes: blob(10, 1) }, a!), 'fenced', 'the old writer cannot save')
    t.equal(await store.loadSnapshot('clickplanet'), undefined, 'and saved nothing')
    await store.releaseSnapshotWriter('clickplanet', a!)
    t.equal(await store.claimSnapshotWriter('clickplanet', 'n3', 1000), undefined, 'a stale writer\'s release changes nothing')
    await store.releaseSnapshotWriter('clickplanet', b!)
    const c = await store.claimSnapshotWriter('clickplanet', 'n3', 1000)
    t.ok(c && c.epoch > b!.epoch, 'after a release another node takes it at once')
  })

  t.test('store - newer snapshots win: an older or equal position never replaces a stored one, in any order', async (t) => {
    const { store } = fresh(t)
    const w = (await store.claimSnapshotWriter('clickplanet', 'n1', 60_000))!
    t.equal(await store.saveNewerSnapshot('clickplanet', { position: 10, bytes: blob(20, 1) }, w), 'saved')
    t.equal(await store.saveNewerSnapshot('clickplanet', { position: 5, bytes: blob(20, 2) }, w), 'older')
    t.equal(await store.saveNewerSnapshot('clickplanet', { position: 10, bytes: blob(20, 3) }, w), 'older')
    const results = await Promise.all([30, 12, 25, 11].map((position, i) =>
      store.saveNewerSnapshot('clickplanet', { position, bytes: blob(20, 10 + i) }, w)))
    t.equal(results[0], 'saved', 'the newest, called first, is saved')
    t.same(results.slice(1), ['older', 'older', 'older'], 'those called after it are older')
    const got = await store.loadSnapshot('clickplanet')
    t.equal(got?.position, 30)
    t.ok(got && Buffer.from(got.bytes).equals(Buffer.from(blob(20, 10))), 'with its bytes')
    await t.rejects(store.saveNewerSnapshot('.bad', { position: 1, bytes: blob(1, 1) }, w), TypeError)
  })
}
