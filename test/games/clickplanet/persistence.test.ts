import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { MemoryStore } from '../../../src/store/store-memory.js'
import { PlayerPeer } from '../../helpers/server.js'
import { startHarness } from './harness.js'
import { click, leaderboard, ownerships, postBytes, waitFor } from './helpers.js'
import { ownerMap, serveChild, tempDir, tryClick } from './persistence-helpers.js'

const COUNTRIES = ['fr', 'de', 'it', 'br', 'jp']

t.test('persistence - close and reopen: the same ownerships and leaderboard', async (t) => {
  const dataDir = await tempDir(t)
  const a = await startHarness({ dataDir, snapshotEveryClicks: 10 })
  for (let i = 0; i < 35; i++) await click(a.base, (i * 13) % 50, ['fr', 'de', 'br'][i % 3]!)
  const before = await ownerships(a.base)
  const board = await leaderboard(a.base)
  await a.close()
  t.equal(a.planet.stats.snapshotPosition, 35, 'a final snapshot on close')

  t.ok((await stat(join(dataDir, 'snapshots', 'clickplanet.snap'))).size > 0, 'the embedded default keeps the snapshot on disk')

  const b = await startHarness({ dataDir })
  t.teardown(() => b.close())
  t.equal(b.planet.stats.snapshotPosition, 35, 'started from the snapshot, not from an empty map')
  t.same(await ownerships(b.base), before)
  t.same(await leaderboard(b.base), board)
  t.equal(b.planet.stats.logPosition, 35)
  await click(b.base, 49, 'jp')
  t.equal(b.planet.stats.logPosition, 36, 'positions go on after the restart')
})

t.test('persistence - snapshots go to the Store given, with their log position', async (t) => {
  const logDir = await tempDir(t)
  const storeDir = await tempDir(t)
  const store = new MemoryStore({ dataDir: storeDir })
  const a = await startHarness({ dataDir: logDir, store, snapshotEveryClicks: 1_000_000 })
  for (let i = 0; i < 12; i++) await click(a.base, i, i % 2 ? 'fr' : 'pt')
  const before = await ownerships(a.base)
  await a.close()
  t.equal((await store.loadSnapshot('clickplanet'))?.position, 12, 'the final snapshot is in the Store')
  t.same(await readdir(logDir), ['clicks.log'], 'nothing but the log in the log directory')
  await store.close()

  const again = new MemoryStore({ dataDir: storeDir }) // a restarted process opens its store anew
  const b = await startHarness({ dataDir: logDir, store: again })
  t.teardown(async () => { await b.close(); await again.close() })
  t.equal(b.planet.stats.snapshotPosition, 12, 'started from the Store\'s snapshot')
  t.same(await ownerships(b.base), before)
})

t.test('persistence - a snapshot older than the log is completed by replay', async (t) => {
  const dataDir = await tempDir(t)
  const a = await startHarness({ dataDir, snapshotEveryClicks: 1_000_000 })
  for (let i = 0; i < 20; i++) await click(a.base, i, 'fr')
  await a.close() // snapshot at 20
  const b = await startHarness({ dataDir, snapshotEveryClicks: 1_000_000, snapshotIntervalMs: 3_600_000 })
  for (let i = 0; i < 10; i++) await click(b.base, i, 'de')
  // "crash": the log has 30 entries, the snapshot stays at 20
  const expected = await ownerships(b.base)
  const c = await startHarness({ dataDir })
  t.teardown(async () => { await c.close(); await b.close() })
  t.same(await ownerships(c.base), expected)
})

t.test('persistence - kill -9 during clicks: nothing acknowledged is lost', async (t) => {
  const dataDir = await tempDir(t)
  const { child, base, exited } = await serveChild(t, dataDir)
  const acked = new Map<number, string>()
  let next = 0
  let killed = false
  // 8 clients click distinct tiles until 300 clicks are acknowledged, then SIGKILL with clicks in flight.
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (!killed) {
      const tile = next++
      const cc = ['fr', 'de', 'it'][tile % 3]!
      try {
        const res = await postBytes(`${base}/api/click`, encodeClickRequest({ tileId: tile, countryId: cc }))
        if (res.status === 200) acked.set(tile, cc)
        await res.arrayBuffer()
      } catch {
        return // connection reset by the kill
      }
      if (acked.size >= 300 && !killed) {
        killed = true
        child.kill('SIGKILL')
      }
    }
  }))
  await exited
  t.ok(acked.size >= 300)
  const h = await startHarness({ dataDir })
  t.teardown(() => h.close())
  const owners = new Map((await ownerships(h.base)).map((o) => [o.tileId, o.countryId]))
  const lost = [...acked].filter(([tile, cc]) => owners.get(tile) !== cc)
  t.same(lost, [], `all ${acked.size} acknowledged clicks survived (${owners.size} tiles owned after restart)`)
})

