/**
 * A cold node catching up with the click stream, side by side in one run
 * (`npm run bench:clickplanet-catchup`): a real nats-server (JetStream, file storage) and
 * redis-server on 127.0.0.1, one stream of `CP_BENCH_CATCHUP` clicks (default 1 M), read
 * back by
 * - nats.js alone: an ephemeral consumer like the reader's, nothing done per message (the
 *   ceiling for any reader built on it);
 * - this build: the log, the follower and the projection, as a node runs them;
 * - with `CP_BENCH_BASELINE=<dir>`, the same from another build (a `git archive` of an
 *   earlier commit, with `node_modules` linked in), to compare builds on the same stream.
 * Each from the stream alone and from a snapshot in Redis plus the last 100,000, the
 * variants taking turns for `CP_BENCH_ROUNDS` rounds (default 3); medians and ratios.
 */
import { join } from 'node:path'
import { AckPolicy, connect, DeliverPolicy, nanos } from 'nats'
import { pino } from 'pino'
import { fillStream } from './click-load.js'
import { JetStreamEventLog } from '../../src/games/clickplanet/event-log-jetstream.js'
import { LogFollower } from '../../src/games/clickplanet/log-follower.js'
import { ClickPlanetMap, defaultMapPath } from '../../src/games/clickplanet/map.js'
import { Projection } from '../../src/games/clickplanet/projection.js'
import { ClusterSnapshots, encodeSnapshot, StoreSnapshots } from '../../src/games/clickplanet/snapshot.js'
import { NatsServer } from '../../src/launchers/nats-server.js'
import { RedisServer } from '../../src/launchers/redis-server.js'
import { RedisStore } from '../../src/store/store-redis.js'

const N = Number(process.env['CP_BENCH_CATCHUP'] ?? 1_000_000)
const ROUNDS = Number(process.env['CP_BENCH_ROUNDS'] ?? 3)
const TAIL = 100_000
const STREAM = 'CATCHUP'
const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d })
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? NaN }
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms).unref())])

interface Build {
  readonly JetStreamEventLog: typeof JetStreamEventLog
  readonly LogFollower: typeof LogFollower
  readonly Projection: typeof Projection
}
/** Reads from `from` to the stream's end; resolves with the milliseconds it took. */
type Reader = (from: number, restore: ((p: Projection) => Promise<void>) | undefined) => Promise<number>

