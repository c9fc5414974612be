/**
 * Rooms across nodes: the host on one node, players on the two others, over a real
 * nats-server and redis-server. Every row of the protocol behaves as on one node.
 */
import t from 'tap'
import { CloseCode } from '../../src/errors.js'
import { HostPeer, PlayerPeer, fence, httpGet, joinPlayer, metricValue, newSid, scrape, until, type Msg } from '../helpers/server.js'
import { EchoGame } from '../helpers/echo-game.js'
import { startEngines, startNodes } from './cluster-nodes.js'

const engines = await startEngines(t)

t.test('cluster - join, from, to, broadcast and leave across nodes, as on one node', async (t) => {
  const [a, b, c] = await startNodes(t, engines, 3)
  const host = new HostPeer(a!)
  const { key } = await host.prepare({ name: 'Quiz', max_players: 4 })
  const { player: pb, id: idb } = await joinPlayer(b!, host, key)
  const { player: pc, id: idc } = await joinPlayer(c!, host, key)
  t.same([idb, idc], [1, 2], 'ids in join order, from the owner')
  pb.send('hello')
  pc.send(Buffer.from([1, 2, 3]))
  // Two nodes, two publishers: the two frames may arrive in either order.
  const [m1, m2] = [await host.message(), await host.message()].sort((x, y) => Number(x.from) - Number(y.from)) as [Msg, Msg]
  t.same([m1.cmd, m1.from, m1.data], ['from_str', 1, 'hello'])
  t.same([m2.cmd, m2.from, Buffer.from(m2.data as Uint8Array)], ['from', 2, Buffer.from([1, 2, 3])])
  host.command({ cmd: 'to_str', to: [idc], data: 'only c' })
  t.equal(await pc.next(), 'only c')
  host.command({ cmd: 'to', data: new Uint8Array([9]) })
  t.same(Buffer.from((await pb.next()) as Buffer), Buffer.from([9]), 'broadcast reaches b')
  t.same(Buffer.from((await pc.next()) as Buffer), Buffer.from([9]), 'and c')
  t.same(pb.unread(), [], 'b got nothing meant for c')
  const bridged = async (n: typeof a, side: string) => metricValue(await scrape(n!), 'partyline_bridged_connections', { side, role: 'player' })
  t.same([await bridged(a, 'port'), await bridged(b, 'door'), await bridged(c, 'door')], [2, 1, 1], '/metrics: the owner holds 2 ports, b and c a door each')
  pb.close()
  t.same(await host.message('player_left'), { cmd: 'player_left', player: idb })
  const state = await host.message('state')
  t.same(state.players, [idc])
})

t.test('cluster - refusals cross nodes with the same close codes: unknown 4004, full 4009, started 4003, kicked 4001, stopped 4002', async (t) => {
  const [a, b, c] = await startNodes(t, engines, 3)
  t.equal((await new PlayerPeer(b!, 'ZZZZ').closedWith()).code, CloseCode.NoSuchRoom, 'unknown code')
  const host = new HostPeer(a!)
  const { key } = await host.prepare({ max_players: 2 })
  const { player: p1, id: id1 } = await joinPlayer(b!, host, key)
  const { player: p2 } = await joinPlayer(c!, host, key)
  t.equal((await new PlayerPeer(c!, key).closedWith()).code, CloseCode.RoomFull, 'full')
  host.command({ cmd: 'kick', player: id1 })
  t.equal((await p1.closedWith()).code, CloseCode.Kicked, 'kicked on another node')
  await host.message('player_left')
  await host.message('state')
  host.command({ cmd: 'start' })
  t.equal((await host.message('state')).accept_conns, false)
  t.equal((await new PlayerPeer(b!, key).closedWith()).code, CloseCode.RoomStarted, 'started')
  host.command({ cmd: 'kick', player: 99 })
  t.equal((await host.message('error')).code, 'unknown_player')
  host.command({ cmd: 'stop' })
  await host.message('stop')
  t.equal((await host.closedWith()).code, CloseCode.Normal)
  t.equal((await p2.closedWith()).code, CloseCode.RoomStopped, 'stopped, on another node')
  t.equal((await new PlayerPeer(c!, key).closedWith()).code, CloseCode.NoSuchRoom, 'gone everywhere')
})

t.test('cluster - a sid keeps its id across nodes: away on one, back on another; a kicked sid stays refused', async (t) => {
  const [a, b, c] = await startNodes(t, engines, 3)
  const host = new HostPeer(a!)
  const { key } = await host.prepare()
  const sid = newSid()
  const { player, id } = await joinPlayer(b!, host, key, sid)
  player.close()
  t.same(await host.message('player_away'), { cmd: 'player_away', player: id })
  await host.message('state')
  const back = new PlayerPeer(c!, key, sid)
  await back.opened
  t.same(await host.message('player_back'), { cmd: 'player_back', player: id })
  t.same((await host.message('state')).roster, [{ id, away: false }])
  // Replaced: the same sid again, on a third node, while the first is open.
  const again = new PlayerPeer(a!, key, sid)
  await again.opened
  t.equal((await back.closedWith()).code, CloseCode.Replaced, 'the older connection is closed with 4011')
  t.same(await host.message('player_back'), { cmd: 'player_back', player: id, replaced: true })
  host.command({ cmd: 'kick', player: id })
  t.equal((await again.closedWith()).code, CloseCode.Kicked)
  t.equal((await new PlayerPeer(b!, key, sid).closedWith()).code, CloseCode.Kicked, 'a kicked sid is refused on every node')
})

