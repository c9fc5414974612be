import t from 'tap'
import { HostPeer, PlayerPeer, Peer, roomWithPlayers, testServer } from '../helpers/server.js'

t.test('edge - resumes of unknown codes count toward the address throttle (4029)', async (t) => {
  const server = await testServer(t, { joinAttemptsPerMinute: 2 })
  const host = new HostPeer(server)
  await host.opened
  for (const key of ['ABCD', 'EFGH']) {
    host.command({ cmd: 'resume', key, token: 'x'.repeat(32) })
    t.equal((await host.message('error')).code, 'no_such_room')
  }
  host.command({ cmd: 'resume', key: 'JKMN', token: 'x'.repeat(32) })
  t.equal((await host.closedWith()).code, 4029)
})

t.test('edge - /CREATE/ with a trailing slash is the host endpoint too', async (t) => {
  const server = await testServer(t)
  const host = new Peer(`${server.ws}/create/`)
  await host.opened
  const h = Object.setPrototypeOf(host, HostPeer.prototype) as HostPeer
  Object.assign(h, { json: false })
  const { key } = await h.prepare()
  t.match(key, /^[A-Z]{4}$/)
})

t.test('edge - a frame bigger than the send-buffer bound reaches a player that keeps up', async (t) => {
  const server = await testServer(t, { maxBuffered: 16 * 1024 })
  const { host, players, ids } = await roomWithPlayers(server, 1)
  const big = Buffer.alloc(60 * 1024, 7)
  host.command({ cmd: 'to', to: ids, data: big })
  const got = (await (players[0] as PlayerPeer).next('the big frame')) as Buffer
  t.equal(got.length, big.length)
  t.equal(players[0]!.closed, undefined)
})
