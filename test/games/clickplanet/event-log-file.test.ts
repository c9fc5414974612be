/**
 * The file log on real files: its identity, migration of version 1 files, what opening does
 * with damage and with the snapshot it is given, and write failures on a real full disk.
 */
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { LogFailedError, LogTrimmedError, LogUnusableError, type LogEntry } from '../../../src/games/clickplanet/event-log.js'
import { FileEventLog, type FileEventLogOptions } from '../../../src/games/clickplanet/event-log-file.js'
import { HEADER_SIZE, RECORD_HEADER } from '../../../src/games/clickplanet/event-log-file-format.js'
import type { SnapshotRef } from '../../../src/games/clickplanet/event-log-recovery.js'
import { encodeClick, type Click } from '../../../src/games/clickplanet/messages.js'
import { crc32 } from '../../../src/games/clickplanet/crc32.js'
import { startHarness } from './harness.js'
import { click, ownerships } from './helpers.js'
import { fillDisk, smallDisk, tempDir } from './persistence-helpers.js'

const clickOf = (i: number): Click => ({ tileId: i % 1000, countryId: i % 2 ? 'fr' : 'de', timestampNs: 1_700_000_000_000_000_000n + BigInt(i), clickId: `c${i}` })
const LEGACY_DATA = fileURLToPath(new URL('./fixtures/legacy-data', import.meta.url))

interface Written {
  readonly path: string
  readonly id: string
  readonly bytes: Buffer
  /** starts[p] = byte offset of position p's record (1-based; starts[n + 1] = file size). */
  readonly starts: number[]
}

/** A log of `n` clicks (clickOf(1) … clickOf(n) at positions 1 … n), closed. */
async function writeLog(dir: string, n: number): Promise<Written> {
  const path = join(dir, 'clicks.log')
  const log = await FileEventLog.open(path, { fsync: false })
  for (let i = 1; i <= n; i++) await log.append(clickOf(i))
  await log.close()
  const starts = [0, HEADER_SIZE]
  for (let i = 1; i <= n; i++) starts.push(starts.at(-1)! + RECORD_HEADER + encodeClick(clickOf(i)).length)
  return { path, id: log.id, bytes: await readFile(path), starts }
}

/** Every entry from `from` on. */
async function replay(log: FileEventLog, from: number): Promise<LogEntry[]> {
  const seen: LogEntry[] = []
  const sub = log.subscribe(from, (e) => seen.push(e))
  await sub.caughtUp
  sub.close()
  return seen
}

async function openOrRefusal(path: string, options: FileEventLogOptions): Promise<FileEventLog | LogUnusableError> {
  try {
    return await FileEventLog.open(path, { fsync: false, ...options })
  } catch (err) {
    if (err instanceof LogUnusableError) return err
    throw err
  }
}

