/**
 * The JetStream click log against a real nats-server with JetStream (file storage): the
 * EventLog contract, then what only it does (click ids stored once, trimming, a replaced
 * stream, NATS killed and restarted).
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { connect, nanos, RetentionPolicy, StorageType } from 'nats'
import pino from 'pino'
import { LogFailedError, LogReplacedError, LogTrimmedError, type LogEntry } from '../../../src/games/clickplanet/event-log.js'
import { JetStreamEventLog } from '../../../src/games/clickplanet/event-log-jetstream.js'
import { streamDifferences } from '../../../src/games/clickplanet/stream-config.js'
import { Readiness } from '../../../src/readiness.js'
import { NatsServer } from '../../helpers/nats-server.js'
import { clickOf, eventLogContract, until } from './event-log-contract.js'

const nats = await NatsServer.start({ jetstream: true })
t.teardown(() => nats.stop())
const streamName = (): string => `T${randomBytes(6).toString('hex').toUpperCase()}`
/** A log on a stream and subjects of its own. */
const fresh = (name = streamName()): Promise<JetStreamEventLog> => JetStreamEventLog.open({ servers: nats.url, stream: name, subjects: name.toLowerCase() })

eventLogContract('jetstream', async () => ({
  name: 'jetstream', consecutive: false, deliversBeforeAck: false,
  open: () => fresh(),
}))

t.test('jetstream log - a click published twice (a retry) is stored once, at one position', async (t) => {
  const log = await fresh()
  t.teardown(() => log.close())
  t.match(log.id, /^T[0-9A-F]+@\d{4}-/, 'the id is the stream name and its creation time')
  const a = await log.append(clickOf(1))
  const again = await log.append(clickOf(1))
  const b = await log.append(clickOf(2))
  t.equal(again, a, 'the retry gets the first position')
  const seen: LogEntry[] = []
  const sub = log.subscribe(1, (e) => seen.push(e))
  await sub.caughtUp
  t.same(seen.map((e) => [e.position, e.click.clickId]), [[a, 'c1'], [b, 'c2']])
  sub.close()
})

t.test('jetstream log - subscribing below the first retained position: LogTrimmedError; a reader overtaken by a trim is told so', async (t) => {
  const log = await fresh()
  t.teardown(() => log.close())
  for (let i = 0; i < 20; i++) await log.append(clickOf(i))
  t.equal(await log.trimThrough(10), 10, 'positions 1-10 dropped')
  await t.rejects(log.subscribe(5, () => {}).caughtUp, LogTrimmedError)
  const seen: number[] = []
  await log.subscribe(11, (e) => seen.push(e.position)).caughtUp
  t.same(seen, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20], 'from the first retained position on')
  // trimThrough never goes past the stream's last position: the next click still gets 21.
  t.equal(await log.trimThrough(25), 10, 'a trim past the end stops at the end (11-20 dropped)')
  t.equal(await log.append(clickOf(50)), 21, 'and the stream goes on at the next position, not past the trim')
  t.equal(await log.trimThrough(20, 'another history'), 0, 'a trim for another incarnation of the stream does nothing')
  // A reader waiting at 22 while someone else (an operator) purges the stream past it: the
  // next entry it gets is beyond a hole, and it says so instead of skipping the hole.
  const late = log.subscribe(22, () => {})
  await late.caughtUp
  const nc = await connect({ servers: nats.url })
  await (await nc.jetstreamManager()).streams.purge(log.stream, { seq: 26 })
  await nc.close()
  for (let i = 0; i < 3; i++) await log.append(clickOf(100 + i))
  await t.rejects(late.done, LogTrimmedError, 'a reader overtaken by a trim fails, it never skips')
  await t.rejects(log.subscribe(22, () => {}).caughtUp, LogTrimmedError)
})

t.test('jetstream log - a stream deleted and created again: a reader of the old one never reads the new one; the log takes the new id', async (t) => {
  const name = streamName()
  const log = await fresh(name)
  t.teardown(() => log.close())
  for (let i = 0; i < 5; i++) await log.append(clickOf(i))
  const before = log.id
  const seen: number[] = []
  const sub = log.subscribe(1, (e) => seen.push(e.position))
  await sub.caughtUp
  const nc = await connect({ servers: nats.url })
  const jsm = await nc.jetstreamManager()
  await jsm.streams.delete(name)
  // A reader that sees the stream missing ends (its consumer subscribes again); one that
  // sees the new incarnation fails with LogReplacedError. Either way it stops.
  const why = await sub.done.then(() => undefined, (err: unknown) => err)
  t.ok(why instanceof LogReplacedError || why instanceof LogFailedError, `the reader stopped: ${String(why)}`)
  // The log makes the stream again shortly (a publish or a look at it)
  let p = 0
  for (let i = 0; i < 50 && p === 0; i++) {
    p = await log.append(clickOf(9)).catch(() => 0)
    if (p === 0) await new Promise((r) => setTimeout(r, 100))
  }
  t.equal(p, 1, 'the new stream numbers from 1 again')
  t.not(log.id, before, 'a new incarnation, a new id')
  t.same(seen, [1, 2, 3, 4, 5], 'nothing of the new history reached the old reader')
  await nc.close()
})

