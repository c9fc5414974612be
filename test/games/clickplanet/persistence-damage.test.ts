/**
 * ClickPlanet's click log after damage, end to end: real `partyline serve` processes killed
 * with SIGKILL or stopped with SIGTERM, real files damaged byte by byte. Each test says what
 * was kept, what was refused and how, and checks that no acknowledged click was lost.
 */
import { readdir, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { metricValue, scrape, until } from '../../helpers/server.js'
import { startHarness } from './harness.js'
import { click } from './helpers.js'
import { flipByte, listening, logLines, ownerMap, serve, tempDir, tryClick, type ServeProcess } from './persistence-helpers.js'

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
