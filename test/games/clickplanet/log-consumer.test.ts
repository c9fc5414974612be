/**
 * ClickPlanet against logs shaped like JetStream's: positions with gaps, entries delivered
 * more than once, and a consumer that is lost. Injected through `ClickPlanetOptions.log`.
 */
import t from 'tap'
import type { EventLog, LogEntry, LogHandler, LogSubscription } from '../../../src/games/clickplanet/event-log.js'
import { encodeClickRequest, type Click } from '../../../src/games/clickplanet/messages.js'
import { startHarness } from './harness.js'
import { click, leaderboard, Listener, ownerships, postBytes } from './helpers.js'

/** An in-process log whose positions skip numbers and whose live delivery repeats entries. */
class JetStreamLikeLog implements EventLog {
  readonly entries: LogEntry[] = []
  readonly #subs = new Set<{ handler: LogHandler; fail(err: Error): void; close(): void }>()
  readonly #steps = [1, 3, 2, 10, 1, 5]
  #head = 0

  get head(): number { return this.#head }

  append(click: Click): Promise<number> {
    this.#head += this.#steps[this.entries.length % this.#steps.length]!
    const entry = { position: this.#head, click }
    const previous = this.entries.at(-1)
    this.entries.push(entry)
    for (const sub of this.#subs) {
      // at-least-once: a redelivery of the previous entry, then the new one, then itself again
      if (previous !== undefined) sub.handler(previous)
      sub.handler(entry)
      sub.handler(entry)
    }
    return Promise.resolve(entry.position)
  }

  subscribe(from: number, handler: LogHandler): LogSubscription {
    for (const e of this.entries) if (e.position >= from) handler(e)
    let settle!: (err?: Error) => void
    const done = new Promise<void>((resolve, reject) => { settle = (err) => (err ? reject(err) : resolve()) })
    done.catch(() => {})
    const sub = {
      handler,
      fail: (err: Error) => { this.#subs.delete(sub); settle(err) },
      close: () => { this.#subs.delete(sub); settle() },
    }
    this.#subs.add(sub)
    return { caughtUp: Promise.resolve(), done, close: sub.close }
  }

  /** The consumer is lost for good (a deleted stream, say). */
  loseConsumers(err: Error): void {
    for (const sub of this.#subs) sub.fail(err)
  }

  close(): Promise<void> {
    for (const sub of this.#subs) sub.close()
    return Promise.resolve()
  }
}

t.test('log consumer - positions with gaps and redelivered entries: every click applied exactly once', async (t) => {
  const log = new JetStreamLikeLog()
  const h = await startHarness({ log })
  t.teardown(() => h.close())
  const listener = await Listener.open(`${h.wsBase}/ws/listen`)
  t.teardown(() => listener.close())
  const plan: [number, string][] = [[1, 'fr'], [2, 'fr'], [1, 'de'], [3, 'it'], [2, 'de'], [1, 'fr'], [4, 'fr'], [4, 'fr']]
  for (const [tile, cc] of plan) await click(h.base, tile, cc)
  t.same(log.entries.map((e) => e.position), [1, 4, 6, 16, 17, 22, 23, 26], 'the log skipped numbers')
  t.equal(h.planet.stats.logPosition, 26, 'the projection is at the last position, gaps and all')
  t.same((await ownerships(h.base)).map((o) => [o.tileId, o.countryId]), [[1, 'fr'], [2, 'de'], [3, 'it'], [4, 'fr']])
  t.same(await leaderboard(h.base), [{ countryId: 'fr', score: 2 }, { countryId: 'de', score: 1 }, { countryId: 'it', score: 1 }])
  const updates = await listener.waitCount(7)
  t.same(updates.map((u) => [u.tileId, u.countryId, u.previousCountryId]), [
    [1, 'fr', ''], [2, 'fr', ''], [1, 'de', 'fr'], [3, 'it', ''], [2, 'de', 'fr'], [1, 'fr', 'de'], [4, 'fr', ''],
  ], 'one update per owner change, none repeated')
  t.equal(h.planet.stats.projectionStopped, undefined)
})

t.test('log consumer - when the projection stops following the log, clicks get 503 and say why', async (t) => {
  const log = new JetStreamLikeLog()
  const h = await startHarness({ log })
  t.teardown(() => h.close())
  await click(h.base, 1, 'fr')
  log.loseConsumers(new Error('consumer deleted'))
  const res = await postBytes(`${h.base}/api/click`, encodeClickRequest({ tileId: 2, countryId: 'de' }))
  t.equal(res.status, 503)
  const { error } = (await res.json()) as { error: string }
  t.match(error, /projection stopped at log position 1 \(consumer deleted\)/)
  t.match(error, /refused until the server restarts/)
  t.equal(log.entries.length, 1, 'the click was not appended')
  t.match(h.planet.stats.projectionStopped, /consumer deleted/)
  t.equal(h.planet.stats.clicksFailed, 1)
  t.same((await ownerships(h.base)).map((o) => [o.tileId, o.countryId]), [[1, 'fr']], 'reads still answer what was applied')
})
