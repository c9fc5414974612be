/**
 * ClickPlanet persistence on a full disk: a real small filesystem (tmpfs, mounted by the
 * test) filled to the last byte under a real server. Each test says what kept working, what
 * was refused with which status, and checks that no acknowledged click was lost.
 */
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { MemoryStore } from '../../../src/store/store-memory.js'
import { httpGet, metricValue, scrape } from '../../helpers/server.js'
import { startHarness } from './harness.js'
import { postBytes, waitFor } from './helpers.js'
import { fillDisk, listening, logLines, ownerMap, serve, smallDisk, tryClick } from './persistence-helpers.js'

t.test('persistence - disk full: clicks get 503 and /readyz names clickplanet_log while the log fails, then it recovers on its own', async (t) => {
  const disk = await smallDisk(t, 1 << 20)
  if (disk === undefined) {
    t.plan(0, 'cannot mount a tmpfs here (needs root); event-log-file.test.ts covers the retry at the file layer')
    return
  }
  const h = await startHarness({ dataDir: disk })
  t.teardown(() => h.close())
  const server = { url: h.base }
  const acked = new Map<number, string>()
  for (let tile = 0; tile < 10; tile++) {
    t.equal(await tryClick(h.base, tile, 'fr'), 200)
    acked.set(tile, 'fr')
  }
  const filler = await fillDisk(disk)
  const refused: number[] = []
  // The log's last page may still have room: click until a write needs a new one (bounded).
  for (let tile = 10; tile < 400 && refused.length === 0; tile++) {
    const status = await tryClick(h.base, tile, 'de')
    if (status === 200) acked.set(tile, 'de')
    else if (status === 503) refused.push(tile)
    else t.fail(`click answered ${status}`)
  }
  t.equal(refused.length, 1, 'a click got 503 once the disk was full')
  const stillFull = await postBytes(`${h.base}/api/click`, encodeClickRequest({ tileId: 500, countryId: 'it' }))
  t.equal(stillFull.status, 503, 'and the next ones too, while the log fails')
  const body = await stillFull.json() as { error: string }
  t.match(body.error, /click not stored: click log write failed: ENOSPC.*refused until it writes again/, 'saying why')
  t.notOk(body.error.includes(disk), 'without the server\'s paths')
  refused.push(500)

  const ready = await httpGet(server, '/readyz')
  t.equal(ready.status, 503)
  t.match(ready.body, { status: 'degraded', clickplanet_log: /ENOSPC|no space/i }, '/readyz names clickplanet_log and why')
  let metrics = await scrape(server)
  t.equal(metricValue(metrics, 'partyline_ready', { component: 'clickplanet_log' }), 0)
  t.ok(metricValue(metrics, 'partyline_clickplanet_log_failures_total') >= 1, 'the failure is counted')
  t.equal((await httpGet(server, '/healthz')).status, 200, '/healthz: alive')
  t.equal((await httpGet(server, '/api/ownerships')).status, 200, 'reads keep serving')

  await rm(filler)
  await waitFor('/readyz to be ready again', async () => ((await httpGet(server, '/readyz')).status === 200 ? true : undefined), 15_000)
  t.equal(await tryClick(h.base, 501, 'jp'), 200, 'clicks are accepted again, no restart needed')
  acked.set(501, 'jp')
  metrics = await scrape(server)
  t.equal(metricValue(metrics, 'partyline_ready', { component: 'clickplanet_log' }), 1)

  await h.close()
  const again = await startHarness({ dataDir: disk })
  t.teardown(() => again.close())
  const owners = await ownerMap(again.base)
  t.same([...acked].filter(([tile, cc]) => owners.get(tile) !== cc), [], `all ${acked.size} acknowledged clicks survived`)
  t.same(refused.filter((tile) => owners.has(tile)), [], 'and none of the refused ones appeared')
})

t.test('persistence - a snapshot that does not fit on the disk: the previous one stays whole, no temp file is left, the log says so', async (t) => {
  const disk = await smallDisk(t, 1 << 20)
  if (disk === undefined) {
    t.plan(0, 'cannot mount a tmpfs here (needs root); store-memory.test.ts covers short writes')
    return
  }
  const a = serve(t, disk)
  let base = await listening(a)
  for (let i = 0; i < 30; i++) t.equal(await tryClick(base, i, 'fr'), 200)
  a.child.kill('SIGTERM')
  t.equal(await a.exited, 0)

  const b = serve(t, disk)
  base = await listening(b)
  for (let i = 30; i < 60; i++) t.equal(await tryClick(base, i, 'de'), 200)
  const filler = await fillDisk(disk, 8192) // less than the ~27 KB snapshot: a short write
  b.child.kill('SIGTERM')
  t.equal(await b.exited, 0)
  const said = logLines(b, /snapshot/).filter((l) => /failed/.test(String(l['msg'])))
  t.equal(said.length, 1, 'the failed snapshot is logged')
  t.match(said[0]?.['msg'], /previous snapshot at 30 stays/)
  t.same(await readdir(join(disk, 'snapshots')), ['clickplanet.snap'], 'no temp file left behind')
  const store = new MemoryStore({ dataDir: disk })
  t.equal((await store.loadSnapshot('clickplanet'))?.position, 30, 'the previous snapshot is whole')
  await store.close()

  await rm(filler)
  const h = await startHarness({ dataDir: disk })
  t.teardown(() => h.close())
  const owners = await ownerMap(h.base)
  t.equal([...owners.values()].filter((cc) => cc === 'fr').length, 30)
  t.equal([...owners.values()].filter((cc) => cc === 'de').length, 30, 'the clicks after it are replayed from the log')
})
