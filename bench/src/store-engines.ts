/**
 * The Store's operations on the memory store and on Redis, side by side. Prints a table.
 *
 *   npx tsx bench/src/store-engines.ts
 *
 * Redis is a real redis-server on a free port of 127.0.0.1 (the test launcher), without
 * persistence. Latency: one operation at a time (p50/p99); throughput: 64 in flight.
 * Every loop is bounded in count and in time.
 */
import { MemoryStore } from '../../src/store/store-memory.js'
import { RedisStore } from '../../src/store/store-redis.js'
import type { Ownership, RoomRecord, Store } from '../../src/store/store.js'
import { RedisServer } from '../../test/helpers/redis-server.js'
import { markdown } from './table.js'

const OPS = 3000
const IN_FLIGHT = 64
const PHASE_LIMIT_MS = 15_000

const record = (key: string, players: number): RoomRecord => ({
  key,
  node: 'bench-node',
  name: 'Quiz night',
  public: true,
  maxPlayers: 100,
  acceptConns: true,
  tokenHash: 'ab'.repeat(32),
  nextId: players + 1,
  players: Array.from({ length: players }, (_, i) => ({ id: i + 1, sid: `phone-${String(i).padStart(16, '0')}` })),
  kickedSids: [],
})

interface Row {
  readonly op: string
  readonly engine: string
  readonly p50: number
  readonly p99: number
  readonly perSecond: number
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

/** `op(i)` OPS times one at a time (latencies), then OPS times with IN_FLIGHT in flight (rate). */
async function measure(engine: string, name: string, op: (i: number) => Promise<unknown>): Promise<Row> {
  const lat: number[] = []
  const deadline = Date.now() + PHASE_LIMIT_MS
  for (let i = 0; i < OPS && Date.now() < deadline; i++) {
    const t0 = process.hrtime.bigint()
    await op(i)
    lat.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  lat.sort((a, b) => a - b)
  let next = 0
  const t0 = process.hrtime.bigint()
  const stop = Date.now() + PHASE_LIMIT_MS
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next < OPS && Date.now() < stop) await op(OPS + next++)
  }))
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  return { op: name, engine, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), perSecond: next / seconds }
}

async function run(engine: string, store: Store): Promise<Row[]> {
  const code = (i: number): string => `B${i.toString(36).toUpperCase().padStart(5, '0')}`
  const owners: Ownership[] = []
  const rows: Row[] = []
  rows.push(await measure(engine, 'claimCode', async (i) => (owners[i] = (await store.claimCode(code(i), 'bench-node'))!)))
  rows.push(await measure(engine, 'saveRoom (8 players, fenced)', (i) => store.saveRoom(record(code(i), 8), owners[i])))
  rows.push(await measure(engine, 'updateRoom (a join, fenced)', (i) =>
    store.updateRoom(code(i), { set: { nextId: 10 }, players: [{ id: 9, sid: 'phone-joined-now-01' }] }, owners[i])))
  rows.push(await measure(engine, 'loadRoom (9 players)', (i) => store.loadRoom(code(i))))
  rows.push(await measure(engine, 'owner', (i) => store.owner(code(i))))
  rows.push(await measure(engine, 'renewLease', () => store.renewLease('bench-node', 5000)))
  return rows
}

const redis = await RedisServer.start()
try {
  const memory = new MemoryStore()
  const onRedis = new RedisStore({ url: redis.url })
  const rows = [...(await run('memory', memory)), ...(await run('redis', onRedis))]
  await memory.close()
  await onRedis.close()
  rows.sort((a, b) => a.op.localeCompare(b.op) || a.engine.localeCompare(b.engine))
  const us = (x: number): string => x.toFixed(x < 10 ? 1 : 0)
  console.log(`Store operations, ${OPS} one at a time (latency, µs) and ${OPS} with ${IN_FLIGHT} in flight (ops/s); Redis on 127.0.0.1, no persistence\n`)
  console.log(markdown(rows, [
    { head: 'operation', cell: (r) => r.op, left: true },
    { head: 'engine', cell: (r) => r.engine, left: true },
    { head: 'p50 µs', cell: (r) => us(r.p50) },
    { head: 'p99 µs', cell: (r) => us(r.p99) },
    { head: 'ops/s (64 in flight)', cell: (r) => Math.round(r.perSecond).toLocaleString('en-US') },
  ]))
} finally {
  await redis.stop()
}
