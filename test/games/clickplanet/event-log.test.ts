import { appendFile, mkdtemp, rm, stat, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { LogClosedError, LogTrimmedError, type EventLog, type LogEntry } from '../../../src/games/clickplanet/event-log.js'
import { FileEventLog } from '../../../src/games/clickplanet/event-log-file.js'
import { MemoryEventLog } from '../../../src/games/clickplanet/event-log-memory.js'
import type { Click } from '../../../src/games/clickplanet/messages.js'

const clickOf = (i: number): Click => ({ tileId: i % 1000, countryId: i % 2 ? 'fr' : 'de', timestampNs: 1_700_000_000_000_000_000n + BigInt(i), clickId: `c${i}` })

interface Factory {
  readonly name: string
  open(): Promise<EventLog>
  /** Reopens the same log (memory: undefined, not durable). */
  reopen?(): Promise<EventLog>
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cp-log-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The EventLog contract, run against every implementation. */
function conformance(impl: string, factory: (t: Test) => Promise<Factory>): void {
  t.test(`event log (${impl}) - positions are consecutive from 1 and replay is in order`, async (t) => {
    const f = await factory(t)
    const log = await f.open()
    const positions = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(clickOf(i))))
    t.same(positions, Array.from({ length: 50 }, (_, i) => i + 1), `${f.name}: append order is position order`)
    t.equal(log.head, 50)
    const seen: LogEntry[] = []
    const sub = log.subscribe(20, (e) => seen.push(e))
    await sub.caughtUp
    t.same(seen.map((e) => e.position), Array.from({ length: 31 }, (_, i) => i + 20))
    t.same(seen[0]!.click, clickOf(19))
    await log.append(clickOf(50))
    t.equal(seen.at(-1)!.position, 51, 'live entries follow replay')
    sub.close()
    await log.append(clickOf(51))
    t.equal(seen.length, 32, 'nothing after close')
    await log.close()
    await t.rejects(log.append(clickOf(0)), LogClosedError)
  })

  t.test(`event log (${impl}) - appends during replay are delivered once, without gaps`, async (t) => {
    const f = await factory(t)
    const log = await f.open()
    for (let i = 0; i < 3000; i++) void log.append(clickOf(i))
    await log.append(clickOf(3000))
    const seen: number[] = []
    const sub = log.subscribe(1, (e) => seen.push(e.position))
    const more = Promise.all(Array.from({ length: 500 }, (_, i) => log.append(clickOf(3001 + i))))
    await sub.caughtUp
    await more
    t.same(seen, Array.from({ length: 3501 }, (_, i) => i + 1), `${f.name}: every position once, in order`)
    await log.close()
  })

  t.test(`event log (${impl}) - a throwing handler is closed and told why; others go on`, async (t) => {
    const f = await factory(t)
    const log = await f.open()
    const good: number[] = []
    const bad = log.subscribe(1, () => { throw new Error('bad consumer') })
    const fine = log.subscribe(1, (e) => good.push(e.position))
    await log.append(clickOf(1))
    await log.append(clickOf(2))
    t.same(good, [1, 2])
    await t.rejects(bad.done, /bad consumer/, 'done rejects with the handler\'s error')
    const closedByCaller = log.subscribe(1, () => {})
    await closedByCaller.caughtUp
    closedByCaller.close()
    await t.resolves(closedByCaller.done, 'done resolves after close()')
    await log.close()
    await t.resolves(fine.done, 'and when the log closes')
  })

  t.test(`event log (${impl}) - a handler throwing during replay: caughtUp and done reject`, async (t) => {
    const f = await factory(t)
    const log = await f.open()
    await log.append(clickOf(1))
    await log.append(clickOf(2))
    const sub = log.subscribe(1, (e) => { if (e.position === 2) throw new Error('cannot apply') })
    await t.rejects(sub.caughtUp, /cannot apply/)
    await t.rejects(sub.done, /cannot apply/)
    await log.close()
  })
}

conformance('memory', async () => ({ name: 'memory', open: async () => new MemoryEventLog() }))
conformance('file', async (t) => {
  const dir = await tempDir(t)
  return { name: 'file', open: () => FileEventLog.open(join(dir, 'clicks.log'), { fsync: false }) }
})

t.test('memory log - a position older than the retained window is refused', async (t) => {
  const log = new MemoryEventLog(10)
  for (let i = 0; i < 25; i++) await log.append(clickOf(i))
  await t.rejects(log.subscribe(3, () => {}).caughtUp, LogTrimmedError)
  const seen: number[] = []
  await log.subscribe(16, (e) => seen.push(e.position)).caughtUp
  t.same(seen, [16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
})

t.test('file log - reopening keeps every entry; a torn tail is cut', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'clicks.log')
  const log = await FileEventLog.open(path)
  for (let i = 0; i < 2500; i++) void log.append(clickOf(i))
  await log.append(clickOf(2500))
  await log.close()
  const { size } = await stat(path)
  // a crash in the middle of a write: half a record header, then half a record
  await appendFile(path, Buffer.from([30, 0, 0]))
  const again = await FileEventLog.open(path)
  t.equal(again.head, 2501)
  t.match(again.recovery.notes, [{ level: 'warn', msg: /cut a torn tail off .*: 3 bytes/ }])
  t.equal((await stat(path)).size, size)
  await again.close()
  await truncate(path, size - 5)
  const torn = await FileEventLog.open(path)
  t.equal(torn.head, 2500, 'the torn last record is dropped')
  t.equal(await torn.append(clickOf(9)), 2501, 'and appending continues after it')
  const seen: LogEntry[] = []
  await torn.subscribe(2499, (e) => seen.push(e)).caughtUp
  t.same(seen.map((e) => [e.position, e.click.clickId]), [[2499, 'c2498'], [2500, 'c2499'], [2501, 'c9']])
  await torn.close()
})

t.test('file log - garbage in the middle of the last record is cut by its checksum', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'clicks.log')
  const log = await FileEventLog.open(path, { fsync: false })
  await log.append(clickOf(1))
  await log.close()
  await appendFile(path, Buffer.from([10, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]))
  const again = await FileEventLog.open(path)
  t.equal(again.head, 1)
  t.match(again.recovery.notes, [{ level: 'warn', msg: /cut a torn tail off .*: 18 bytes/ }])
  await again.close()
})