t.test('file log - a new file has an identity and a first position that reopening keeps', async (t) => {
  const dir = await tempDir(t, 'cp-log-')
  const w = await writeLog(dir, 5)
  t.match(w.id, /^[0-9a-f]{32}$/)
  t.equal(w.bytes.toString('latin1', 0, 4), 'CPLG', 'the file starts with its header')
  const again = await FileEventLog.open(w.path, { fsync: false })
  t.equal(again.id, w.id, 'the same history')
  t.equal(again.base, 0)
  t.equal(again.head, 5)
  t.equal(await again.append(clickOf(6)), 6)
  t.same((await replay(again, 1)).map((e) => e.click.clickId), ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'])
  await again.close()
  const other = await writeLog(await tempDir(t, 'cp-log-'), 1)
  t.not(other.id, w.id, 'another file, another history')
})

t.test('file log - a snapshot of another log: ignored when the file holds its whole history, said so', async (t) => {
  const w = await writeLog(await tempDir(t, 'cp-log-'), 10)
  const log = await FileEventLog.open(w.path, { fsync: false, snapshot: { logId: 'ab'.repeat(16), position: 7 } })
  t.teardown(() => log.close())
  t.equal(log.recovery.useSnapshot, false)
  t.match(log.recovery.notes, [{ level: 'error', msg: /snapshot \(log abab.*, position 7\) is not of .*clicks\.log .*ignored, the map is rebuilt from/ }])
  t.equal((await replay(log, 1)).length, 10, 'the whole file is replayed')
})

t.test('file log - no log file but a snapshot: a new log continues after it; a parent snapshot and its own are accepted later', async (t) => {
  const dir = await tempDir(t, 'cp-log-')
  const path = join(dir, 'clicks.log')
  const snapshot: SnapshotRef = { logId: 'cd'.repeat(16), position: 40 }
  const log = await FileEventLog.open(path, { fsync: false, snapshot })
  t.equal(log.recovery.useSnapshot, true)
  t.match(log.recovery.notes, [{ level: 'warn', msg: /no click log at .* continues from the snapshot at 40/ }])
  t.equal(log.base, 40)
  t.equal(await log.append(clickOf(1)), 41, 'positions the snapshot has seen are not used again')
  await t.rejects(log.subscribe(30, () => {}).caughtUp, LogTrimmedError, 'what is before the base is not in the file')
  await log.close()

  const withParent = await FileEventLog.open(path, { fsync: false, snapshot })
  t.equal(withParent.recovery.useSnapshot, true, 'the parent\'s snapshot at the base still starts this log')
  t.same(withParent.recovery.notes, [])
  t.same((await replay(withParent, 41)).map((e) => e.position), [41])
  await withParent.close()
  const own = await FileEventLog.open(path, { fsync: false, snapshot: { logId: log.id, position: 41 } })
  t.equal(own.recovery.useSnapshot, true, 'and so does its own')
  await own.close()
  const refused = await openOrRefusal(path, { snapshot: { logId: 'cd'.repeat(16), position: 39 } })
  t.type(refused, LogUnusableError, 'the parent at another position is not')
  const none = await openOrRefusal(path, { snapshotProblem: 'the snapshot is unreadable: checksum mismatch' })
  t.type(none, LogUnusableError, 'and without a snapshot the file cannot start')
  t.match((none as Error).message, /starts after position 40, and no snapshot holds the clicks up to it \(the snapshot is unreadable: checksum mismatch\)/)
})

t.test('file log - a snapshot ahead of the log: the log continues after the snapshot, never reusing its positions', async (t) => {
  const w = await writeLog(await tempDir(t, 'cp-log-'), 10)
  const log = await FileEventLog.open(w.path, { fsync: false, snapshot: { logId: w.id, position: 15 } })
  t.teardown(() => log.close())
  t.equal(log.recovery.useSnapshot, true)
  t.match(log.recovery.notes, [{ level: 'error', msg: /snapshot at 15 is ahead of .*last click is at 10: clicks 11-15 are only in the snapshot; the log continues at 16/ }])
  t.equal(log.id, w.id, 'the same history')
  t.equal(await log.append(clickOf(16)), 16)
  const refused = await openOrRefusal(w.path, { snapshot: { logId: w.id, position: 12 } })
  t.type(refused, LogUnusableError, 'a snapshot older than the file\'s first position is refused')
  t.match((refused as Error).message, /starts after position 15, but the snapshot is at 12: clicks 13-15 are in neither/)
})

t.test('file log - a version 1 file (written by the previous release) migrates, with its version 1 snapshot', async (t) => {
  const dataDir = await tempDir(t)
  await cp(LEGACY_DATA, dataDir, { recursive: true })
  const expected = JSON.parse(await readFile(join(dataDir, 'expected.json'), 'utf8')) as [number, string][]
  const legacySize = (await readFile(join(dataDir, 'clicks.log'))).length
  const a = await startHarness({ dataDir })
  t.equal(a.planet.stats.snapshotPosition, 50, 'the version 1 snapshot at 50 is used')
  t.equal(a.planet.stats.logPosition, 60, 'and the 10 clicks after it are replayed')
  t.same((await ownerships(a.base)).map((o) => [o.tileId, o.countryId]), expected, 'the map is what the previous release served')
  const migrated = await readFile(join(dataDir, 'clicks.log'))
  t.equal(migrated.toString('latin1', 0, 4), 'CPLG', 'the file has a header now')
  t.equal(migrated.length, HEADER_SIZE + legacySize + 60 * (RECORD_HEADER - 8), 'every record is kept, with its position')
  await click(a.base, 100, 'jp')
  t.equal(a.planet.stats.logPosition, 61)
  await a.close()
  const b = await startHarness({ dataDir })
  t.teardown(() => b.close())
  t.equal(b.planet.stats.logPosition, 61, 'and it opens as a version 2 log afterwards')
  t.same((await ownerships(b.base)).map((o) => [o.tileId, o.countryId]), [...expected, [100, 'jp']])
  t.same((await readdir(dataDir)).sort(), ['clicks.log', 'expected.json', 'snapshots'], 'nothing else left behind')
})

/** A version 1 file of clicks 1 … n. */
function legacyFile(n: number): Buffer {
  return Buffer.concat(Array.from({ length: n }, (_, i) => {
    const payload = encodeClick(clickOf(i + 1))
    const head = Buffer.alloc(8)
    head.writeUInt32LE(payload.length, 0)
    head.writeUInt32LE(crc32(payload), 4)
    return Buffer.concat([head, payload])
  }))
}

t.test('file log - version 1 files: a torn tail is cut while migrating, damage with records after it is refused', async (t) => {
  const dir = await tempDir(t, 'cp-log-')
  const path = join(dir, 'clicks.log')
  const v1 = legacyFile(20)
  await writeFile(path, v1.subarray(0, v1.length - 3))
  const log = await FileEventLog.open(path, { fsync: false })
  t.equal(log.head, 19)
  t.match(log.recovery.notes, [{ level: 'warn', msg: /cut a torn tail/ }, { level: 'info', msg: /migrated .* from version 1 \(no header\): 19 clicks kept/ }])
  t.same((await replay(log, 1)).map((e) => e.click.clickId), Array.from({ length: 19 }, (_, i) => `c${i + 1}`))
  await log.close()

  const damaged = Buffer.from(v1)
  damaged[200]! ^= 0xff
  await writeFile(path, damaged)
  const refused = await openOrRefusal(path, { snapshot: { logId: '', position: 20 } })
  t.type(refused, LogUnusableError)
  t.match((refused as Error).message, /is damaged at byte \d+ .*intact records follow; the file predates record positions/)
  t.ok((await readFile(path)).equals(damaged), 'and left as it was')
  await writeFile(path, Buffer.from('not a log at all, not at all'))
  t.match(((await openOrRefusal(path, {})) as Error).message, /is not a click log/)
})

t.test('file log - damage, property: a flipped byte or a cut anywhere never drops a click silently', async (t) => {
  const dir = await tempDir(t, 'cp-log-')
  const N = 12
  const w = await writeLog(dir, N)
  const size = w.bytes.length
  /** The record holding byte `offset` (0 for the header). */
  const recordAt = (offset: number): number => {
    let r = 0
    while (r < N && w.starts[r + 1]! <= offset) r++
    return r
  }
  const damage = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.integer({ min: 0, max: size - 1 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.integer({ min: 0, max: size - 1 }) }),
  )
  const snapshotAt = fc.option(fc.integer({ min: 0, max: N }), { nil: undefined })
  let runs = 0
  await fc.assert(fc.asyncProperty(damage, snapshotAt, async (d, P) => {
    runs++
    const file = Buffer.from(d.kind === 'cut' ? w.bytes.subarray(0, d.at) : w.bytes)
    if (d.kind === 'flip') file[d.at]! ^= 0xff
    await rm(dir, { recursive: true, force: true }) // and whatever the last run kept aside
    await mkdir(dir)
    await writeFile(w.path, file)
    const snapshot = P === undefined ? undefined : { logId: w.id, position: P }
    const got = await openOrRefusal(w.path, { snapshot })

    // What an operator may be asked, and what may be repaired, from where the damage is.
    // `aside`: damage that the snapshot proves is dropped from the log, and the file kept.
    const covered = P ?? 0
    let expect: { refuse: RegExp } | { head: number; aside: boolean }
    if (d.kind === 'cut') {
      if (d.at === 0) expect = { head: covered, aside: false } // no log: a new one continues from the snapshot
      else if (d.at < HEADER_SIZE) expect = { refuse: /header at byte 0|not a click log/ }
      else {
        const whole = w.starts.filter((start, p) => p >= 2 && start <= d.at).length // records that end before the cut
        const torn = w.starts[whole + 1] !== d.at
        expect = { head: Math.max(covered, whole), aside: torn && whole + 1 <= covered }
      }
    } else if (d.at < HEADER_SIZE) {
      expect = { refuse: /damaged header at byte 0|not a click log/ }
    } else {
      const r = recordAt(d.at)
      if (r === N) expect = { head: Math.max(covered, N - 1), aside: r <= covered } // the tail: cut, or the snapshot holds it
      else if (r <= covered) expect = { head: N, aside: true } // the snapshot proves it; intact records follow
      else expect = { refuse: new RegExp(`is damaged at byte ${w.starts[r]}: the click at position ${r} cannot be read`) }
    }

    if ('refuse' in expect) {
      if (!(got instanceof LogUnusableError)) throw new Error(`${JSON.stringify(d)} P=${P}: opened (head ${got.head}), expected a refusal`)
      if (!expect.refuse.test(got.message)) throw new Error(`${JSON.stringify(d)} P=${P}: ${got.message}`)
      if (!(await readFile(w.path)).equals(file)) throw new Error('a refused file was changed')
      return
    }
    if (got instanceof LogUnusableError) throw new Error(`${JSON.stringify(d)} P=${P}: refused: ${got.message}`)
    try {
      if (got.head !== expect.head) throw new Error(`${JSON.stringify(d)} P=${P}: head ${got.head}, expected ${expect.head}`)
      if (got.recovery.useSnapshot !== (P !== undefined)) throw new Error(`${JSON.stringify(d)} P=${P}: the snapshot of this log was not used`)
      const kept = (await readdir(dir)).filter((f) => f.startsWith('clicks.log.damaged-'))
      if (kept.length !== (expect.aside ? 1 : 0)) throw new Error(`${JSON.stringify(d)} P=${P}: kept aside ${kept}, expected ${expect.aside}`)
      if (expect.aside && !(await readFile(join(dir, kept[0]!))).equals(file)) throw new Error('the file kept aside is not the damaged one')
      // Every position after the snapshot is the click written there, none missing.
      const after = await replay(got, covered + 1)
      const want = Array.from({ length: got.head - covered }, (_, i) => `c${covered + 1 + i}`)
      if (JSON.stringify(after.map((e) => e.click.clickId)) !== JSON.stringify(want)) {
        throw new Error(`${JSON.stringify(d)} P=${P}: replayed ${after.map((e) => e.click.clickId)}, expected ${want}`)
      }
      if (await got.append(clickOf(99)) !== got.head) throw new Error('append')
      if (got.head !== expect.head + 1) throw new Error(`${JSON.stringify(d)} P=${P}: the next click is not at ${expect.head + 1}`)
    } finally {
      await got.close()
    }
  }), { numRuns: 300, seed: 20_251_203 })
  t.equal(runs, 300, 'flips and cuts at 300 places, with and without a snapshot')
})

