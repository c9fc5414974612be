import { appendFile, mkdtemp, rm, stat, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { LogTrimmedError, type LogEntry } from '../../../src/games/clickplanet/event-log.js'
import { FileEventLog } from '../../../src/games/clickplanet/event-log-file.js'
import { MemoryEventLog } from '../../../src/games/clickplanet/event-log-memory.js'
import { clickOf, eventLogContract } from './event-log-contract.js'

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cp-log-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

eventLogContract('memory', async () => ({
  name: 'memory', consecutive: true, deliversBeforeAck: true, open: async () => new MemoryEventLog(),
}))
eventLogContract('file', async (t) => {
  const dir = await tempDir(t)
  return {
    name: 'file', consecutive: true, deliversBeforeAck: true,
    open: () => FileEventLog.open(join(dir, 'clicks.log'), { fsync: false }),
  }
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
