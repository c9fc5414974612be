/**
 * The log follower alone: a projection kept following a log from its snapshot position,
 * through redeliveries, lost deliveries (a real nats-server killed and restarted), trims
 * past it, and read-your-writes waits.
 */
import t from 'tap'
import { LogTrimmedError, type EventLog, type LogEntry, type LogHandler, type LogSubscription } from '../../../src/games/clickplanet/event-log.js'
import { MemoryEventLog } from '../../../src/games/clickplanet/event-log-memory.js'
import { JetStreamEventLog } from '../../../src/games/clickplanet/event-log-jetstream.js'
import { LogFollower } from '../../../src/games/clickplanet/log-follower.js'
import type { Click } from '../../../src/games/clickplanet/messages.js'
import { Projection } from '../../../src/games/clickplanet/projection.js'
import { NatsServer } from '../../helpers/nats-server.js'
import { until } from './event-log-contract.js'

const TILES = 100
const clickOf = (i: number, cc = i % 2 ? 'fr' : 'de'): Click => ({ tileId: i % TILES, countryId: cc, timestampNs: BigInt(i + 1), clickId: `c${i}` })

/** A log under the test's hand: entries delivered when told, each one twice. */
class HandLog implements EventLog {
  readonly entries: LogEntry[] = []
  head = 0
  readonly #subs = new Set<LogHandler>()
  append(click: Click): Promise<number> {
    const entry = { position: ++this.head, click }
    this.entries.push(entry)
    return Promise.resolve(entry.position)
  }
  /** Delivers every stored entry from `from` to the live subscribers, each twice. */
  deliver(from = 1): void {
    for (const h of this.#subs) for (const e of this.entries) if (e.position >= from) { h(e); h(e) }
  }
  subscribe(from: number, handler: LogHandler): LogSubscription {
    this.#subs.add(handler)
    for (const e of this.entries) if (e.position >= from) handler(e)
    return { caughtUp: Promise.resolve(), done: new Promise(() => {}), close: () => { this.#subs.delete(handler) } }
  }
  close(): Promise<void> { return Promise.resolve() }
}

t.test('log follower - follows from the snapshot position: earlier entries are not applied again', async (t) => {
  const log = new MemoryEventLog()
  for (let i = 0; i < 10; i++) await log.append(clickOf(i))
  // the "snapshot": a projection that applied positions 1-6
  const snap = new Projection(TILES)
  for (let p = 1; p <= 6; p++) snap.apply({ position: p, click: clickOf(p - 1) })
  const projection = new Projection(TILES)
  const seen: number[] = []
  projection.onChange((c) => seen.push(c.tileId))
  const follower = new LogFollower({ log, projection, restore: async () => projection.restore(snap.state()) })
  await follower.start()
  await follower.caughtUp
  t.equal(projection.position, 10)
  t.same(seen, [6, 7, 8, 9], 'only positions 7-10 were applied on top of the snapshot')
  t.equal(projection.duplicates, 0)
  follower.close()
})

t.test('log follower - redelivered positions are skipped; waitFor resolves once applied, false after its bound; lag', async (t) => {
  const log = new HandLog()
  const projection = new Projection(TILES)
  const follower = new LogFollower({ log, projection, restore: async () => projection.reset() })
  await follower.start()
  const p1 = await log.append(clickOf(1))
  const waiting = follower.waitFor(p1, 10_000)
  t.equal(follower.lag, 1, 'one entry the projection has not applied')
  log.deliver()
  t.equal(await waiting, true, 'resolved when applied')
  t.equal(follower.lag, 0)
  t.equal(projection.duplicates, 1, 'the second delivery was skipped')
  await log.append(clickOf(2))
  t.equal(await follower.waitFor(2, 50), false, 'not applied within the bound: false')
  log.deliver(1)
  t.equal(projection.position, 2)
  t.equal(projection.duplicates, 4, 'position 1 twice more and 2 once more: skipped (1 + 3)')
  follower.close()
})

t.test('log follower - the log trimmed past the projection: rebuilt from the newest snapshot, then followed', async (t) => {
  const log = new MemoryEventLog(5)
  const snap = new Projection(TILES)
  // the log holds 20 clicks but keeps only the last 5; the newest snapshot is at 17
  for (let i = 0; i < 20; i++) {
    const p = await log.append(clickOf(i))
    if (p <= 17) snap.apply({ position: p, click: clickOf(i) })
  }
  const projection = new Projection(TILES)
  let restores = 0
  const reasons: Error[] = []
  const follower = new LogFollower({
    log, projection, retryMs: { min: 1, max: 5 },
    // at start no snapshot was found (empty); the rebuild finds the one at 17
    restore: async () => { if (restores++ === 0) projection.reset(); else projection.restore(snap.state()) },
    onRebuilt: (why) => reasons.push(why),
  })
  await follower.start()
  await follower.caughtUp
  t.equal(restores, 2, 'the start, then the rebuild')
  t.equal(follower.rebuilds, 1)
  t.type(reasons[0], LogTrimmedError, 'because the log no longer held position 1')
  t.equal(projection.position, 20, 'caught up from the snapshot')
  const full = new Projection(TILES)
  for (let i = 0; i < 20; i++) full.apply({ position: i + 1, click: clickOf(i) })
  t.same([...projection.owners], [...full.owners], 'the same owners as applying the whole history')
  follower.close()
})

t.test('log follower - NATS killed and restarted: it follows again by itself, from where it was', async (t) => {
  const nats = await NatsServer.start({ jetstream: true })
  t.teardown(() => nats.stop())
  const log = await JetStreamEventLog.open({ servers: nats.url })
  t.teardown(() => log.close())
  const writer = await JetStreamEventLog.open({ servers: nats.url })
  t.teardown(() => writer.close())
  const projection = new Projection(TILES)
  const follower = new LogFollower({ log, projection, restore: async () => projection.reset(), retryMs: { min: 20, max: 200 } })
  t.teardown(() => follower.close())
  await follower.start()
  for (let i = 0; i < 5; i++) await writer.append(clickOf(i))
  await until(() => projection.position === 5, 'the first clicks')
  await nats.kill()
  await until(() => !follower.following, 'the follower to notice')
  await nats.restart()
  await until(() => writer.usable, 'the writer to be back', 20_000)
  for (let i = 5; i < 10; i++) await writer.append(clickOf(i))
  await until(() => projection.position === 10, 'the clicks after the restart', 20_000)
  t.ok(follower.resubscribes >= 1, `it subscribed again (${follower.resubscribes} times)`)
  t.equal(follower.lag, 0)
})
