import { setImmediate as nextTurn } from 'node:timers/promises'
import t from 'tap'
import { COUNTRY_CODES } from '../../../src/games/clickplanet/country-codes.js'
import { ClickPlanetMap } from '../../../src/games/clickplanet/map.js'
import { decodeLeaderboard, decodeOwnershipState, type Click } from '../../../src/games/clickplanet/messages.js'
import { Projection } from '../../../src/games/clickplanet/projection.js'
import { dataBody, ReadModels, type ReadBody } from '../../../src/games/clickplanet/read-models.js'
import { encodeOwnershipStateFast } from '../../../src/games/clickplanet/wire-encoders.js'

const bodyData = (b: Buffer): Buffer => Buffer.from((JSON.parse(b.toString()) as { data: string }).data, 'base64')

/** A projection and a way to click on it, positions 1, 2, 3, … */
function planet(tiles: number): { p: Projection; click: (tile: number, cc: string) => void } {
  const p = new Projection(tiles)
  let position = 0
  const click = (tileId: number, countryId: string): void => {
    position++
    const c: Click = { tileId, countryId, timestampNs: 1_700_000_000_000_000_000n + BigInt(position), clickId: `c${position}` }
    p.apply({ position, click: c })
  }
  return { p, click }
}

/** What a synchronous, uncached encoding of the projection gives right now. */
const reference = (p: Projection): Buffer => dataBody(encodeOwnershipStateFast(p, 0, p.tileCount - 1))

/** Resolves `true` if `promise` is already settled, before any event-loop turn. */
async function settledAtOnce(promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  void promise.then(() => { settled = true })
  await nextTurn()
  return settled
}

t.test('read models - ownerships are cached until the projection changes', async (t) => {
  const { p, click } = planet(10)
  const reads = new ReadModels(p)
  click(7, 'jp')
  const a = await reads.ownerships()
  t.equal(await reads.ownerships(), a, 'the same body while nothing changed')
  t.ok(await settledAtOnce(reads.ownerships()), 'a fresh body is answered at once')
  click(7, 'jp')
  t.equal(await reads.ownerships(), a, 'a click that changes nothing keeps the cache')
  t.equal(reads.currentEtag(), a.etag)
  click(8, 'jp')
  t.not(reads.currentEtag(), a.etag, 'the ETag moves with the change')
  const b = await reads.ownerships()
  t.not(b, a)
  t.equal(b.etag, reads.currentEtag())
  t.ok(b.body.equals(reference(p)))
  t.same(decodeOwnershipState(bodyData(b.body)).map((o) => [o.tileId, o.countryId]), [[7, 'jp'], [8, 'jp']])
  t.same(decodeOwnershipState(bodyData(reads.batchBody(8, 100))).map((o) => o.tileId), [8])
  t.same(decodeOwnershipState(bodyData(reads.batchBody(9, 2))), [])
  t.ok((await new ReadModels(new Projection(5)).ownerships()).body.equals(Buffer.from('{"data":""}')), 'nothing owned: an empty state')
})

t.test('read models - the leaderboard is cached per change and decodes to its entries', async (t) => {
  const { p, click } = planet(10)
  const reads = new ReadModels(p)
  for (const [tile, cc] of [[0, 'fr'], [1, 'fr'], [2, 'de'], [3, 'de'], [4, 'at'], [1, 'de'], [5, 'fr']] as const) click(tile, cc)
  const l = reads.leaderboardRead()
  t.same(l.entries, [{ countryId: 'de', score: 3 }, { countryId: 'fr', score: 2 }, { countryId: 'at', score: 1 }])
  t.same(decodeLeaderboard(bodyData(l.body)), l.entries)
  t.equal(reads.leaderboardRead(), l, 'cached')
  click(0, 'fr')
  t.equal(reads.leaderboardRead(), l, 'a click that changes nothing keeps it')
  click(6, 'jp')
  t.not(reads.leaderboardRead(), l)
  t.same(decodeLeaderboard(bodyData(reads.leaderboardBody())).at(-1), { countryId: 'jp', score: 1 })
})