t.test('cluster - the host resumes on another node: kept frames in order, a fresh token, then commands go through', async (t) => {
  const [a, b, c] = await startNodes(t, engines, 3)
  const host = new HostPeer(a!)
  const { key, token } = await host.prepare()
  const { player, id } = await joinPlayer(c!, host, key)
  host.close()
  await until(() => a!.registry.get(key)?.hostPresent === false, 'the host to be away')
  player.send('one')
  player.send('two')
  const wrong = new HostPeer(b!)
  await wrong.opened
  wrong.command({ cmd: 'resume', key, token: 'x'.repeat(22) })
  t.equal((await wrong.message('error')).code, 'bad_token', 'a wrong token is refused across nodes')
  const resumed = new HostPeer(b!)
  await resumed.opened
  // Frames still on their way to the owner when it resumes arrive after the state: the same order.
  resumed.command({ cmd: 'resume', key: key.toLowerCase(), token })
  const reply = await resumed.message('prepare_reply')
  t.equal(reply.key, key)
  t.not(reply.token, token, 'a fresh token')
  t.equal((await resumed.message('state')).players instanceof Array, true)
  const kept = [await resumed.message(), await resumed.message()]
  t.same(kept.map((m) => m.data), ['one', 'two'], 'kept frames in order')
  resumed.command({ cmd: 'to_str', data: 'back' })
  t.equal(await player.next(), 'back')
  resumed.command({ cmd: 'stop' })
  await resumed.message('stop')
  t.equal((await player.closedWith()).code, CloseCode.RoomStopped)
  t.ok(id > 0)
})

t.test('cluster - 1,000 frames each way keep their order across nodes', async (t) => {
  const [a, b] = await startNodes(t, engines, 2)
  const host = new HostPeer(a!)
  const { key } = await host.prepare()
  const { player } = await joinPlayer(b!, host, key)
  const N = 1000
  for (let i = 0; i < N; i++) player.send(`p${i}`)
  for (let i = 0; i < N; i++) host.command({ cmd: 'to_str', data: `h${i}` })
  const fromPlayer: string[] = []
  while (fromPlayer.length < N) {
    const m = await host.message()
    if (m.cmd === 'from_str') fromPlayer.push(String(m.data))
  }
  const toPlayer: string[] = []
  while (toPlayer.length < N) toPlayer.push(String(await player.next()))
  t.same(fromPlayer, Array.from({ length: N }, (_, i) => `p${i}`), 'player → host in order')
  t.same(toPlayer, Array.from({ length: N }, (_, i) => `h${i}`), 'host → player in order')
})

t.test('cluster - codes are unique under concurrent creation on every node', async (t) => {
  const nodes = await startNodes(t, engines, 3)
  const hosts = nodes.flatMap((n) => Array.from({ length: 15 }, () => new HostPeer(n)))
  const keys = await Promise.all(hosts.map(async (h) => (await h.prepare()).key))
  t.equal(new Set(keys).size, keys.length, `${keys.length} rooms, ${new Set(keys).size} codes`)
  for (const h of hosts) h.close()
})

t.test('cluster - the lobby answers the same on every node', async (t) => {
  // Each node runs its own preset room too (a game in the process, in no directory).
  const nodes = await startNodes(t, engines, 3, {}, () => ({ games: [{ preset: new EchoGame() }] }))
  const [a, b, c] = nodes
  const h1 = new HostPeer(a!)
  const { key: k1 } = await h1.prepare({ public: true, name: 'One' })
  const h2 = new HostPeer(b!)
  const { key: k2 } = await h2.prepare({ public: false, name: 'Two' })
  await joinPlayer(c!, h1, k1)
  const lobby = async (n: typeof a) => JSON.stringify((await httpGet(n!, '/api/rooms')).body)
  const expected = JSON.stringify({
    rooms: [
      { key: k1, name: 'One', players: 1, max_players: 8, accept_conns: true },
      { key: 'ECHOES', name: 'Echo', players: 0, max_players: 4, accept_conns: true },
    ],
  })
  const deadline = Date.now() + 5000
  let seen: string[] = []
  while (Date.now() < deadline) {
    seen = await Promise.all(nodes.map(lobby))
    if (seen.every((s) => s === expected)) break
    await new Promise((r) => setTimeout(r, 50))
  }
  t.same(seen, [expected, expected, expected], 'the public room, with its player, on every node')
  for (const n of nodes) {
    const r = await httpGet(n, `/api/rooms/${k2.toLowerCase()}`)
    t.same([r.status, r.body], [200, { key: k2, name: 'Two', players: 0, max_players: 8, accept_conns: true }], `${n.nodeId}: a private room by its code`)
    t.equal((await httpGet(n, '/api/rooms/QQQQ')).status, 404)
  }
})