const map = ClickPlanetMap.load(defaultMapPath())
const logger = pino({ level: 'silent' })
const nats = await NatsServer.start({ jetstream: true })
const redis = await RedisServer.start()
try {
  // The stream: core publishes with the click id as Nats-Msg-Id, as `append` sends them.
  const writer = await JetStreamEventLog.open({ servers: nats.url, stream: STREAM, subjects: 'catchup' })
  const nc = await connect({ servers: nats.url })
  const jsm = await nc.jetstreamManager()
  const setup0 = performance.now()
  const list = await fillStream(nc, jsm, STREAM, 'catchup', N, map.tileCount)
  console.error(`  (setup: ${f(N)} clicks in the stream in ${f((performance.now() - setup0) / 1000, 1)} s)`)

  // The snapshot at N − 100,000, in Redis.
  const store = new RedisStore({ url: redis.url, prefix: 'bench:' })
  const name = ClusterSnapshots.nameOf(writer.id!)
  const snap = new Projection(map.tileCount)
  for (let i = 0; i < N - TAIL; i++) snap.apply({ position: i + 1, click: list[i]! })
  await store.saveSnapshot(name, { position: N - TAIL, bytes: encodeSnapshot({ ...snap.state(), mapChecksum: map.checksum, logId: writer.id! }) })
  const snapshots = new StoreSnapshots(store, name)

  const natsAlone: Reader = async (from, restore) => {
    const t0 = performance.now()
    if (restore !== undefined) await restore(new Projection(map.tileCount))
    const js = nc.jetstream()
    const ci = await jsm.consumers.add(STREAM, {
      deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from, ack_policy: AckPolicy.None,
      mem_storage: true, num_replicas: 1, inactive_threshold: nanos(30_000),
    })
    const consumer = await js.consumers.get(STREAM, ci.name)
    let done!: () => void
    const all = new Promise<void>((resolve) => { done = resolve })
    let n = 0
    const messages = await consumer.consume({ max_messages: 10_000, callback: () => { if (++n > N - from) done() } })
    await within(all, 60_000, 'nats.js alone')
    const ms = performance.now() - t0
    messages.stop()
    await consumer.delete().catch(() => {})
    return ms
  }
  const node = (b: Build): Reader => async (from, restore) => {
    const log = await b.JetStreamEventLog.open({ servers: nats.url, stream: STREAM, subjects: 'catchup' })
    const projection = new b.Projection(map.tileCount)
    const follower = new b.LogFollower({
      log, projection, logger,
      restore: async () => { if (restore !== undefined) await restore(projection); else projection.reset() },
    })
    const t0 = performance.now()
    await follower.start()
    await within(follower.caughtUp, 60_000, 'the catch-up')
    const ms = performance.now() - t0
    if (projection.position !== N) throw new Error(`caught up at ${projection.position}, not ${N}`)
    follower.close()
    await log.close()
    return ms
  }
  const readers: Array<[string, Reader]> = [['nats.js alone, nothing per message', natsAlone], ['this build', node({ JetStreamEventLog, LogFollower, Projection })]]
  const baseline = process.env['CP_BENCH_BASELINE']
  if (baseline !== undefined) {
    const at = (p: string): string => join(baseline, 'src/games/clickplanet', p)
    const [a, b, c] = await Promise.all([import(at('event-log-jetstream.ts')), import(at('log-follower.ts')), import(at('projection.ts'))]) as [Build, Build, Build]
    readers.push([`baseline (${baseline})`, node({ JetStreamEventLog: a.JetStreamEventLog, LogFollower: b.LogFollower, Projection: c.Projection })])
  }
  const fromSnapshot = async (p: Projection): Promise<void> => { const s = await snapshots.load(); if (s) p.restore(s) }
  const cases: Array<[string, number, typeof fromSnapshot | undefined]> = [
    [`${f(N / 1e6, 2)} M clicks from the stream alone`, 1, undefined],
    [`snapshot in Redis at ${f((N - TAIL) / 1e6, 2)} M + the last ${f(TAIL)} from the stream`, N - TAIL + 1, fromSnapshot],
  ]
  const times = new Map<string, number[]>()
  for (let r = 0; r < ROUNDS; r++) {
    for (const [what, from, restore] of cases) {
      // Each round in another order, so no reader always goes first.
      const order = readers.map((_, i) => readers[(i + r) % readers.length]!)
      for (const [who, read] of order) {
        const ms = await read(from, restore)
        const k = `${what}|${who}`
        times.set(k, [...(times.get(k) ?? []), ms])
      }
    }
  }
  console.log(`| cold node catching up (median of ${ROUNDS}, ms) | ${readers.map(([who]) => who).join(' | ')} |`)
  console.log(`| --- | ${readers.map(() => '---').join(' | ')} |`)
  for (const [what] of cases) {
    const mine = median(times.get(`${what}|this build`)!)
    const cells = readers.map(([who]) => {
      const xs = times.get(`${what}|${who}`)!
      const m = median(xs)
      return `${f(m)} (${xs.map((x) => f(x)).join(', ')})${who === 'this build' ? '' : ` · this build ÷ it ${f(mine / m, 2)}`}`
    })
    console.log(`| ${what} | ${cells.join(' | ')} |`)
  }
  await store.close()
  await nc.close()
  await writer.close()
} finally {
  await Promise.allSettled([nats.stop(), redis.stop()])
}
