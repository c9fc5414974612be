/**
 * Three real partyline processes on one JetStream stream and one Redis: one is killed with
 * SIGKILL during a click storm and started again. Nothing acknowledged is lost (every
 * acknowledged click, by tile and timestamp, is on every node's map) and the restarted
 * node catches up by itself.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { PartylineNode } from '../../../src/launchers/partyline-node.js'
import { freePort } from '../../../src/launchers/spawned-server.js'
import { decodeClickResponse, encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { services } from './cluster-helpers.js'
import { SMALL_MAP } from './harness.js'
import { dataOf, ownerships, REFERENCE_HEADERS, waitFor } from './helpers.js'

const command = { file: process.execPath, args: ['--import=tsx', fileURLToPath(new URL('../../../src/main.ts', import.meta.url))] }
const TILES = 2887

/** A click that may fail (node dead, 503): the acknowledged ones come back with their timestamp. */
async function tryClick(base: string, tileId: number, countryId: string): Promise<bigint | undefined> {
  try {
    const res = await fetch(`${base}/api/click`, {
      method: 'POST', headers: REFERENCE_HEADERS, signal: AbortSignal.timeout(10_000),
      body: JSON.stringify({ data: Array.from(encodeClickRequest({ tileId, countryId })) }),
    })
    if (res.status !== 200) {
      await res.arrayBuffer()
      return undefined
    }
    return decodeClickResponse(await dataOf(res)).timestampNs
  } catch {
    return undefined
  }
}

t.test('cluster - kill -9 of a node during a click storm: nothing acknowledged is lost, it catches up by itself', async (t) => {
  const { urls } = await services(t)
  const parentDir = await mkdtemp(join(tmpdir(), 'cp-cluster-'))
  t.teardown(() => rm(parentDir, { recursive: true, force: true }))
  const env = {
    NATS_URL: urls.nats, REDIS_URL: urls.redis, PARTYLINE_MAP: SMALL_MAP, PARTYLINE_CLICK_RATE: '0',
    PARTYLINE_LOG_LEVEL: 'warn', PARTYLINE_SNAPSHOT_EVERY_CLICKS: '150', PARTYLINE_SNAPSHOT_INTERVAL_MS: '300',
  }
  const nodes = await Promise.all(['k1', 'k2', 'k3'].map(async (id) =>
    PartylineNode.create({ id, port: await freePort(), parentDir, command, env })))
  t.teardown(() => Promise.all(nodes.map((n) => n.stop())))
  await Promise.all(nodes.map((n) => n.restart()))
  const victim = nodes[1]!

  // The storm: 6 clients, each click on a tile of its own (so each acknowledged click must
  // stay visible as the owner, with its timestamp), round-robin over the three nodes.
  const acked = new Map<number, { countryId: string; timestampNs: bigint }>()
  let next = 0
  let killedAt = -1
  let restarted: Promise<void> | undefined
  await Promise.all(Array.from({ length: 6 }, async (_, w) => {
    while (next < 1800) {
      const tile = next++
      const node = nodes[tile % 3]!
      const countryId = w % 2 ? 'nz' : 'au'
      const timestampNs = await tryClick(node.url, tile, countryId)
      if (timestampNs !== undefined) acked.set(tile, { countryId, timestampNs })
      if (killedAt < 0 && acked.size >= 300) {
        killedAt = acked.size
        await victim.kill('SIGKILL')
      }
      if (restarted === undefined && killedAt > 0 && acked.size >= killedAt + 400) restarted = victim.restart()
    }
  }))
  await restarted
  t.ok(killedAt > 0, `killed after ${killedAt} acknowledged clicks`)
  t.ok(acked.size > 1000, `${acked.size} clicks acknowledged in all`)

  const maps = await waitFor('every node to have every acknowledged click', async () => {
    const all = await Promise.all(nodes.map((n) => ownerships(n.url).catch(() => undefined)))
    if (all.some((m) => m === undefined)) return undefined
    for (const m of all) {
      const byTile = new Map(m!.map((o) => [o.tileId, o]))
      for (const [tile, a] of acked) {
        const o = byTile.get(tile)
        if (o === undefined || o.countryId !== a.countryId || o.timestampNs !== a.timestampNs) return undefined
      }
    }
    return all
  }, 30_000)
  t.pass('every acknowledged click (tile, country, timestamp) is on every node, the restarted one included')
  t.same(maps[1], maps[0], 'the restarted node has the same map as the others')
  t.same(maps[2], maps[0])
  t.ok(maps[0]!.length <= TILES)
  t.match(await victim.readiness(), { status: 200, body: { status: 'ready', jetstream: 'ok' } }, 'and is ready')
})

/** Snapshots a node saved, from its `/metrics` (undefined when it does not answer). */
async function savedBy(node: PartylineNode): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${node.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
    const m = /^partyline_clickplanet_snapshots_total\{outcome="saved"\} (\d+)/m.exec(text)
    return m ? Number(m[1]) : 0
  } catch {
    return undefined
  }
}

t.test('cluster - kill -9 of the snapshot writer: once its role runs out, another node writes the snapshots', async (t) => {
  const { urls } = await services(t)
  const parentDir = await mkdtemp(join(tmpdir(), 'cp-cluster-'))
  t.teardown(() => rm(parentDir, { recursive: true, force: true }))
  // Snapshots every 300 ms: the writer's role lasts 2 × 300 ms + 5 s after its last save.
  const env = {
    NATS_URL: urls.nats, REDIS_URL: urls.redis, PARTYLINE_MAP: SMALL_MAP, PARTYLINE_CLICK_RATE: '0',
    PARTYLINE_LOG_LEVEL: 'warn', PARTYLINE_SNAPSHOT_EVERY_CLICKS: '1000000', PARTYLINE_SNAPSHOT_INTERVAL_MS: '300',
  }
  const nodes = await Promise.all(['w1', 'w2'].map(async (id) => PartylineNode.create({ id, port: await freePort(), parentDir, command, env })))
  t.teardown(() => Promise.all(nodes.map((n) => n.stop())))
  await Promise.all(nodes.map((n) => n.restart()))
  let tile = 0
  const clickSome = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await tryClick(nodes[tile % 2]!.url, tile++ % TILES, 'se')
  }
  const writer = await waitFor('a node to write a snapshot', async () => {
    await clickSome(5)
    const saved = await Promise.all(nodes.map(savedBy))
    const k = saved.findIndex((s) => (s ?? 0) > 0)
    return k < 0 ? undefined : k
  }, 20_000)
  const other = nodes[1 - writer]!
  const saved = await Promise.all(nodes.map(savedBy))
  t.equal(saved[1 - writer], 0, `only ${nodes[writer]!.id} writes snapshots`)
  await nodes[writer]!.kill('SIGKILL')
  await waitFor(`${other.id} to take the writer role over`, async () => {
    for (let i = 0; i < 5; i++) await tryClick(other.url, tile++ % TILES, 'no')
    return ((await savedBy(other)) ?? 0) > 0 ? true : undefined
  }, 30_000)
  t.pass(`${other.id} writes the snapshots after ${nodes[writer]!.id} died`)
})
