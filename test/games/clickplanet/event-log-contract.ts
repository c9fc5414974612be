/**
 * The EventLog contract (src/games/clickplanet/event-log.ts) as one suite, driven by a
 * factory: memory, file and JetStream all run it. What only some implementations promise
 * (consecutive positions 1, 2, 3, …; live delivery before `append` resolves) is checked only
 * where the factory says it is promised.
 */
import t, { type Test } from 'tap'
import { LogClosedError, type EventLog, type LogEntry } from '../../../src/games/clickplanet/event-log.js'
import type { Click } from '../../../src/games/clickplanet/messages.js'

export const clickOf = (i: number): Click => ({
  tileId: i % 1000, countryId: i % 2 ? 'fr' : 'de', timestampNs: 1_700_000_000_000_000_000n + BigInt(i), clickId: `c${i}`,
})

export interface LogFactory {
  readonly name: string
  /** A fresh, empty log (the test closes it). */
  open(): Promise<EventLog>
  /** Positions are 1, 2, 3, … (the in-process logs); otherwise only increasing. */
  readonly consecutive: boolean
  /** A live subscriber has the entry before `append` resolves (the in-process logs). */
  readonly deliversBeforeAck: boolean
}

/** Waits until `pred()` holds, polling, for at most `ms`. */
export async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

function increasing(xs: readonly number[]): boolean {
  return xs.every((x, i) => i === 0 || x > xs[i - 1]!)
}

/** Runs the contract against `impl`; `factory` is called once per test. */
export function eventLogContract(impl: string, factory: (t: Test) => Promise<LogFactory>): void {
  t.test(`event log (${impl}) - positions increase in append order and replay is in order`, async (t) => {
    const f = await factory(t)
    const log = await f.open()
    const positions: number[] = []
    for (let i = 0; i < 50; i++) positions.push(await log.append(clickOf(i)))
    t.ok(positions[0]! >= 1 && increasing(positions), 'each append gets a greater position')
    if (f.consecutive) t.same(positions, Array.from({ length: 50 }, (_, i) => i + 1), `${f.name}: consecutive from 1`)
    t.equal(log.head, positions.at(-1), 'head is the last position')
    const seen: LogEntry[] = []
    const sub = log.subscribe(positions[19]!, (e) => seen.push(e))
    await sub.caughtUp
    t.same(seen.map((e) => e.position), positions.slice(19), 'replay from a position delivers it and what follows')
    t.same(seen[0]!.click, clickOf(19), 'with the click stored there')
    const next = await log.append(clickOf(50))
    await until(() => seen.at(-1)?.position === next, 'the live entry')
    t.same(seen.at(-1)!.click, clickOf(50), 'live entries follow replay')
    if (f.deliversBeforeAck) t.equal(seen.length, 32)
    sub.close()
    await sub.done
    await log.append(clickOf(51))
    t.equal(seen.length, 32, 'nothing after close')
    await log.close()
    await t.rejects(log.append(clickOf(0)), LogClosedError)
  })

  t.test(`event log (${impl}) - appends during replay are delivered once, in order, none left out`, async (t) => {
    const f = await factory(t)
    const log = await f.open()
    const first = Array.from({ length: 2000 }, (_, i) => log.append(clickOf(i)))
    const stored = await Promise.all(first)
    const seen: LogEntry[] = []
    const sub = log.subscribe(1, (e) => seen.push(e))
    const more = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(clickOf(2000 + i))))
    await sub.caughtUp
    const all = [...stored, ...more]
    await until(() => seen.length >= all.length, 'every entry')
    const positions = seen.map((e) => e.position)
    t.ok(increasing(positions), 'in increasing order, none twice')
    t.same(new Set(positions), new Set(all), `${f.name}: every acknowledged position delivered`)
    if (f.consecutive) t.same(positions, Array.from({ length: 2500 }, (_, i) => i + 1))
    const ids = new Set(seen.map((e) => e.click.clickId))
    t.equal(ids.size, 2500, 'every click once')
    sub.close()
    await log.close()
  })

  t.test(`event log (${impl}) - a throwing handler is closed and told why; others go on`, async (t) => {
    const f = await factory(t)
    const log = await f.open()
    const good: number[] = []
    const bad = log.subscribe(1, () => { throw new Error('bad consumer') })
    const fine = log.subscribe(1, (e) => good.push(e.position))
    await Promise.all([bad.caughtUp, fine.caughtUp])
    const p1 = await log.append(clickOf(1))
    const p2 = await log.append(clickOf(2))
    await until(() => good.length === 2, 'both entries')
    t.same(good, [p1, p2])
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
    const p2 = await log.append(clickOf(2))
    const sub = log.subscribe(1, (e) => { if (e.position === p2) throw new Error('cannot apply') })
    await t.rejects(sub.caughtUp, /cannot apply/)
    await t.rejects(sub.done, /cannot apply/)
    await log.close()
  })

  t.test(`event log (${impl}) - an empty log: caughtUp resolves at once, head is 0`, async (t) => {
    const f = await factory(t)
    const log = await f.open()
    t.equal(log.head, 0)
    const sub = log.subscribe(1, () => {})
    await t.resolves(sub.caughtUp)
    sub.close()
    await log.close()
  })
}