t.test('file log - a full disk (a real 1 MiB tmpfs): appends fail and say why, the log retries, and accepts again once there is room', async (t: Test) => {
  const disk = await smallDisk(t, 1 << 20)
  if (disk === undefined) {
    t.plan(0, 'cannot mount a tmpfs here (needs root)')
    return
  }
  const path = join(disk, 'clicks.log')
  const health: (string | undefined)[] = []
  const log = await FileEventLog.open(path, { onHealth: (p) => health.push(p), retryFirstMs: 10, retryMaxMs: 100 })
  t.teardown(() => log.close())
  const acked: number[] = []
  for (let i = 1; i <= 5; i++) acked.push(await log.append(clickOf(i)))
  const filler = await fillDisk(disk)
  let failed: unknown
  for (let i = 6; i < 500 && failed === undefined; i++) {
    await log.append(clickOf(i)).then((p) => acked.push(p), (err: unknown) => (failed = err))
  }
  t.type(failed, LogFailedError, 'an append fails once the disk is full')
  t.match(String(failed), /ENOSPC/)
  t.match(health, [/^click log write failed: ENOSPC/], 'the failure was reported')
  await t.rejects(log.append(clickOf(1000)), LogFailedError, 'appends are refused while it fails')
  t.equal(log.failures, 1, 'one failed write')

  await rm(filler)
  const { until } = await import('../../helpers/server.js')
  await until(() => health.at(-1) === undefined && health.length >= 2, 'the log to write again', 10_000)
  const next = await log.append(clickOf(2000))
  t.equal(next, acked.at(-1)! + 1, 'no position was used by the failed writes')
  await log.close()
  const again = await FileEventLog.open(path)
  t.teardown(() => again.close())
  t.same(again.recovery.notes, [], 'the file is clean: the failed bytes were cut back')
  t.same((await replay(again, 1)).map((e) => e.position), [...acked, next], 'every acknowledged click, nothing else')
})

