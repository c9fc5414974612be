/**
 * The PLANET room through the real server's WebSocket gateway: phones join `/PLANET` like any
 * room, send ClickRequest frames and receive every UpdateNotification.
 */
import t from 'tap'
import { decodeUpdateNotification, encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { PlayerPeer, Peer } from '../../helpers/server.js'
import { startHarness } from './harness.js'
import { click } from './helpers.js'

t.test('planet socket - a phone in /planet clicks with a binary frame; it and /ws/listen get the update', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const server = { ws: h.wsBase }
  const phone = new PlayerPeer(server, 'planet')
  const listener = new Peer(`${h.wsBase}/v2/ws/listen`)
  await Promise.all([phone.opened, listener.opened])

  const lobby = (await (await fetch(`${h.base}/api/rooms`)).json()) as { rooms: { key: string; players: number }[] }
  t.same(lobby.rooms.find((r) => r.key === 'PLANET')?.players, 1, 'PLANET is in the lobby with its player count')

  phone.send(encodeClickRequest({ tileId: 7, countryId: 'fr' }))
  const fromRoom = decodeUpdateNotification((await phone.next('update in the room')) as Buffer)
  const fromStream = decodeUpdateNotification((await listener.next('update on the stream')) as Buffer)
  t.same(fromRoom, { tileId: 7, countryId: 'fr', previousCountryId: '' })
  t.same(fromStream, fromRoom)

  phone.send('not a click')
  phone.send(Buffer.from([0xff, 0xff, 0xff]))
  phone.send(encodeClickRequest({ tileId: 7, countryId: 'zz' }))
  await click(h.base, 7, 'de')
  t.same(decodeUpdateNotification((await phone.next('update from HTTP')) as Buffer), { tileId: 7, countryId: 'de', previousCountryId: 'fr' })
  t.equal(phone.closed, undefined, 'bad frames never close the phone')
  const c = h.planet.stats.planet
  t.equal(c.text, 1)
  t.equal(c.undecodable, 1)
  t.equal(c.invalid, 1)
})
