import t from 'tap'
import { decodeUpdateNotification, encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import type { RoomControl } from '../../../src/rooms/host.js'
import { startHarness } from './harness.js'
import { click, ownerships, waitFor } from './helpers.js'

/** A RoomControl that records what the game sends. */
function recordingControl(): RoomControl & { sent: { data: Uint8Array | string; to?: readonly number[] }[] } {
  const sent: { data: Uint8Array | string; to?: readonly number[] }[] = []
  return {
    key: 'test', sent,
    start() {}, kick() {}, stop() {},
    send(data, to) { sent.push(to === undefined ? { data } : { data, to }) },
  }
}

t.test('planet room - a preset named PLANET, listed in the lobby', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  t.equal(h.planet.preset.code, 'PLANET')
  t.equal(h.planet.preset.public, true)
})

t.test('planet room - binary ClickRequests become clicks; updates from any source go to the room', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const control = recordingControl()
  const host = h.planet.preset.host(control)
  host.playerJoined(1)
  host.playerJoined(2)
  host.fromPlayer(1, encodeClickRequest({ tileId: 4, countryId: 'fr' }))
  await waitFor('the click', () => (h.planet.stats.planet.clicks === 1 ? true : undefined))
  t.same((await ownerships(h.base)).map((o) => [o.tileId, o.countryId]), [[4, 'fr']])
  await click(h.base, 5, 'de') // from HTTP
  t.equal(control.sent.length, 2, 'one send per update, for all players')
  t.same(control.sent.map((s) => s.to), [undefined, undefined])
  t.same(control.sent.map((s) => decodeUpdateNotification(s.data as Uint8Array)), [
    { tileId: 4, countryId: 'fr', previousCountryId: '' },
    { tileId: 5, countryId: 'de', previousCountryId: '' },
  ])
  t.equal(h.planet.stats.planet.updatesSent, 2)
})

t.test('planet room - text, garbage and invalid clicks are dropped and counted, never thrown', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const control = recordingControl()
  const host = h.planet.preset.host(control)
  host.playerJoined(7)
  t.doesNotThrow(() => {
    host.fromPlayer(7, 'hello')
    host.fromPlayer(7, '{"tile":1}')
    host.fromPlayer(7, Uint8Array.from([8]))
    host.fromPlayer(7, Uint8Array.from([0xff, 0xff, 0xff]))
    host.fromPlayer(7, new Uint8Array(10_000))
    host.fromPlayer(7, encodeClickRequest({ tileId: 1_000_000, countryId: 'fr' }))
    host.fromPlayer(7, encodeClickRequest({ tileId: 1, countryId: 'zz' }))
    host.fromPlayer(99, encodeClickRequest({ tileId: 1, countryId: 'fr' }))
  })
  await waitFor('the valid click', () => (h.planet.stats.planet.clicks === 1 ? true : undefined))
  const c = h.planet.stats.planet
  t.equal(c.text, 2)
  t.equal(c.undecodable, 3)
  t.equal(c.invalid, 2)
  t.equal(control.sent.length, 1)
})

t.test('planet room - nothing is sent while the room is empty', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const control = recordingControl()
  const host = h.planet.preset.host(control)
  await click(h.base, 1, 'fr')
  t.equal(control.sent.length, 0)
  host.playerJoined(1)
  host.playerLeft(1)
  await click(h.base, 2, 'fr')
  t.equal(control.sent.length, 0)
  host.playerJoined(2)
  await click(h.base, 3, 'fr')
  t.equal(control.sent.length, 1)
  host.stopped()
  await click(h.base, 4, 'fr')
  t.equal(control.sent.length, 1, 'nothing after stopped')
})