t.test('cluster - a broadcast crosses the bus once per node that holds players', async (t) => {
  const [a, b, c] = await startNodes(t, engines, 3)
  const host = new HostPeer(a!)
  const { key } = await host.prepare({ max_players: 20 })
  const players: PlayerPeer[] = []
  for (let i = 0; i < 6; i++) players.push((await joinPlayer(i % 2 === 0 ? b! : c!, host, key)).player)
  await fence(host)
  const before = a!.bus.stats.published
  host.command({ cmd: 'to', data: new Uint8Array([7, 7]) })
  for (const p of players) t.same(Buffer.from((await p.next()) as Buffer), Buffer.from([7, 7]))
  t.equal(a!.bus.stats.published - before, 2, 'one bus message for node b, one for node c')
  const local = (await joinPlayer(a!, host, key)).player
  await fence(host)
  const before2 = a!.bus.stats.published
  host.command({ cmd: 'to', data: new Uint8Array([8]) })
  for (const p of [...players, local]) t.same(Buffer.from((await p.next()) as Buffer), Buffer.from([8]))
  t.equal(a!.bus.stats.published - before2, 2, 'a player on the owner costs no bus message')
})

t.test('cluster - a host bridged to its room: kick, start, names, a takeover (4011) and three wrong tokens (1008), across nodes', async (t) => {
  const [a, b, c] = await startNodes(t, engines, 3)
  const first = new HostPeer(a!)
  const { key, token } = await first.prepare({ max_players: 3 })
  const named = new PlayerPeer(c!, `${key}?name=Ann`)
  await named.opened
  t.same(await first.message('player_joined'), { cmd: 'player_joined', player: 1, name: 'Ann' }, 'a name crosses nodes')
  await first.message('state')
  // A resume on b while the first connection is open takes the room over.
  const second = new HostPeer(b!)
  await second.opened
  second.command({ cmd: 'resume', key, token })
  const reply = await second.message('prepare_reply')
  t.equal(reply.dropped, 0)
  t.equal((await first.closedWith()).code, CloseCode.Replaced, 'the old host connection is closed with 4011')
  const state = await second.message('state')
  t.same(state.roster, [{ id: 1, name: 'Ann', away: false }])
  const { player, id } = await joinPlayer(c!, second, key)
  second.command({ cmd: 'kick', player: id })
  t.equal((await player.closedWith()).code, CloseCode.Kicked, 'a bridged host kicks')
  await second.message('player_left')
  await second.message('state')
  second.command({ cmd: 'start' })
  t.equal((await second.message('state')).accept_conns, false, 'a bridged host starts its room')
  second.command({ cmd: 'prepare', max_players: 2 })
  t.equal((await second.message('error')).code, 'already_prepared')
  second.command({ cmd: 'to', to: [1], data: 'bytes-as-text' })
  t.equal((await second.message('error')).code, 'invalid_field', 'refusals are answered on the edge, in order')
  // Three wrong tokens on one connection, against a room on another node: 1008.
  const guesser = new HostPeer(c!)
  await guesser.opened
  for (let i = 0; i < 3; i++) guesser.command({ cmd: 'resume', key, token: `${'y'.repeat(21)}${i}` })
  t.equal((await guesser.message('error')).code, 'bad_token')
  t.equal((await guesser.message('error')).code, 'bad_token')
  t.equal((await guesser.closedWith()).code, CloseCode.PolicyViolation)
  second.close()
  await until(() => a!.registry.get(key)?.hostPresent === false, 'the bridged host to be away on the owner')
})

t.test('cluster - JSON hosts, byte arrays, unknown and repeated ids, and frame limits, across nodes', async (t) => {
  const [a, b, c] = await startNodes(t, engines, 3)
  const json = new HostPeer(a!, true)
  const { key } = await json.prepare()
  const { player: pb, id: idb } = await joinPlayer(b!, json, key)
  pb.send(Buffer.from([0xde, 0xad]))
  t.same(await json.message('from'), { cmd: 'from', from: idb, data: Buffer.from([0xde, 0xad]).toString('base64') }, 'bytes from another node reach a JSON host as base64')
  json.command({ cmd: 'to', to: [idb], data: Buffer.from('hi').toString('base64') })
  t.same(Buffer.from((await pb.next()) as Buffer), Buffer.from('hi'))
  const cbor = new HostPeer(a!)
  const { key: k2 } = await cbor.prepare()
  const { player: pc, id: idc } = await joinPlayer(c!, cbor, k2)
  cbor.command({ cmd: 'to', to: [idc, 77, idc], data: [1, 2, 255] })
  t.same(Buffer.from((await pc.next()) as Buffer), Buffer.from([1, 2, 255]), 'an array of integers, once for a repeated id, unknown ids skipped')
  await fence(cbor)
  t.same(pc.unread(), [], 'sent once')
  pc.send('x'.repeat(64 * 1024 + 1))
  t.equal((await pc.closedWith()).code, CloseCode.MessageTooBig, 'a player frame over the limit: 1009 on its own node')
  t.same(await cbor.message('player_left'), { cmd: 'player_left', player: idc })
})
