/**
 * Test helpers for a cluster in one process: one real nats-server and one real redis-server
 * per test file, and nodes started with their URLs, each with its own PARTYLINE_NODE_ID.
 */
import type { Settings } from '../../src/config.js'
import type { ServerOptions } from '../../src/server.js'
import { NatsServer } from '../helpers/nats-server.js'
import { RedisServer } from '../helpers/redis-server.js'
import { testServer, until } from '../helpers/server.js'

export interface Engines {
  readonly nats: NatsServer
  readonly redis: RedisServer
}

export async function startEngines(t: { teardown(fn: () => unknown): void }): Promise<Engines> {
  const [nats, redis] = await Promise.all([NatsServer.start(), RedisServer.start()])
  t.teardown(() => Promise.all([nats.stop(), redis.stop()]))
  return { nats, redis }
}

let nodes = 0
let runs = 0

/** Short leases and graces so failover tests finish quickly. */
export const FAST: Partial<Settings> = { nodeLeaseMs: 1000, hostGraceMs: 10_000, playerGraceMs: 10_000, shutdownMs: 2000 }

export type Node = Awaited<ReturnType<typeof testServer>>

/** `n` nodes on the engines, each ready (NATS and Redis reached) and seeing every other's lease. */
export async function startNodes(
  t: { teardown(fn: () => unknown): void },
  engines: Engines,
  n: number,
  overrides: Partial<Settings> = {},
  options: () => ServerOptions = () => ({}),
): Promise<Node[] & { readonly redisUrl: string }> {
  const started: Node[] = []
  const redisUrl = overrides.redisUrl ?? freshDatabase(engines)
  for (let i = 0; i < n; i++) {
    started.push(await testServer(t, { ...FAST, natsUrl: engines.nats.url, nodeId: `node${++nodes}`, ...overrides, redisUrl }, options()))
  }
  for (const node of started) await until(() => node.readiness.report().status === 'ready', `${node.nodeId} ready`, 10_000)
  return Object.assign(started, { redisUrl })
}

/** A Redis database of its own (per test): rooms left by an earlier test's nodes stay out of it. */
export function freshDatabase(engines: Engines): string {
  return `${engines.redis.url}/${++runs % 16}`
}
