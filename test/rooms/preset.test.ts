/**
 * Preset rooms: a room hosted by an in-process game (here the test EchoGame) through the same
 * Host interface a remote page uses, served by the real server to real WebSocket phones.
 */
import t from 'tap'
import { EchoGame } from '../helpers/echo-game.js'
import { HostPeer, PlayerPeer, httpGet, metricValue, scrape, testServer, until } from '../helpers/server.js'

t.test('preset - phones join the preset code (any case) and the in-process game answers them', async (t) => {
  const game = new EchoGame()
  const server = await testServer(t, {}, { games: [{ preset: game }] })
  const a = new PlayerPeer(server, 'echoes')
  const b = new PlayerPeer(server, 'ECHOES')
  await a.opened
  await b.opened
  await until(() => game.joined.length === 2, 'both joins')
  t.same(game.joined, [1, 2], 'ids from 1, in join order')
  a.send('hello')
  t.equal(await a.next(), 'hello', 'a text frame comes back to its sender as text')
  b.send(Buffer.from([1, 2, 3]))
  t.same(await b.next(), Buffer.from([1, 2, 3]), 'a binary frame comes back as binary')
  a.send('all')
  t.equal(await a.next(), 'all')
  t.equal(await b.next(), 'all', 'a broadcast from the game reaches every player')
  t.same(game.states.at(-1)?.players, [1, 2], 'the game saw the state with both players')
  b.close()
  await until(() => game.left.length === 1, 'the leave')
  t.same(game.left, [2])
})

t.test('preset - listed in the lobby with its player count; full → 4009', async (t) => {
  const game = new EchoGame(1)
  const server = await testServer(t, {}, { games: [{ preset: game }] })
  const a = new PlayerPeer(server, 'ECHOES')
  await a.opened
  await until(() => game.joined.length === 1, 'the join')
  const lobby = (await httpGet(server, '/api/rooms')).body as { rooms: { key: string; players: number }[] }
  t.same(lobby.rooms.find((r) => r.key === 'ECHOES'), { key: 'ECHOES', name: 'Echo', players: 1, max_players: 1, accept_conns: true })
  const late = new PlayerPeer(server, 'ECHOES')
  t.equal((await late.closedWith()).code, 4009)
})

t.test('preset - no remote host can resume it, and it outlives its players', async (t) => {
  const game = new EchoGame()
  const server = await testServer(t, {}, { games: [{ preset: game }] })
  const host = new HostPeer(server)
  await host.opened
  host.command({ cmd: 'resume', key: 'ECHOES', token: 'x'.repeat(32) })
  const refused = await host.message('error')
  t.equal(refused.code, 'no_such_room', 'a preset is not resumable')
  const a = new PlayerPeer(server, 'ECHOES')
  await a.opened
  a.close()
  await until(() => game.left.length === 1, 'the leave')
  t.ok(server.registry.get('ECHOES'), 'the room is still there with nobody in it')
  const b = new PlayerPeer(server, 'ECHOES')
  await b.opened
  b.send('again')
  t.equal(await b.next(), 'again')
})

t.test('preset - a send from inside the room handler queues in the mailbox; /metrics shows the peak', async (t) => {
  const game = new EchoGame()
  const server = await testServer(t, {}, { games: [{ preset: game }] })
  const a = new PlayerPeer(server, 'ECHOES')
  await a.opened
  await scrape(server) // reset the peak
  a.send('ping')
  t.equal(await a.next(), 'ping')
  t.equal(metricValue(await scrape(server), 'partyline_mailbox_depth_max'), 1, 'the echo waited behind the frame being handled')
  t.equal(metricValue(await scrape(server), 'partyline_mailbox_depth_max'), 0, 'the peak is per scrape')
})

t.test('preset - server.close() closes its players with 1012', async (t) => {
  const game = new EchoGame()
  const server = await testServer(t, {}, { games: [{ preset: game }] })
  const a = new PlayerPeer(server, 'ECHOES')
  await a.opened
  await server.close()
  t.equal((await a.closedWith()).code, 1012)
})