t.test('persistence - the click log drops what a saved snapshot holds, and a restart starts from that snapshot', async (t) => {
  const dataDir = await tempDir(t)
  // The phone sends 3,000 clicks at once: its inbound budget must not be what paces the log.
  const a = await startHarness({ dataDir, snapshotEveryClicks: 500, playerFramesPerSecond: 1_000_000 })
  t.teardown(() => a.close())
  const countries = ['fr', 'de', 'it', 'br']
  // 3,000 clicks from a phone in room PLANET: past 4 snapshots' worth of the small map's log (~104 KB)
  const phone = new PlayerPeer({ ws: a.wsBase }, 'PLANET')
  await phone.opened
  for (let i = 0; i < 3000; i++) phone.send(encodeClickRequest({ tileId: (i * 7) % 2887, countryId: countries[i % 4]! }))
  await waitFor('3,000 clicks applied', () => (a.planet.stats.logPosition === 3000 ? true : undefined))
  phone.ws.close()
  const log = join(dataDir, 'clicks.log')
  const base = async (): Promise<number> => (await readFile(log)).readUInt32LE(24)
  await waitFor('the log to be compacted', async () => ((await base()) > 0 ? true : undefined))
  const before = await ownerships(a.base)
  await a.close()
  const dropped = await base()
  t.ok(dropped >= 1500 && dropped <= 3000, `the file starts after position ${dropped}, a snapshot's`)
  t.ok((await stat(log)).size < 3000 * 40, `and is smaller than the clicks it held (${(await stat(log)).size} bytes)`)
  const b = await startHarness({ dataDir })
  t.teardown(() => b.close())
  t.same(await ownerships(b.base), before, 'the same map after a restart')
  t.equal(b.planet.stats.logPosition, 3000)
})

t.test('persistence - kill -9 while the log is being compacted again and again: every acknowledged click is there', async (t) => {
  const dataDir = await tempDir(t)
  const { child, base, exited } = await serveChild(t, dataDir, 200)
  const log = join(dataDir, 'clicks.log')
  const compactedTo = async (): Promise<number> => (await readFile(log)).readUInt32LE(24)
  // A phone floods room PLANET (a snapshot every 200 clicks, so the log is compacted over
  // and over) while HTTP clients click tiles 2000+ and keep what was acknowledged.
  const phone = new PlayerPeer({ ws: base.replace('http', 'ws') }, 'PLANET')
  await phone.opened
  let killed = false
  const flood = (async () => {
    // At most 40,000 clicks, 100 every 5 ms (the test's own event loop must keep up).
    for (let i = 0; !killed && i < 40_000; i++) {
      phone.send(encodeClickRequest({ tileId: i % 2000, countryId: COUNTRIES[i % 5]! }))
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5))
    }
  })()
  const acked = new Map<number, string>()
  let next = 2000
  let compactions = 0
  let seen = 0
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (!killed && next < 2887) {
      const tile = next++
      const status = await tryClick(base, tile, 'jp')
      if (status === 200) acked.set(tile, 'jp')
      const to = await compactedTo()
      if (to !== seen) {
        seen = to
        compactions++
      }
      if (!killed && compactions >= 3 && acked.size >= 100) {
        killed = true
        child.kill('SIGKILL')
      }
    }
  }))
  await flood
  if (!killed) child.kill('SIGKILL')
  await exited
  t.ok(compactions >= 3, `the log was compacted ${compactions} times before the kill`)
  const h = await startHarness({ dataDir })
  t.teardown(() => h.close())
  const owners = await ownerMap(h.base)
  t.same([...acked].filter(([tile, cc]) => owners.get(tile) !== cc), [], `all ${acked.size} acknowledged clicks are there`)
})
