/**
 * The host protocol (spec part 1 and the host fields of part 2) against a real server:
 * every row of the host tables, every refusal, ids, JSON mode, the lobby and operations.
 */
import t from 'tap'
import {
  fence,
  httpGet,
  HostPeer,
  joinPlayer,
  metricValue,
  newSid,
  PlayerPeer,
  roomWithPlayers,
  scrape,
  testServer,
  until,
  type Msg,
} from '../helpers/server.js'
import type { PartylineServer } from '../../src/server.js'

const ids = (m: Msg): number[] => m.players as number[]

/** The lobby's rooms, leaving out the server's own preset rooms (ClickPlanet). */
async function lobbyRooms(server: PartylineServer & { url: string }): Promise<Record<string, unknown>[]> {
  const { rooms } = (await httpGet(server, '/api/rooms')).body as { rooms: Record<string, unknown>[] }
  return rooms.filter((r) => server.registry.get(String(r.key))?.isPreset !== true)
}

t.test('protocol - prepare answers prepare_reply with key and token, then state', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key, token, state } = await host.prepare({ max_players: 4, name: 'Quiz' })
  t.match(key, /^[ABCDEFGHJKMNPQRSTUVWXYZ]{4}$/)
  t.ok(token.length >= 22 && /^[A-Za-z0-9_-]+$/.test(token), 'token: 22+ URL-safe characters')
  t.same(state, { cmd: 'state', name: 'Quiz', players: [], max_players: 4, accept_conns: true, roster: [] })
})

t.test('protocol - prepare without a name has name "" in state, and is not public by default', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key, state } = await host.prepare({ max_players: 3 })
  t.same(state, { cmd: 'state', name: '', players: [], max_players: 3, accept_conns: true, roster: [] })
  t.same(await lobbyRooms(server), [], 'a room is private unless prepared with public: true')
  const one = await httpGet(server, `/api/rooms/${key}`)
  t.same(one.body, { key, name: '', players: 0, max_players: 3, accept_conns: true })
})

t.test('protocol - prepare with public: true lists the room in the lobby under its name', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare({ max_players: 5, name: 'Lobby quiz', public: true })
  t.same(await lobbyRooms(server), [{ key, name: 'Lobby quiz', players: 0, max_players: 5, accept_conns: true }])
})

t.test('protocol - player frames reach the host as from / from_str; to and to_str reach players bare', async (t) => {
  const server = await testServer(t)
  const { host, players, ids } = await roomWithPlayers(server, 2)
  const [a, b] = players as [PlayerPeer, PlayerPeer]
  a.send('hello')
  a.send(Buffer.from([9, 8, 7]))
  t.same(await host.message('from_str'), { cmd: 'from_str', from: ids[0], data: 'hello' })
  const from = await host.message('from')
  t.equal(from.from, ids[0])
  t.same([...(from.data as Uint8Array)], [9, 8, 7])
  host.command({ cmd: 'to', to: [ids[1]], data: Buffer.from([1, 2, 3]) })
  host.command({ cmd: 'to', to: [ids[1]], data: [4, 5, 255] })
  host.command({ cmd: 'to_str', data: 'everyone' })
  t.same([...((await b.next()) as Buffer)], [1, 2, 3], 'byte string data')
  t.same([...((await b.next()) as Buffer)], [4, 5, 255], 'int array data (original JS host)')
  t.equal(await b.next(), 'everyone', 'to_str without `to` broadcasts')
  t.equal(await a.next(), 'everyone')
  t.same(a.unread(), [], 'a got nothing addressed to b')
})

