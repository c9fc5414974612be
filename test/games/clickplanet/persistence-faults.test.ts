/**
 * ClickPlanet persistence under faults, end to end: real `partyline serve` processes killed
 * with SIGKILL or stopped with SIGTERM, real files damaged byte by byte, and a real small
 * filesystem (tmpfs, mounted by the test) filled to the last byte. Each test says what was
 * kept, what was refused with which status, and checks that no acknowledged click was lost.
 */
import { spawn } from 'node:child_process'
import { readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { MemoryStore } from '../../../src/store/store-memory.js'
import { PlayerPeer, httpGet, metricValue, scrape, until } from '../../helpers/server.js'
import { startHarness } from './harness.js'
import { click, postBytes, waitFor } from './helpers.js'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import {
  fillDisk, flipByte, listening, logLines, ownerMap, serve, smallDisk, tempDir, tryClick, type ServeProcess,
} from './persistence-helpers.js'

const COUNTRIES = ['fr', 'de', 'it', 'br', 'jp']

/** Waits until the process exits or listens; the exit code, or undefined when it listens. */
async function exitOrListen(p: ServeProcess): Promise<number | string | undefined> {
  let exit: number | string | undefined
  void p.exited.then((code) => (exit = code))
  await until(() => exit !== undefined || /"port":\d+/.test(p.out()), 'partyline serve to exit or listen', 20_000)
  return exit
}

t.test('persistence - a flipped byte in the middle of clicks.log above the snapshot: serve refuses to start in one line naming the file and the byte, and changes nothing', async (t) => {
  const dataDir = await tempDir(t)
  const a = await startHarness({ dataDir })
  for (let i = 0; i < 20; i++) await click(a.base, i, 'fr')
  await a.close() // snapshot at 20
  const b = serve(t, dataDir)
  const base = await listening(b)
  for (let i = 20; i < 40; i++) t.equal(await tryClick(base, i, 'de'), 200)
  b.child.kill('SIGKILL') // clicks 21-40 are only in the log
  await b.exited

  const log = join(dataDir, 'clicks.log')
  const snap = join(dataDir, 'snapshots', 'clickplanet.snap')
  const at = Math.floor((await readFile(log)).length * 3 / 4) // inside click ~30: acknowledged, in no snapshot
  await flipByte(log, at)
  const damaged = await readFile(log)
  const snapshot = await readFile(snap)

  const c = serve(t, dataDir)
  const exit = await exitOrListen(c)
  t.not(exit, undefined, 'the server did not start')
  t.not(exit, 0, `a non-zero exit (${exit})`)
  const lines = c.err().trim().split('\n')
  t.equal(lines.length, 1, `one line on stderr: ${c.err()}`)
  t.match(lines[0], log, 'it names the file')
  const offset = Number(/at byte (\d+)/.exec(lines[0]!)?.[1])
  t.ok(offset <= at && offset > at - 64, `and the offset of the damaged record (${offset}, flipped ${at})`)
  t.notMatch(c.err(), /\n\s+at /, 'no stack trace')
  t.ok((await readFile(log)).equals(damaged), 'clicks.log is left as it was')
  t.ok((await readFile(snap)).equals(snapshot), 'and so is the snapshot')

  // What the message offers: with the file moved aside, the server starts from the snapshot
  // and its log continues after the snapshot's position (never reusing one it has seen).
  await rename(log, `${log}.kept`)
  const d = serve(t, dataDir)
  const dBase = await listening(d)
  const owners = await ownerMap(dBase)
  t.same([...owners].filter(([, cc]) => cc === 'fr').length, 20, 'the snapshot\'s 20 clicks are there')
  t.equal(await tryClick(dBase, 100, 'jp'), 200)
  t.equal(metricValue(await scrape({ url: dBase }), 'partyline_clickplanet_log_position'), 21, 'the new log goes on at 21')
  t.ok(logLines(d, /continues from the snapshot/).length > 0, 'and the log says where it started')
  d.child.kill('SIGTERM')
  t.equal(await d.exited, 0)
})

t.test('persistence - stop (snapshot at P), corrupt the last record, restart, 5 clicks, kill -9, restart: every acknowledged click is there', async (t) => {
  const dataDir = await tempDir(t)
  const acked = new Map<number, string>()
  const a = await startHarness({ dataDir })
  for (let i = 0; i < 20; i++) {
    await click(a.base, i, COUNTRIES[i % 5]!)
    acked.set(i, COUNTRIES[i % 5]!)
  }
  await a.close() // snapshot at P = 20, which holds click 20 (tile 19)
  const log = join(dataDir, 'clicks.log')
  await flipByte(log, (await readFile(log)).length - 1) // the last record: click 20

  const b = serve(t, dataDir)
  const base = await listening(b)
  t.equal((await ownerMap(base)).get(19), acked.get(19), 'click 20 is back after the restart (the snapshot holds it)')
  for (let tile = 100; tile < 105; tile++) {
    t.equal(await tryClick(base, tile, 'jp'), 200)
    acked.set(tile, 'jp')
  }
  t.ok(logLines(b, /damaged/).length > 0, 'the restart said what it found')
  b.child.kill('SIGKILL')
  await b.exited

  const c = await startHarness({ dataDir })
  t.teardown(() => c.close())
  const owners = await ownerMap(c.base)
  const lost = [...acked].filter(([tile, cc]) => owners.get(tile) !== cc)
  t.same(lost, [], `all ${acked.size} acknowledged clicks are there`)
})

t.test('persistence - damage below the snapshot position with intact records after it: the start recovers what they prove, says what, keeps the damaged file', async (t) => {
  const dataDir = await tempDir(t)
  const acked = new Map<number, string>()
  const a = await startHarness({ dataDir })
  for (let i = 0; i < 30; i++) {
    await click(a.base, i, 'fr')
    acked.set(i, 'fr')
  }
  await a.close() // snapshot at 30
  const b = serve(t, dataDir)
  let base = await listening(b)
  for (let i = 30; i < 40; i++) {
    t.equal(await tryClick(base, i, 'de'), 200)
    acked.set(i, 'de')
  }
  b.child.kill('SIGKILL')
  await b.exited
  const log = join(dataDir, 'clicks.log')
  await flipByte(log, Math.floor((await readFile(log)).length / 4)) // inside click ~10

  const c = serve(t, dataDir)
  base = await listening(c)
  let owners = await ownerMap(base)
  t.same([...acked].filter(([tile, cc]) => owners.get(tile) !== cc), [], 'every acknowledged click is there')
  const said = logLines(c, /damaged/)
  t.equal(said.length, 1, 'the log says what was damaged and what was done')
  t.match(said[0]!['msg'], /at byte \d+/)
  t.match(said[0]!['msg'], /the snapshot at 30 holds/)
  const kept = (await readdir(dataDir)).filter((f) => f.startsWith('clicks.log.damaged-'))
  t.equal(kept.length, 1, `the damaged file is kept (${kept.join(', ')})`)
  t.equal(await tryClick(base, 40, 'it'), 200)
  acked.set(40, 'it')
  c.child.kill('SIGTERM')
  t.equal(await c.exited, 0)

  const d = serve(t, dataDir)
  base = await listening(d)
  owners = await ownerMap(base)
  t.same([...acked].filter(([tile, cc]) => owners.get(tile) !== cc), [], 'and after one more restart')
  t.same(logLines(d, /damaged/), [], 'which finds nothing left to repair')
  d.child.kill('SIGTERM')
  await d.exited
})

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

t.test('persistence - kill -9 while the log is being compacted again and again: every acknowledged click is there', async (t) => {
  const dataDir = await tempDir(t)
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url)), dataDir, '200'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('\n')) resolve(Number(out.trim()))
    })
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)))
  })
  const base = `http://127.0.0.1:${port}`
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
