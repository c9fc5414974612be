import t from 'tap'
import { countryIndex } from '../../../src/games/clickplanet/country-codes.js'
import { decodeLeaderboard, decodeUpdateNotification, type Click } from '../../../src/games/clickplanet/messages.js'
import { Projection, type OwnerChange } from '../../../src/games/clickplanet/projection.js'
import { ReadModels } from '../../../src/games/clickplanet/read-models.js'
import { decodeSnapshot, encodeSnapshot } from '../../../src/games/clickplanet/snapshot.js'

let seq = 0
function entry(tileId: number, countryId: string): { position: number; click: Click } {
  seq++
  return { position: seq, click: { tileId, countryId, timestampNs: 1_700_000_000_000_000_000n + BigInt(seq), clickId: `c${seq}` } }
}
function fresh(tiles = 10): Projection {
  seq = 0
  return new Projection(tiles)
}
const bodyData = (b: Buffer): Buffer => Buffer.from((JSON.parse(b.toString()) as { data: string }).data, 'base64')

t.test('projection - owner changes are notified once, first claim with an empty previous owner', async (t) => {
  const p = fresh()
  const changes: OwnerChange[] = []
  p.onChange((c) => changes.push(c))
  p.apply(entry(3, 'fr'))
  p.apply(entry(3, 'fr'))
  p.apply(entry(3, 'de'))
  t.same(changes.map((c) => decodeUpdateNotification(c.bytes)), [
    { tileId: 3, countryId: 'fr', previousCountryId: '' },
    { tileId: 3, countryId: 'de', previousCountryId: 'fr' },
  ])
  t.equal(p.score(countryIndex('de')), 1)
  t.equal(p.score(countryIndex('fr')), 0)
})

t.test('projection - positions may skip numbers (JetStream); a position not past the last applied is a duplicate, never applied twice', async (t) => {
  const p = fresh()
  const changes: OwnerChange[] = []
  p.onChange((c) => changes.push(c))
  const at = (position: number, tileId: number, countryId: string): { position: number; click: Click } =>
    ({ position, click: { tileId, countryId, timestampNs: BigInt(position), clickId: `c${position}` } })
  p.apply(at(1, 1, 'fr'))
  p.apply(at(5, 2, 'fr')) // a gap: 2-4 were removed from the stream
  t.equal(p.position, 5)
  p.apply(at(5, 2, 'de')) // redelivered position: skipped even though its click differs
  p.apply(at(3, 3, 'de')) // older than the last applied: skipped too
  p.apply(at(1, 1, 'de'))
  t.equal(p.duplicates, 3)
  t.equal(p.position, 5)
  p.apply(at(9, 2, 'de'))
  t.equal(p.position, 9)
  t.same(changes.map((c) => [c.tileId, c.countryId, c.previousCountryId]), [[1, 'fr', ''], [2, 'fr', ''], [2, 'de', 'fr']])
  t.equal(p.score(countryIndex('fr')), 1)
  t.equal(p.score(countryIndex('de')), 1)
  t.same([...p.owners.slice(0, 4)], [0, countryIndex('fr'), countryIndex('de'), 0])
})

t.test('projection - entries that do not fit the map are skipped but advance the position', async (t) => {
  const p = fresh()
  const e = entry(1, 'fr')
  p.apply(e)
  p.apply({ position: 2, click: { ...e.click, tileId: 99 } })
  p.apply({ position: 3, click: { ...e.click, countryId: 'xx' } })
  t.equal(p.skipped, 2)
  t.equal(p.position, 3)
})

t.test('projection - the leaderboard counts current holdings, ties by country id', async (t) => {
  const p = fresh()
  const reads = new ReadModels(p)
  for (const [tile, cc] of [[0, 'fr'], [1, 'fr'], [2, 'de'], [3, 'de'], [4, 'at'], [1, 'de'], [5, 'fr']] as const) p.apply(entry(tile, cc))
  t.same(reads.leaderboard(), [{ countryId: 'de', score: 3 }, { countryId: 'fr', score: 2 }, { countryId: 'at', score: 1 }])
  t.same(decodeLeaderboard(bodyData(reads.leaderboardBody())), reads.leaderboard())
  p.apply(entry(2, 'at'))
  t.same(reads.leaderboard(), [{ countryId: 'at', score: 2 }, { countryId: 'de', score: 2 }, { countryId: 'fr', score: 2 }])
})

t.test('snapshot - a snapshot round-trips and restores the same answers', async (t) => {
  const p = fresh(1000)
  for (let i = 0; i < 5000; i++) p.apply(entry((i * 7919) % 1000, ['fr', 'de', 'us', 'br'][i % 4]!))
  const snap = decodeSnapshot(encodeSnapshot({ ...p.state(), mapChecksum: 42 }))
  t.equal(snap.mapChecksum, 42)
  t.equal(snap.position, 5000)
  const q = new Projection(1000)
  q.restore(snap)
  t.equal(q.position, 5000)
  t.ok((await new ReadModels(q).ownershipsBody()).equals(await new ReadModels(p).ownershipsBody()))
  t.same(new ReadModels(q).leaderboard(), new ReadModels(p).leaderboard())
  const bad = encodeSnapshot({ ...p.state(), mapChecksum: 1 })
  bad[bad.length - 1]! ^= 1
  t.throws(() => decodeSnapshot(bad), /checksum/)
})
