/**
 * ClusterSnapshots' pruning, on the memory Store: once a writer saves the first snapshot of
 * an incarnation, the snapshots of the same stream's earlier incarnations go; those of other
 * streams, of later incarnations and names it cannot read back stay.
 */
import t from 'tap'
import { ClusterSnapshots, incarnationOf } from '../../../src/games/clickplanet/snapshot.js'
import { Projection } from '../../../src/games/clickplanet/projection.js'
import { MemoryStore } from '../../../src/store/store-memory.js'

const at = (logId: string, position: number) => ({ ...new Projection(4).state(), position, mapChecksum: 1, logId })

t.test('cluster snapshots - incarnation names read back in time order', async (t) => {
  t.same(incarnationOf(ClusterSnapshots.nameOf('CLICKS@2026-12-03T15:35:24.9129Z')), { prefix: 'clickplanet.CLICKS-', created: '20261203153524912900000' })
  t.same(incarnationOf('clickplanet.CLICKS-B-2026-01-01T00-00-00Z'), { prefix: 'clickplanet.CLICKS-B-', created: '20260101000000000000000' })
  t.equal(incarnationOf('clickplanet.CLICKS-2026-01-01T00-00'), undefined, 'a cut name')
  t.equal(incarnationOf('clickplanet'), undefined, 'a single node\'s snapshot')
})

t.test('cluster snapshots - the first save of an incarnation deletes the earlier ones of its stream only', async (t) => {
  const store = new MemoryStore()
  const pruned: string[][] = []
  const log = { id: 'CLICKS@2026-12-03T10:00:00.5Z' }
  const snapshots = new ClusterSnapshots(store, log, 'n1', 60_000, (names) => pruned.push(names))
  const keep = ['clickplanet.CLICKS-B-2026-01-01T00-00-00Z', 'clickplanet.CLICKS2-2026-01-01T00-00-00Z', 'clickplanet.CLICKS-2027-01-01T00-00-00Z', 'clickplanet', 'clickplanet.CLICKS-cut']
  for (const name of [...keep, 'clickplanet.CLICKS-2026-01-01T00-00-00Z', 'clickplanet.CLICKS-2026-12-03T10-00-00-4Z']) {
    await store.saveSnapshot(name, { position: 1, bytes: new Uint8Array(1) })
  }
  t.equal(await snapshots.save(at(log.id, 5)), true)
  t.same(pruned.map((names) => [...names].sort()), [['clickplanet.CLICKS-2026-01-01T00-00-00Z', 'clickplanet.CLICKS-2026-12-03T10-00-00-4Z']], 'the two earlier incarnations, reported')
  t.same((await store.snapshotNames('')).sort(), [...keep, ClusterSnapshots.nameOf(log.id)].sort(), 'everything else stays')
  await store.saveSnapshot('clickplanet.CLICKS-2026-01-02T00-00-00Z', { position: 1, bytes: new Uint8Array(1) })
  t.equal(await snapshots.save(at(log.id, 6)), true)
  t.equal(pruned.length, 1, 'pruned once per incarnation, not at every save')
})
