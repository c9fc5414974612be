/**
 * The SDK's ClickPlanet client against the real server: clicks, reads, the map, errors with
 * their HTTP status, and a live stream that reconnects by itself after a drop.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { WebSocket } from 'ws'
import { decodeMapAsset } from '../../src/games/clickplanet/map-format.js'
import { type PartylineError, type PlanetUpdate } from '../../clients/js/index.js'
import { SMALL_MAP } from '../games/clickplanet/harness.js'
import { testServer, until } from '../helpers/server.js'
import { trackedSdk } from '../helpers/sdk-clients.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

const { clickPlanet, listen } = trackedSdk(t)
const planetServer = (t: Parameters<typeof testServer>[0], o = {}) => testServer(t, { clickplanet: true, map: SMALL_MAP, clickRate: 0, ...o })

t.test('clickplanet client - click, then read it back through every read route', async (t) => {
  const server = await planetServer(t)
  const planet = clickPlanet(server.url)
  const receipt = await planet.click(7, 'fr')
  t.ok(receipt.timestampNs > 0n, 'accepted at a time')
  t.ok(receipt.clickId.length > 0, 'with an id')
  await planet.click(9, 'fr')
  await planet.click(11, 'de')
  const owned = await planet.ownerships()
  t.same(owned.map((o) => [o.tileId, o.countryId]).sort((a, b) => Number(a[0]) - Number(b[0])), [[7, 'fr'], [9, 'fr'], [11, 'de']])
  t.equal(owned.find((o) => o.tileId === 7)?.timestampNs, receipt.timestampNs, 'the time of the click')
  t.same((await planet.ownershipsByBatch(8, 11)).map((o) => o.tileId).sort(), [11, 9].sort())
  t.same(await planet.ownershipsByBatch(11, 8), [], 'start past end: empty')
  t.same(await planet.leaderboard(), [{ countryId: 'fr', score: 2 }, { countryId: 'de', score: 1 }])
})

t.test('clickplanet client - the map is the server\'s, decoded the same way', async (t) => {
  const server = await planetServer(t)
  const map = await clickPlanet(server.url).map()
  const expected = decodeMapAsset(readFileSync(SMALL_MAP))
  t.same(map.countries, expected.countries)
  t.same([...map.lat], [...expected.lat])
  t.same([...map.lon], [...expected.lon])
  t.same([...map.country], [...expected.country])
  t.equal(map.spherePoints, expected.spherePoints)
})

t.test('clickplanet client - a refused click rejects with the HTTP status and the reason; 429 says when to retry', async (t) => {
  const server = await planetServer(t, { clickRate: 1, clickBurst: 1 })
  const planet = clickPlanet(server.url)
  await t.rejects(planet.click(1, 'xx'), { code: 400, reason: /country/ })
  await t.rejects(planet.click(10_000_000, 'fr'), { code: 400, reason: /tile/ })
  await planet.click(1, 'fr')
  const err = (await planet.click(2, 'fr').catch((e: unknown) => e)) as PartylineError
  t.equal(err.code, 429)
  t.ok((err.retryAfterMs ?? 0) > 0, `retry after ${err.retryAfterMs} ms`)
})

t.test('clickplanet client - listen follows every change, and comes back after the connection drops', async (t) => {
  const server = await planetServer(t)
  const proxy = await TcpProxy.start(server.port)
  t.teardown(() => proxy.close())
  const planet = clickPlanet(server.url)
  const updates: PlanetUpdate[] = []
  const live = listen(clickPlanet(proxy.ws, { WebSocket }), (u) => updates.push(u))
  await live.once('open')
  await planet.click(5, 'it')
  await until(() => updates.length === 1, 'the first update')
  t.same(updates[0], { tileId: 5, countryId: 'it', previousCountryId: '' })

  const events: string[] = []
  live.on('reconnecting', () => events.push('reconnecting'))
  live.on('reconnected', () => events.push('reconnected'))
  proxy.down()
  await until(() => live.connection === 'reconnecting', 'the drop')
  proxy.restore()
  await until(() => events.includes('reconnected'), 'the stream to come back', 10_000)
  await planet.click(5, 'es')
  await until(() => updates.length === 2, 'an update after the reconnect')
  t.same(updates[1], { tileId: 5, countryId: 'es', previousCountryId: 'it' })
  live.close()
  t.equal(live.connection, 'closed')
})