t.test('read models - a rebuild is joined only when it is new enough; later readers share the next one', async (t) => {
  const { p, click } = planet(1000)
  for (let i = 0; i < 1000; i += 3) click(i, 'fr')
  // tiny slices: a rebuild of 1,000 tiles takes many turns
  const reads = new ReadModels(p, { sliceWork: 50 })
  const first = reads.ownerships()
  const expectedFirst = reference(p)
  const joined = reads.ownerships() // nothing changed: same rebuild
  t.equal(joined, first, 'a reader that needs no newer state joins the running rebuild')
  await nextTurn()
  click(1, 'de') // changes while the first rebuild runs
  const expectedSecond = () => reference(p)
  const second = reads.ownerships()
  t.not(second, first, 'a reader that needs a newer state does not get the running one')
  await nextTurn()
  click(2, 'it')
  const third = reads.ownerships()
  t.equal(third, second, 'readers that arrive while one rebuild runs share the one queued after it')
  const latest = expectedSecond()

  const a = await first
  t.ok(a.body.equals(expectedFirst), 'the first body is the state when it started: clicks after its copy are not in it')
  const b = await second
  t.ok(b.body.equals(latest), 'the queued rebuild copies when it starts: it shows every click before it')
  t.equal(b.changedAt, p.changedAt)
  t.equal(reads.stats.rebuilds, 2, 'three readers, two changes, two rebuilds')
  t.ok(reads.stats.lastSlices > 1)
  t.equal(await reads.ownerships(), b, 'then served from cache')
})

t.test('read models - rebuilding the full default map never blocks the event loop for the whole encode', async (t) => {
  const map = ClickPlanetMap.load()
  const { p, click } = planet(map.tileCount)
  for (let tile = 0; tile < map.tileCount; tile++) click(tile, COUNTRY_CODES[tile % 200]!)
  const reads = new ReadModels(p)
  const expected = reference(p)

  let done = false
  const first = reads.ownerships()
  void first.then(() => { done = true })
  // Other work during the rebuild: clicks and reads, one batch per event-loop turn.
  let turns = 0
  const during: { promise: Promise<ReadBody>; changedAt: number }[] = []
  while (!done) {
    await nextTurn()
    if (done) break
    turns++
    if (turns <= 5) {
      click(turns, 'fr')
      during.push({ promise: reads.ownerships(), changedAt: p.changedAt })
    }
  }
  t.ok(turns >= 2, `other callbacks ran ${turns} times while the rebuild was in progress`)
  t.ok((await first).body.equals(expected), 'and its body is the state it started from')
  const later = await Promise.all(during.map((d) => d.promise))
  for (const [i, body] of later.entries()) t.ok(body.changedAt >= during[i]!.changedAt, `read ${i} shows the clicks before it`)
  t.ok(later.at(-1)!.body.equals(reference(p)), 'the last one is the current state')
  t.ok(reads.stats.rebuilds <= 3, `reads during a rebuild are coalesced (${reads.stats.rebuilds} rebuilds)`)
  t.ok(reads.stats.lastSlices > 1)
})

t.test('read models - batch windows: one Buffer per window and version, the whole map is the ownerships body', async (t) => {
  const { p, click } = planet(100)
  const reads = new ReadModels(p)
  for (let tile = 0; tile < 100; tile += 3) click(tile, 'fr')
  const whole = await reads.batch(0, 2 ** 31 - 1)
  t.equal(whole, (await reads.ownerships()).body, 'a window covering the map is the ownerships body itself')
  t.equal(await reads.batch(-5, 99), whole, 'however its ends are written')
  const w = await reads.batch(10, 40)
  t.ok(w.equals(reads.batchBody(10, 40)), 'a window is what batchBody encodes')
  t.equal(await reads.batch(10, 40), w, 'asked again at the same version: the same Buffer, not a copy')
  t.equal(await reads.batch(10, 40), w)
  t.same(decodeOwnershipState(bodyData(await reads.batch(50, 40))), [], 'start past end: empty')
  click(12, 'de')
  const after = await reads.batch(10, 40)
  t.not(after, w, 'a change makes a new one')
  t.same(decodeOwnershipState(bodyData(after)).find((o) => o.tileId === 12)?.countryId, 'de', 'read your writes')
  t.not(await reads.batch(0, 99), whole)
  t.ok((await reads.batch(0, 99)).equals(reference(p)))
})
