import { Registry } from 'prom-client'
import t from 'tap'
import { registerClickPlanetMetrics } from '../../../src/games/clickplanet/index.js'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import type { RoomControl } from '../../../src/rooms/host.js'
import { startHarness } from './harness.js'
import { click, Listener, ownerships, postBytes, waitFor } from './helpers.js'

/** `name{labels} value` lines of the Prometheus text, as a map. */
async function scrape(registry: Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const line of (await registry.metrics()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

t.test('metrics - ClickPlanet counters are read from its stats at scrape time', async (t) => {
  const h = await startHarness({ clickRate: 1, clickBurst: 2 })
  t.teardown(() => h.close())
  const registry = new Registry()
  registerClickPlanetMetrics(registry, h.planet)
  const before = await scrape(registry)
  t.equal(before.get('partyline_clickplanet_clicks_total{outcome="accepted"}'), 0)
  t.equal(before.get('partyline_clickplanet_log_position'), 0)

  const listener = await Listener.open(`${h.wsBase}/ws/listen`)
  t.teardown(() => listener.close())
  await click(h.base, 1, 'fr')
  await click(h.base, 2, 'de')
  const limited = await postBytes(`${h.base}/api/click`, encodeClickRequest({ tileId: 3, countryId: 'fr' }))
  t.equal(limited.status, 429)
  const invalid = await postBytes(`${h.base}/api/click`, encodeClickRequest({ tileId: 1, countryId: 'zz' }))
  t.equal(invalid.status, 400)
  await ownerships(h.base)
  const control: RoomControl = { key: 'k', start() {}, kick() {}, stop() {}, send() {} }
  const room = h.planet.preset.host(control)
  room.playerJoined(1)
  room.fromPlayer(1, 'text')
  room.fromPlayer(1, Uint8Array.from([0xff]))
  room.fromPlayer(1, encodeClickRequest({ tileId: 1, countryId: 'zz' }))
  room.fromPlayer(1, encodeClickRequest({ tileId: 4, countryId: 'fr' })) // a token of its own: a new address
  await waitFor('the PLANET click', () => (h.planet.stats.planet.clicks === 1 ? true : undefined))
  await listener.waitCount(3)

  const m = await scrape(registry)
  t.same([
    m.get('partyline_clickplanet_clicks_total{outcome="accepted"}'),
    m.get('partyline_clickplanet_clicks_total{outcome="invalid"}'),
    m.get('partyline_clickplanet_clicks_total{outcome="rate_limited"}'),
    m.get('partyline_clickplanet_clicks_total{outcome="failed"}'),
  ], [3, 2, 1, 0], 'clicks by outcome, HTTP and PLANET together')
  t.equal(m.get('partyline_clickplanet_planet_frames_dropped_total{reason="text"}'), 1)
  t.equal(m.get('partyline_clickplanet_planet_frames_dropped_total{reason="undecodable"}'), 1)
  t.equal(m.get('partyline_clickplanet_planet_frames_dropped_total{reason="invalid"}'), 1)
  t.equal(m.get('partyline_clickplanet_planet_updates_total'), 1, 'one update reached the room after its player joined')
  t.equal(m.get('partyline_clickplanet_listeners'), 1)
  t.equal(m.get('partyline_clickplanet_listener_frames_total'), 3)
  t.equal(m.get('partyline_clickplanet_listeners_dropped_total'), 0)
  t.equal(m.get('partyline_clickplanet_log_position'), 3)
  t.equal(m.get('partyline_clickplanet_snapshot_position'), 0)
  t.equal(m.get('partyline_clickplanet_projection_stopped'), 0)
  t.equal(m.get('partyline_clickplanet_ownerships_rebuilds_total'), 1)
  t.ok((m.get('partyline_clickplanet_ownerships_rebuild_block_seconds') ?? -1) >= 0)
})
