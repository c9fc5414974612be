/**
 * Readers that stop reading a large answer (the whole map's ownerships, ~6.9 MB when every
 * tile is owned) must not pin memory without bound: the server's memory held for response
 * bodies stays under `PARTYLINE_HTTP_RESPONSE_MEMORY` (plus the read model's own current
 * body), readers past the caps are refused with a code and `Retry-After`, other clients keep
 * their answers, and the stalled sockets are cut after `PARTYLINE_HTTP_WRITE_TIMEOUT_MS`.
 *
 * Memory is measured as what matters: the bytes of ArrayBuffers alive after a full GC in
 * this process (response bodies are Buffers; the stalled clients here hold at most the
 * first chunk they read). The test never measures time.
 */
import { request } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t, { type Test } from 'tap'
import { defaultSettings, type Settings } from '../../../src/config.js'
import { MemoryEventLog } from '../../../src/games/clickplanet/event-log-memory.js'
import { defaultMapPath } from '../../../src/games/clickplanet/map.js'
import { encodeBatchRequest, encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { startServer, type PartylineServer } from '../../../src/server.js'
import { rawGet, rawPost, StalledReader } from '../../helpers/raw-http.js'
import { metricValue, scrape, until } from '../../helpers/server.js'
import { waitFor } from './helpers.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const MiB = 1024 * 1024

/** ArrayBuffer bytes alive after a full collection. */
function heldBytes(): number {
  gc()
  gc()
  return process.memoryUsage().arrayBuffers
}

/** A log in which every tile of the default map is owned, so an ownerships answer is ~6.9 MB. */
async function fullMapLog(tiles: number): Promise<MemoryEventLog> {
  const log = new MemoryEventLog()
  const countries = ['fr', 'de', 'jp', 'br', 'us', 'ke', 'in', 'au']
  for (let tile = 0; tile < tiles; tile++) {
    await log.append({ tileId: tile, countryId: countries[tile % countries.length]!, timestampNs: 1_700_000_000_000_000_000n + BigInt(tile), clickId: `seed-${tile}` })
  }
  return log
}

async function planetServer(t: Test, overrides: Partial<Settings>): Promise<PartylineServer> {
  const map = defaultMapPath()
  const { ClickPlanetMap } = await import('../../../src/games/clickplanet/map.js')
  const log = await fullMapLog(ClickPlanetMap.load(map).tileCount)
  const server = await startServer(
    defaultSettings({ port: 0, host: '127.0.0.1', logLevel: 'silent', map, clickRate: 0, ...overrides }),
    { clickplanet: { log } },
  )
  t.teardown(() => server.close())
  return server
}

/** POST a click from `localAddress` and wait for its answer. */
function clickFrom(port: number, tileId: number, localAddress: string): Promise<number> {
  const body = JSON.stringify({ data: Array.from(encodeClickRequest({ tileId, countryId: 'it' })) })
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', localAddress, method: 'POST', path: '/api/click', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** The full ownerships answer, read to the end by a client that keeps up. */
async function readOwnerships(base: string): Promise<{ status: number; bytes: number }> {
  const res = await fetch(`${base}/api/ownerships`)
  return { status: res.status, bytes: (await res.arrayBuffer()).byteLength }
}

const batchBody = (start: number, end: number): string =>
  JSON.stringify({ data: Array.from(encodeBatchRequest({ startTileId: start, endTileId: end })) })

t.test('http - stalled ownerships readers after clicks: bodies held stay under the memory setting, others are answered, stalled sockets are cut', async (t) => {
  const memory = 32 * MiB
  const server = await planetServer(t, {
    httpResponseMemory: memory,
    httpLargeResponsesPerAddress: 2,
    httpWriteTimeoutMs: 1500,
  })
  const base = server.url
  const first = await readOwnerships(base)
  t.equal(first.status, 200)
  const bodyBytes = first.bytes
  t.ok(bodyBytes > 6 * MiB, `every tile owned: the answer is ${(bodyBytes / MiB).toFixed(1)} MiB`)
  const before = heldBytes()

  // 30 readers from 15 addresses, each after its own click: 30 versions of the map.
  const readers: StalledReader[] = []
  t.teardown(() => readers.forEach((r) => r.destroy()))
  for (let i = 0; i < 30; i++) {
    const address = `127.0.0.${2 + (i % 15)}`
    t.equal(await clickFrom(server.port, i, address), 200)
    readers.push(await StalledReader.open(server.port, rawGet('/api/ownerships'), { localAddress: address }))
  }
  const held = heldBytes() - before
  // The read model keeps its current body (and builds the next one); the clients hold the
  // first chunk each read. Everything else must fit in the setting.
  const bound = memory + 2 * bodyBytes + 30 * 256 * 1024
  t.ok(held <= bound, `held for response bodies: ${(held / MiB).toFixed(1)} MiB ≤ ${(bound / MiB).toFixed(1)} MiB`)

  const served = readers.filter((r) => r.status === 200)
  const refused = readers.filter((r) => r.status !== 200)
  // Readers cut by the write timeout during the loop free their share for later ones, so
  // the number served in all depends on the machine's speed; what is held at once does not.
  t.ok(served.length >= 1, `${served.length} served`)
  t.ok(refused.length > 0, `${refused.length} refused`)
  for (const r of refused) {
    t.equal(r.status, 503, 'refused with 503')
    t.match(JSON.parse(r.bodyStart), { code: 'server_busy', error: String })
    t.match(r.header('retry-after'), /^\d+$/, 'with Retry-After')
  }

  // Everyone else keeps their answers meanwhile.
  t.equal((await fetch(`${base}/healthz`)).status, 200, '/healthz')
  t.equal((await fetch(`${base}/api/leaderboard`)).status, 200, 'leaderboard')
  const small = await fetch(`${base}/api/ownerships-by-batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batchBody(0, 999) })
  t.equal(small.status, 200, 'a small batch')

  // The stalled sockets are cut by the write timeout, and their memory goes back.
  await waitFor('the stalled answers to be cut', async () => {
    const text = await scrape(server)
    return metricValue(text, 'partyline_http_large_responses') === 0 &&
      metricValue(text, 'partyline_http_write_timeouts_total') >= served.length ? true : undefined
  }, 15_000)
  for (const r of served) {
    const length = Number(r.header('content-length'))
    t.ok(await r.readToEnd() < length, 'a cut reader got part of its body, then the connection ended')
  }
  t.equal((await readOwnerships(base)).status, 200, 'a full read is served again')
  for (const r of readers) r.destroy()
  const after = heldBytes() - before
  t.ok(after <= 2 * bodyBytes, `after the cut: ${(after / MiB).toFixed(1)} MiB held`)
})

t.test('http - one address gets at most its share of large answers (429 too_many_large_responses); readers of one version share its memory, a new one waits (503)', async (t) => {
  // A budget smaller than one body: the first is served (nothing else is held), readers of
  // the same version share it, a new version must wait.
  const server = await planetServer(t, { httpLargeResponsesPerAddress: 3, httpResponseMemory: 1024 * 1024, httpWriteTimeoutMs: 60_000 })
  const readers: StalledReader[] = []
  t.teardown(() => readers.forEach((r) => r.destroy()))
  for (let i = 0; i < 5; i++) readers.push(await StalledReader.open(server.port, rawGet('/api/ownerships'), { localAddress: '127.0.0.9' }))
  t.same(readers.map((r) => r.status), [200, 200, 200, 429, 429])
  t.match(readers[3]!.header('retry-after'), /^\d+$/)
  t.match(JSON.parse(readers[3]!.bodyStart), { code: 'too_many_large_responses', error: /large answers in flight/ })
  const other = await StalledReader.open(server.port, rawGet('/api/ownerships'), { localAddress: '127.0.0.10' })
  readers.push(other)
  t.equal(other.status, 200, 'another address is served (the same version: no more memory)')
  readers[0]!.destroy()
  await until(() => readers[0]!.closed, 'the first reader to go')
  // The server sees the close and frees that share.
  const again = await waitFor('a share freed by a closed socket', async () => {
    const r = await StalledReader.open(server.port, rawGet('/api/ownerships'), { localAddress: '127.0.0.9' })
    readers.push(r)
    return r.status === 200 ? r : (r.destroy(), undefined)
  })
  t.equal(again.status, 200, 'a share freed by a closed socket is available again')
  t.equal(await clickFrom(server.port, 5, '127.0.0.11'), 200)
  const newer = await StalledReader.open(server.port, rawGet('/api/ownerships'), { localAddress: '127.0.0.11' })
  readers.push(newer)
  t.equal(newer.status, 503, 'a new version does not fit the budget while the old one is held')
  t.match(JSON.parse(newer.bodyStart), { code: 'server_busy' })
})

t.test('http - the share of large answers is per /64: two IPv6 addresses of one /64 are one party, the next /64 another', async (t) => {
  const server = await planetServer(t, { httpLargeResponsesPerAddress: 2, httpWriteTimeoutMs: 60_000, trustProxy: true })
  const readers: StalledReader[] = []
  t.teardown(() => readers.forEach((r) => r.destroy()))
  const from = (xff: string) => rawGet('/api/ownerships').replace('\r\n\r\n', `\r\nX-Forwarded-For: ${xff}\r\n\r\n`)
  for (const xff of ['2001:db8:5:1::1', '2001:db8:5:1::2', '2001:db8:5:1:ffff::9']) readers.push(await StalledReader.open(server.port, from(xff)))
  t.same(readers.map((r) => r.status), [200, 200, 429], 'the third address of the /64 is past its share')
  const next = await StalledReader.open(server.port, from('2001:db8:5:2::1'))
  readers.push(next)
  t.equal(next.status, 200, 'the next /64 is another party')
})

t.test('http - stalled full-range ownerships-by-batch readers share one body (no click, no copy per request)', async (t) => {
  const server = await planetServer(t, { httpLargeResponsesPerAddress: 2, httpWriteTimeoutMs: 60_000 })
  const first = await fetch(`${server.url}/api/ownerships-by-batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batchBody(0, 2 ** 31 - 1) })
  t.equal(first.status, 200)
  const bodyBytes = (await first.arrayBuffer()).byteLength
  t.ok(bodyBytes > 6 * MiB)
  const before = heldBytes()
  const readers: StalledReader[] = []
  t.teardown(() => readers.forEach((r) => r.destroy()))
  for (let i = 0; i < 20; i++) {
    const address = `127.0.0.${2 + (i % 10)}`
    readers.push(await StalledReader.open(server.port, rawPost('/api/ownerships-by-batch', batchBody(0, 2 ** 31 - 1)), { localAddress: address }))
  }
  t.same(new Set(readers.map((r) => r.status)), new Set([200]), 'all 20 served')
  const held = heldBytes() - before
  t.ok(held <= 2 * bodyBytes + 20 * 256 * 1024, `20 readers hold ${(held / MiB).toFixed(1)} MiB: one shared body`)
})