t.test('protocol - to without `to` broadcasts one binary frame to each player; to_str with `to` reaches only those listed', async (t) => {
  const server = await testServer(t)
  const { host, players, ids } = await roomWithPlayers(server, 3)
  const [a, b, c] = players as [PlayerPeer, PlayerPeer, PlayerPeer]
  host.command({ cmd: 'to', data: Buffer.from([42]) })
  for (const p of players) t.same([...((await p.next()) as Buffer)], [42], 'binary broadcast')
  host.command({ cmd: 'to_str', to: [ids[0], ids[2]], data: 'a and c' })
  host.command({ cmd: 'to_str', to: [ids[1]], data: 'b only' })
  t.equal(await a.next(), 'a and c')
  t.equal(await c.next(), 'a and c')
  t.equal(await b.next(), 'b only', 'b got its own frame and not the one for a and c')
  t.same([...a.unread(), ...c.unread()], [])
})

t.test('protocol - unknown ids in `to` are skipped silently: listed players still get the frame, no error', async (t) => {
  const server = await testServer(t)
  const { host, players, ids } = await roomWithPlayers(server, 1)
  const a = players[0]!
  host.command({ cmd: 'to_str', to: [999, ids[0], 12345], data: 'still here' })
  host.command({ cmd: 'to', to: [777], data: [1] })
  t.equal(await a.next(), 'still here')
  t.same(await fence(host), [], 'no error and nothing else for the unknown ids')
  t.same(a.unread(), [])
})

t.test('protocol - a `to` naming a player many times sends it one frame; a list longer than a room can be is refused whole', async (t) => {
  const server = await testServer(t)
  const { host, players, ids } = await roomWithPlayers(server, 2)
  const [a, b] = players as [PlayerPeer, PlayerPeer]
  host.command({ cmd: 'to_str', to: [...new Array<number>(100).fill(ids[0]!)], data: 'once' })
  host.command({ cmd: 'to', to: [ids[1]!, ids[0]!, ids[1]!, ids[0]!], data: [7] })
  t.same(await fence(host), [], 'no error')
  host.command({ cmd: 'to_str', data: 'marker' })
  t.same([await a.next(), [...((await a.next()) as Buffer)], await a.next()], ['once', [7], 'marker'], 'a: one frame per send')
  t.same([[...((await b.next()) as Buffer)], await b.next()], [[7], 'marker'], 'b: one frame per send')
  const sentBefore = server.metrics.frames.out
  // 300,000 ids once sent 300,000 frames and held the server's loop for a third of a second.
  host.command({ cmd: 'to_str', to: new Array<number>(300_000).fill(ids[0]!), data: 'flood' })
  const err = await host.message('error')
  t.equal(err.code, 'invalid_field')
  t.match(err.reason, /to_str: to lists 300000 ids; a room holds at most 100 players/)
  t.equal(server.metrics.frames.out, sentBefore + 1, 'nothing sent but the error')
  t.same([...a.unread(), ...b.unread()], [])
})