t.test('jetstream log - a subscription from a position of the old history, on the new one: LogReplacedError', async (t) => {
  const name = streamName()
  const a = await fresh(name)
  t.teardown(() => a.close())
  const b = await fresh(name)
  t.teardown(() => b.close())
  for (let i = 0; i < 5; i++) await a.append(clickOf(i))
  const old = a.id
  const nc = await connect({ servers: nats.url })
  await (await nc.jetstreamManager()).streams.delete(name)
  await nc.close()
  // b makes the stream again (its publishes fail until it does) and writes the new history
  let p = 0
  for (let i = 0; i < 50 && p === 0; i++) {
    p = await b.append(clickOf(100 + i)).catch(() => 0)
    if (p === 0) await new Promise((r) => setTimeout(r, 100))
  }
  t.ok(p > 0 && b.id !== old, 'b wrote on a new incarnation')
  t.equal(a.id, old, 'a has not looked yet')
  const seen: number[] = []
  const sub = a.subscribe(6, (e) => seen.push(e.position))
  await t.rejects(sub.done, LogReplacedError, 'a reader of the old history is refused the new one')
  t.same(seen, [], 'having read nothing of it')
  t.equal(a.id, b.id, 'and a knows the new id now')
})

t.test('jetstream log - NATS killed: appends fail at once, readers end (LogFailedError); restarted: it serves again', async (t) => {
  const own = await NatsServer.start({ jetstream: true })
  t.teardown(() => own.stop())
  const readiness = new Readiness()
  const log = await JetStreamEventLog.open({ servers: own.url, health: readiness.component('jetstream'), ackWaitMs: 2000 })
  t.teardown(() => log.close())
  const acked = [await log.append(clickOf(1)), await log.append(clickOf(2))]
  const sub = log.subscribe(1, () => {})
  await sub.caughtUp
  await own.kill()
  await t.rejects(sub.done, LogFailedError, 'the reader ends: its consumer must subscribe again')
  await until(() => readiness.ready === false, 'readiness to say jetstream is down')
  t.match(readiness.report()['jetstream'], /unreachable/)
  await t.rejects(log.append(clickOf(3)), LogFailedError, 'a click while down is refused, not queued')
  t.ok(log.publishFailures >= 1, 'and counted')
  await own.restart()
  await until(() => log.usable, 'the log to be usable again', 20_000)
  t.equal(readiness.ready, true)
  const p = await log.append(clickOf(4))
  const seen: LogEntry[] = []
  await log.subscribe(1, (e) => seen.push(e)).caughtUp
  t.same(seen.map((e) => e.click.clickId), ['c1', 'c2', 'c4'], 'every acknowledged click is still there, in order')
  t.equal(seen.at(-1)!.position, p)
  t.same(seen.slice(0, 2).map((e) => e.position), acked)
})

t.test('jetstream log - a stream that exists with other settings is used as it is, and the log says once how it differs', async (t) => {
  const name = streamName()
  const subjects = name.toLowerCase()
  const nc = await connect({ servers: nats.url })
  t.teardown(() => nc.close())
  const jsm = await nc.jetstreamManager()
  // As an operator might have made it: in memory, a 1 s duplicate window, an hour's max age.
  await jsm.streams.add({ name, subjects: [`${subjects}.tile.>`], storage: StorageType.Memory, duplicate_window: nanos(1000), max_age: nanos(3_600_000) })
  const lines: { msg: string; differences?: string[] }[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
  const log = await JetStreamEventLog.open({ servers: nats.url, stream: name, subjects, logger })
  t.teardown(() => log.close())
  t.ok(await log.append(clickOf(1)) > 0, 'clicks are stored in it')
  const said = lines.filter((l) => l.differences !== undefined)
  t.equal(said.length, 1, 'said once')
  t.match(said[0]!.differences, [/in memory, not on disk/, /remembers click ids for 1000 ms, PARTYLINE_CLICKS_DUPLICATE_WINDOW_MS is 120000 ms: a publish retried later than that is stored twice/, /discards clicks by itself \(max_age 3600 s\)/])
  t.equal((await jsm.streams.info(name)).config.storage, StorageType.Memory, 'the stream is left as it was')

  // A stream the log made itself is what it wants: nothing to say.
  // A second node opening it finds it as it would make it: nothing to say.
  const quiet: unknown[] = []
  const made = { servers: nats.url, stream: streamName(), subjects: `${subjects}x`, logger: pino({ level: 'warn' }, { write: (l: string) => void quiet.push(l) }) }
  const first = await JetStreamEventLog.open(made)
  t.teardown(() => first.close())
  const second = await JetStreamEventLog.open(made)
  t.teardown(() => second.close())
  await second.append(clickOf(2))
  t.same(quiet, [], 'no warning for a stream as this node would make it')
})

t.test('jetstream log - stream differences: subjects that do not take the clicks, fewer replicas than asked', async (t) => {
  const wanted = { subject: 'clicks.tile.>', replicas: 3, duplicateWindowMs: 120_000 }
  const made = { subjects: ['clicks.tile.>'], storage: StorageType.File, num_replicas: 3, duplicate_window: nanos(120_000), max_age: 0, max_msgs: -1, max_bytes: -1 }
  t.same(streamDifferences(made, wanted), [], 'the stream a node makes')
  t.match(streamDifferences({ ...made, subjects: ['orders.>'] }, wanted), [/do not include clicks\.tile\.>: every click is refused \(503\); PARTYLINE_CLICKS_STREAM/])
  t.match(streamDifferences({ ...made, num_replicas: 1 }, wanted), [/1 replica\(s\), PARTYLINE_CLICKS_REPLICAS asks for 3/])
  t.match(streamDifferences({ ...made, max_msgs: 1000, retention: RetentionPolicy.Interest }, wanted), [/max_msgs 1000, retention interest/])
})