t.test('file log - compaction drops what the snapshot holds; appends during it are kept; replay and reopen see the rest', async (t) => {
  const dir = await tempDir(t, 'cp-log-')
  const path = join(dir, 'clicks.log')
  const log = await FileEventLog.open(path, { fsync: false })
  for (let i = 1; i <= 3000; i++) void log.append(clickOf(i))
  await log.append(clickOf(3001))
  const live: number[] = []
  await log.subscribe(3002, (e) => live.push(e.position)).caughtUp
  const before = log.bytes
  t.equal(await log.compact(2000, before), 0, 'nothing is done while it would drop less than asked')
  const compacting = log.compact(2000)
  const during = Promise.all(Array.from({ length: 300 }, (_, i) => log.append(clickOf(3002 + i))))
  const dropped = await compacting
  const positions = await during
  t.ok(dropped > 0 && dropped < before, `dropped ${dropped} of ${before} bytes`)
  t.same(positions, Array.from({ length: 300 }, (_, i) => 3002 + i), 'appends during it got their positions')
  t.same(live, positions, 'and were delivered live')
  t.equal(log.base, 2000)
  const added = positions.reduce((sum, p) => sum + RECORD_HEADER + encodeClick(clickOf(p)).length, 0)
  t.equal(log.bytes, before - dropped + added, 'the file is what was kept plus what was appended')
  t.same((await replay(log, 2001)).map((e) => e.click.clickId), Array.from({ length: 1301 }, (_, i) => `c${2001 + i}`))
  await t.rejects(log.subscribe(1999, () => {}).caughtUp, LogTrimmedError, 'what was dropped is gone')
  t.equal(await log.append(clickOf(9999)), 3302)
  await log.close()
  t.same((await readdir(dir)).sort(), ['clicks.log'], 'no temp file')

  const again = await FileEventLog.open(path, { fsync: false, snapshot: { logId: log.id, position: 2000 } })
  t.equal(again.recovery.useSnapshot, true)
  t.same(again.recovery.notes, [])
  t.equal(again.head, 3302)
  t.same((await replay(again, 3000)).map((e) => e.position), Array.from({ length: 303 }, (_, i) => 3000 + i))
  await again.close()
  const older = await openOrRefusal(path, { snapshot: { logId: log.id, position: 1500 } })
  t.type(older, LogUnusableError, 'a snapshot older than the compaction cannot start it')
})