t.test('protocol - a frame past the structure limits is error too_complex and nothing else happens', async (t) => {
  const server = await testServer(t)
  const { host, players } = await roomWithPlayers(server, 1)
  const big = Buffer.concat([Buffer.from([0xba, 0x00, 0x01, 0xd4, 0xc0]), Buffer.alloc(240_000, 0x00)])
  host.send(big)
  const err = await host.message('error')
  t.equal(err.code, 'too_complex', 'a map of 120,000 entries')
  t.match(err.reason, /more than 64 map entries/)
  host.command({ cmd: 'to_str', data: [['x']], extra: Array.from({ length: 70 }, () => []) })
  t.equal((await host.message('error')).code, 'too_complex', 'more than 64 arrays')
  const json = new HostPeer(server, true)
  await json.opened
  json.send(`{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":0`).join(',')}}`)
  t.equal((await json.message('error')).code, 'too_complex', 'JSON mode: an object of 20,000 members')
  t.same(players[0]!.unread(), [])
  host.command({ cmd: 'to_str', data: 'fine' })
  t.equal(await players[0]!.next(), 'fine', 'the connection stays usable')
})

t.test('protocol - start answers state with accept_conns false; new players are refused with 4003, current ones keep playing', async (t) => {
  const server = await testServer(t)
  const { host, key, players, ids } = await roomWithPlayers(server, 1)
  host.command({ cmd: 'start' })
  const state = await host.message('state')
  t.same(state, { cmd: 'state', name: '', players: ids, max_players: 8, accept_conns: false, roster: ids.map((id) => ({ id, away: false })) })
  const late = new PlayerPeer(server, key)
  const closed = await late.closedWith()
  t.equal(closed.code, 4003)
  t.ok(closed.reason.length > 0, 'with a reason')
  t.same(await fence(host), [], 'the refused player was never announced')
  players[0]!.send('after start')
  t.same(await host.message('from_str'), { cmd: 'from_str', from: ids[0], data: 'after start' })
  t.equal(((await httpGet(server, `/api/rooms/${key}`)).body as { accept_conns: boolean }).accept_conns, false)
})

t.test('protocol - kick closes that player with 4001, then player_left and state follow', async (t) => {
  const server = await testServer(t)
  const { host, players, ids: joined } = await roomWithPlayers(server, 2)
  const [a, b] = players as [PlayerPeer, PlayerPeer]
  host.command({ cmd: 'kick', player: joined[0] })
  t.same(await host.message('player_left'), { cmd: 'player_left', player: joined[0] })
  t.same(ids(await host.message('state')), [joined[1]])
  const closed = await a.closedWith()
  t.equal(closed.code, 4001)
  t.ok(closed.reason.length > 0)
  host.command({ cmd: 'to_str', data: 'left' })
  t.equal(await b.next(), 'left', 'the other player stays')
  t.same(await fence(host), [], 'no second player_left when the kicked socket closes')
})

t.test('protocol - kick of an unknown id is error unknown_player and nothing changes', async (t) => {
  const server = await testServer(t)
  const { host, key, players, ids: joined } = await roomWithPlayers(server, 1)
  host.command({ cmd: 'kick', player: 999 })
  const err = await host.message('error')
  t.equal(err.code, 'unknown_player')
  t.match(err.reason, /999/)
  t.same(await fence(host), [], 'no player_left, no state')
  t.equal(players[0]!.closed, undefined, 'the player is still connected')
  host.command({ cmd: 'to_str', to: joined, data: 'still in' })
  t.equal(await players[0]!.next(), 'still in')
  t.equal(((await httpGet(server, `/api/rooms/${key}`)).body as { players: number }).players, 1)
})

t.test('protocol - stop closes every player with 4002, answers stop and closes the host with 1000', async (t) => {
  const server = await testServer(t)
  const { host, key, players } = await roomWithPlayers(server, 2)
  host.command({ cmd: 'stop' })
  t.same(await host.message('stop'), { cmd: 'stop' })
  const hostClosed = await host.closedWith()
  t.equal(hostClosed.code, 1000)
  t.ok(hostClosed.reason.length > 0)
  for (const p of players) {
    const c = await p.closedWith()
    t.equal(c.code, 4002)
    t.ok(c.reason.length > 0)
  }
  t.equal((await httpGet(server, `/api/rooms/${key}`)).status, 404, 'the room is gone')
  const late = new PlayerPeer(server, key)
  t.equal((await late.closedWith()).code, 4004)
})

t.test('protocol - player ids are positive, unique and never reused while the room lives (join, leave, join)', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare({ max_players: 2 })
  const first = await joinPlayer(server, host, key)
  const second = await joinPlayer(server, host, key)
  t.ok(first.id > 0 && second.id > 0, 'positive')
  t.not(first.id, second.id, 'unique')
  first.player.close()
  t.same(await host.message('player_left'), { cmd: 'player_left', player: first.id })
  t.same(ids(await host.message('state')), [second.id])
  const third = await joinPlayer(server, host, key)
  t.notOk([first.id, second.id].includes(third.id), `a new id (${third.id}), not the freed ${first.id}`)
  t.ok(third.id > 0)
})

t.test('protocol - joining is case-insensitive: /kqzt is /KQZT', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const { player, id } = await joinPlayer(server, host, key.toLowerCase())
  player.send('lower')
  t.same(await host.message('from_str'), { cmd: 'from_str', from: id, data: 'lower' })
  const mixed = new PlayerPeer(server, key[0]!.toLowerCase() + key.slice(1))
  await mixed.opened
  t.equal((await host.message('player_joined')).cmd, 'player_joined')
})

t.test('protocol - refusals before prepare: error with a specific code and reason, and the connection then prepares', async (t) => {
  const server = await testServer(t, { maxPlayers: 10 })
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['unknown cmd', { cmd: 'dance' }, 'unknown_command', /dance/],
    ['missing cmd', { max_players: 4 }, 'unknown_command', /cmd/],
    ['cmd not text', { cmd: 7 }, 'unknown_command', /cmd/],
    ['missing max_players', { cmd: 'prepare' }, 'invalid_field', /max_players is required/],
    ['max_players as text', { cmd: 'prepare', max_players: '4' }, 'invalid_field', /max_players/],
    ['max_players not whole', { cmd: 'prepare', max_players: 2.5 }, 'invalid_field', /max_players/],
    ['max_players 0', { cmd: 'prepare', max_players: 0 }, 'invalid_field', /max_players.*1 to 10/],
    ['max_players over the bound', { cmd: 'prepare', max_players: 11 }, 'invalid_field', /max_players.*1 to 10/],
    ['name not text', { cmd: 'prepare', max_players: 4, name: 5 }, 'invalid_field', /name/],
    ['public not a bool', { cmd: 'prepare', max_players: 4, public: 'yes' }, 'invalid_field', /public/],
    ['start before prepare', { cmd: 'start' }, 'not_prepared', /start/],
    ['kick before prepare', { cmd: 'kick', player: 1 }, 'not_prepared', /kick/],
    ['stop before prepare', { cmd: 'stop' }, 'not_prepared', /stop/],
    ['to before prepare', { cmd: 'to', data: Buffer.from([1]) }, 'not_prepared', /to/],
    ['to_str before prepare', { cmd: 'to_str', data: 'x' }, 'not_prepared', /to_str/],
    ['resume without token', { cmd: 'resume', key: 'ABCD' }, 'invalid_field', /token is required/],
  ]
  const host = new HostPeer(server)
  await host.opened
  for (const [what, message, code, reason] of cases) {
    host.command(message)
    const err = await host.message('error')
    t.equal(err.code, code, `${what}: ${code}`)
    t.match(err.reason, reason, `${what}: the reason says why`)
  }
  host.send('{"cmd":"prepare","max_players":4}')
  const wrong = await host.message('error')
  t.equal(wrong.code, 'wrong_frame_type', 'a text frame on a CBOR session')
  t.match(wrong.reason, /CBOR|binary/)
  t.equal(host.closed, undefined, 'still open after every refusal')
  const { key, state } = await host.prepare({ max_players: 10 })
  t.match(key, /^[A-Z]{4}$/, 'the same connection then prepares')
  t.equal(state.max_players, 10, 'max_players at the bound is accepted')
})

t.test('protocol - refusals in a prepared room: error with a specific code and reason, nothing changes, the room keeps relaying', async (t) => {
  const server = await testServer(t)
  const { host, key, token, players, ids: joined } = await roomWithPlayers(server, 1)
  const id = joined[0]!
  const cases: [string, Record<string, unknown> | string, string, RegExp][] = [
    ['second prepare', { cmd: 'prepare', max_players: 3, name: 'Other' }, 'already_prepared', new RegExp(key)],
    ['resume on a connection with a room', { cmd: 'resume', key, token }, 'already_prepared', /resume/],
    ['kick without player', { cmd: 'kick' }, 'invalid_field', /player is required/],
    ['kick with a text id', { cmd: 'kick', player: String(id) }, 'invalid_field', /player/],
    ['to without data', { cmd: 'to', to: [id] }, 'invalid_field', /data is required/],
    ['to with text data (bytes due)', { cmd: 'to', to: [id], data: 'text' }, 'invalid_field', /data must be bytes.*to_str/],
    ['to_str with byte data (text due)', { cmd: 'to_str', to: [id], data: Buffer.from('x') }, 'invalid_field', /data must be text/],
    ['to_str with int array data (text due)', { cmd: 'to_str', to: [id], data: [104, 105] }, 'invalid_field', /data must be text/],
    ['an int over 255 in data', { cmd: 'to', to: [id], data: [1, 256] }, 'invalid_field', /data.*element 1/],
    ['a negative int in data', { cmd: 'to', to: [id], data: [-1] }, 'invalid_field', /data.*element 0/],
    ['a map in data', { cmd: 'to', to: [id], data: { a: 1 } }, 'invalid_field', /data must be bytes/],
    ['a map inside the data array', { cmd: 'to', to: [id], data: [1, { a: 1 }] }, 'invalid_field', /data.*element 1/],
    ['to that is not an array', { cmd: 'to_str', to: id, data: 'x' }, 'invalid_field', /to must be an array/],
    ['to with a text id', { cmd: 'to_str', to: [String(id)], data: 'x' }, 'invalid_field', /to\.0/],
    ['unknown cmd', { cmd: 'from' }, 'unknown_command', /from/],
    ['a text frame on a CBOR session', '{"cmd":"start"}', 'wrong_frame_type', /CBOR|binary/],
  ]
  for (const [what, message, code, reason] of cases) {
    if (typeof message === 'string') host.send(message)
    else host.command(message)
    const err = await host.message('error')
    t.equal(err.code, code, `${what}: ${code}`)
    t.match(err.reason, reason, `${what}: the reason says why`)
  }
  t.same(await fence(host), [], 'no state, no player_left: nothing changed')
  t.same(players[0]!.unread(), [], 'no refused frame reached the player')
  t.equal(players[0]!.closed, undefined)
  t.same((await httpGet(server, `/api/rooms/${key}`)).body, { key, name: '', players: 1, max_players: 8, accept_conns: true })
  host.command({ cmd: 'to', to: [id], data: [7] })
  t.same([...((await players[0]!.next()) as Buffer)], [7], 'the connection is still usable')
  players[0]!.send('and back')
  t.same(await host.message('from_str'), { cmd: 'from_str', from: id, data: 'and back' })
})

t.test('protocol - past PARTYLINE_ROOMS_PER_MINUTE, prepare is error rate_limited; the connection stays and other addresses are not affected', async (t) => {
  const server = await testServer(t, { roomsPerMinute: 2 })
  for (let i = 0; i < 2; i++) await new HostPeer(server).prepare()
  const third = new HostPeer(server)
  await third.opened
  third.command({ cmd: 'prepare', max_players: 4 })
  const refused = await third.message('error')
  t.equal(refused.code, 'rate_limited')
  t.match(refused.reason, /too many rooms/)
  t.equal(third.closed, undefined, 'the connection stays open')
  t.equal(server.registry.size, 2, 'no room was made')
  // Another client address (through a proxy the server trusts) still creates rooms.
  const proxied = await testServer(t, { roomsPerMinute: 1, trustProxy: true })
  await new HostPeer(proxied, false, { headers: { 'x-forwarded-for': '203.0.113.1' } }).prepare()
  const other = await new HostPeer(proxied, false, { headers: { 'x-forwarded-for': '203.0.113.2' } }).prepare()
  t.match(other.key, /^[A-Z]{4}$/, 'a second address has its own allowance')
  // Only the entry the trusted proxy appended counts: a forged left-most entry dodges nothing.
  await new HostPeer(proxied, false, { headers: { 'x-forwarded-for': 'forged-1, 203.0.113.3' } }).prepare()
  const forger = new HostPeer(proxied, false, { headers: { 'x-forwarded-for': 'forged-2, 203.0.113.3' } })
  await forger.opened
  forger.command({ cmd: 'prepare', max_players: 4 })
  t.equal((await forger.message('error')).code, 'rate_limited', 'the same proxied address, whatever the client wrote before it')
})

t.test('protocol - past PARTYLINE_ROOMS_PER_MINUTE_TOTAL, prepare is error rate_limited from every address', async (t) => {
  const server = await testServer(t, { roomsPerMinuteTotal: 2, trustProxy: true })
  const from = (address: string) => new HostPeer(server, false, { headers: { 'x-forwarded-for': address } })
  await from('203.0.113.1').prepare()
  await from('203.0.113.2').prepare()
  const third = from('203.0.113.3')
  await third.opened
  third.command({ cmd: 'prepare', max_players: 4 })
  const refused = await third.message('error')
  t.equal(refused.code, 'rate_limited')
  t.match(refused.reason, /too many rooms are being created on this server/)
  t.equal(third.closed, undefined, 'the connection stays open')
  t.equal(server.registry.size, 2, 'no room was made')
})

t.test('protocol - JSON mode: /CREATE?format=json speaks JSON text frames, bytes as base64 both ways', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server, true)
  await host.opened
  host.command({ cmd: 'prepare', max_players: 2, name: 'Script' })
  const replyFrame = await host.next('prepare_reply')
  t.type(replyFrame, 'string', 'a text frame')
  const reply = JSON.parse(replyFrame as string) as Msg
  t.equal(reply.cmd, 'prepare_reply')
  const key = String(reply.key)
  t.same(await host.message('state'), { cmd: 'state', name: 'Script', players: [], max_players: 2, accept_conns: true, roster: [] })
  const { player, id } = await joinPlayer(server, host, key)

  player.send(Buffer.from([0, 1, 254, 255]))
  t.same(await host.message('from'), { cmd: 'from', from: id, data: Buffer.from([0, 1, 254, 255]).toString('base64') })
  player.send('text stays text')
  t.same(await host.message('from_str'), { cmd: 'from_str', from: id, data: 'text stays text' })

  host.command({ cmd: 'to', to: [id], data: Buffer.from([200, 100, 0]).toString('base64') })
  t.same([...((await player.next()) as Buffer)], [200, 100, 0], 'base64 data arrives as bytes')
  host.command({ cmd: 'to', data: [5, 6] })
  t.same([...((await player.next()) as Buffer)], [5, 6], 'the int array form works in JSON too')

  host.command({ cmd: 'to', to: [id], data: 'not base64!' })
  const bad = await host.message('error')
  t.equal(bad.code, 'invalid_field')
  t.match(bad.reason, /base64/)
  host.send(Buffer.from([0xa1, 0x63, 0x63, 0x6d, 0x64, 0x65, 0x73, 0x74, 0x61, 0x72, 0x74]))
  const binary = await host.message('error')
  t.equal(binary.code, 'wrong_frame_type', 'a binary frame on a JSON session')
  host.send('{"cmd":')
  t.equal((await host.message('error')).code, 'malformed_frame')
  host.command({ cmd: 'to_str', to: [id], data: 'still usable' })
  t.equal(await player.next(), 'still usable')
})

t.test('lobby - GET /api/rooms lists only public rooms, players as a count, name "" when none', async (t) => {
  const server = await testServer(t)
  const pub = await roomWithPlayers(server, 2, { public: true, max_players: 6 })
  const unnamed = new HostPeer(server)
  const { key: unnamedKey } = await unnamed.prepare({ public: true, max_players: 2 })
  const hidden = new HostPeer(server)
  const { key: hiddenKey } = await hidden.prepare({ name: 'Secret' })
  const res = await httpGet(server, '/api/rooms')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /application\/json/)
  t.ok(Array.isArray((res.body as { rooms: unknown }).rooms))
  const rooms = await lobbyRooms(server)
  const byKey = new Map(rooms.map((r) => [r.key, r]))
  t.same(byKey.get(pub.key), { key: pub.key, name: '', players: 2, max_players: 6, accept_conns: true })
  t.same(byKey.get(unnamedKey), { key: unnamedKey, name: '', players: 0, max_players: 2, accept_conns: true })
  t.notOk(byKey.has(hiddenKey), 'a private room is not listed')
  t.equal(rooms.length, 2)
})

t.test('lobby - GET /api/rooms/<code> answers any room, case-insensitively, and 404 for an unknown code', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare({ name: 'Private', max_players: 3 })
  await joinPlayer(server, host, key)
  host.command({ cmd: 'start' })
  await host.message('state')
  const expected = { key, name: 'Private', players: 1, max_players: 3, accept_conns: false }
  t.same((await httpGet(server, `/api/rooms/${key}`)).body, expected, 'a private room by its code')
  t.same((await httpGet(server, `/api/rooms/${key.toLowerCase()}`)).body, expected, 'lower case')
  const unknown = await httpGet(server, `/api/rooms/${key === 'ZZZZ' ? 'YYYY' : 'ZZZZ'}`)
  t.equal(unknown.status, 404)
})

t.test('operations - GET /healthz answers 200 while serving', async (t) => {
  const server = await testServer(t)
  const res = await httpGet(server, '/healthz')
  t.equal(res.status, 200)
})

t.test('operations - /metrics exposes every metric family and the counts follow the traffic', async (t) => {
  const server = await testServer(t)
  const families = [
    'partyline_connections',
    'partyline_rooms',
    'partyline_frames_total',
    'partyline_bytes_total',
    'partyline_drops_total',
    'partyline_closes_total',
    'partyline_mailbox_depth_max',
  ]
  const empty = await scrape(server)
  for (const f of families) t.match(empty, new RegExp(`^# TYPE ${f} (gauge|counter)$`, 'm'), `family ${f}`)
  const presets = metricValue(empty, 'partyline_rooms')

  const sid = newSid()
  const { host, key, players, ids: joined } = await roomWithPlayers(server, 2)
  const held = await joinPlayer(server, host, key, sid)
  const before = await scrape(server)
  t.equal(metricValue(before, 'partyline_rooms'), presets + 1)
  t.equal(metricValue(before, 'partyline_connections', { role: 'host' }), 1)
  t.equal(metricValue(before, 'partyline_connections', { role: 'player' }), 3)

  for (let i = 0; i < 5; i++) players[0]!.send('x'.repeat(100))
  for (let i = 0; i < 5; i++) await host.message('from_str')
  host.command({ cmd: 'kick', player: joined[1] })
  await host.message('player_left')
  await host.message('state')
  await players[1]!.closedWith()
  held.player.close()
  await held.player.closedWith()
  await until(() => server.metrics.connections.player === 1, 'the held player to be gone')
  host.command({ cmd: 'to_str', to: [held.id], data: 'to a held place' })
  await fence(host)

  const after = await scrape(server)
  t.ok(metricValue(after, 'partyline_frames_total', { direction: 'in' }) >= metricValue(before, 'partyline_frames_total', { direction: 'in' }) + 5, 'frames in')
  t.ok(metricValue(after, 'partyline_frames_total', { direction: 'out' }) >= metricValue(before, 'partyline_frames_total', { direction: 'out' }) + 5, 'frames out')
  t.ok(metricValue(after, 'partyline_bytes_total', { direction: 'in' }) >= metricValue(before, 'partyline_bytes_total', { direction: 'in' }) + 500, 'bytes in')
  t.equal(metricValue(after, 'partyline_closes_total', { code: '4001' }), 1, 'one kick')
  t.equal(metricValue(after, 'partyline_drops_total', { reason: 'player-away' }), 1, 'one frame for a held place dropped')
  t.equal(metricValue(after, 'partyline_connections', { role: 'player' }), 1)
  t.equal(metricValue(after, 'partyline_mailbox_depth_max'), 0, 'nothing queued behind a handled event since the last scrape')
})
