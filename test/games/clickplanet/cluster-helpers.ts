/**
 * ClickPlanet nodes of one cluster in this process: each a real partyline server on port 0
 * with `NATS_URL` (JetStream) and `REDIS_URL` set, as `partyline serve` would run them.
 */
import type { Test } from 'tap'
import { defaultSettings, type Settings } from '../../../src/config.js'
import type { ClickPlanetOptions } from '../../../src/games/clickplanet/index.js'
import { startServer, type PartylineServer } from '../../../src/server.js'
import { NatsServer } from '../../helpers/nats-server.js'
import { RedisServer } from '../../helpers/redis-server.js'
import { SMALL_MAP } from './harness.js'

export interface Services {
  readonly nats: NatsServer
  readonly redis: RedisServer
  readonly urls: { readonly nats: string; readonly redis: string }
}

/** A nats-server with JetStream and a redis-server of the test's own (stopped at teardown). */
export async function services(t: Test): Promise<Services> {
  const nats = await NatsServer.start({ jetstream: true })
  t.teardown(() => nats.stop())
  const redis = await RedisServer.start()
  t.teardown(() => redis.stop())
  return { nats, redis, urls: { nats: nats.url, redis: redis.url } }
}

export interface ClusterNode {
  readonly server: PartylineServer
  /** http://127.0.0.1:<port> */
  readonly base: string
  readonly ws: string
}

export async function startNode(
  urls: { readonly nats: string; readonly redis: string },
  nodeId: string,
  overrides: Partial<Settings> = {},
  clickplanet: Partial<Omit<ClickPlanetOptions, 'logger'>> = {},
): Promise<ClusterNode> {
  const settings = defaultSettings({
    port: 0, host: '127.0.0.1', logLevel: 'silent', map: SMALL_MAP, clickRate: 0,
    natsUrl: urls.nats, redisUrl: urls.redis, nodeId, ...overrides,
  })
  const server = await startServer(settings, { clickplanet })
  return { server, base: server.url, ws: server.url.replace(/^http/, 'ws') }
}

/** Every node's projection at the same position, and that position (bounded wait). */
export async function converged(nodes: readonly ClusterNode[], head: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    const at = nodes.map((n) => n.server.clickplanet!.stats.logPosition)
    if (at.every((p) => p >= head)) return
    if (Date.now() > deadline) throw new Error(`nodes did not converge on ${head}: ${at.join(', ')}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
