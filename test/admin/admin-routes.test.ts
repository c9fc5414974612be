/**
 * The admin API against a real server: off without a token, 401 without the right one, the
 * room listed with its players, names and figures, and start, kick and stop carried out
 * through the room's mailbox (the players and the host see what a host's own command
 * does), each logged without its body or the token.
 */
import t from 'tap'
import { Writable } from 'node:stream'
import pino from 'pino'
import { SMALL_MAP } from '../games/clickplanet/harness.js'
import { HostPeer, PlayerPeer, httpGet, testServer } from '../helpers/server.js'

const TOKEN = 'test-admin-token-0123456789'

function api(server: { url: string }, method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Response> {
  return fetch(server.url + path, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  })
}

/** A logger whose lines the test reads. */
function capturedLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

t.test('admin - without PARTYLINE_ADMIN_TOKEN the view and the API are not there (404)', async (t) => {
  const server = await testServer(t)
  t.equal((await httpGet(server, '/admin')).status, 404)
  t.equal((await api(server, 'GET', '/api/admin/rooms')).status, 404)
  t.equal((await api(server, 'POST', '/api/admin/rooms/ABCD/stop', {})).status, 404)
})

t.test('admin - the API needs the bearer token: none or another is 401', async (t) => {
  const server = await testServer(t, { adminToken: TOKEN })
  for (const token of [null, 'wrong-token-but-long-enough', `${TOKEN}x`, '']) {
    const res = await api(server, 'GET', '/api/admin/rooms', undefined, token)
    t.equal(res.status, 401, `token ${JSON.stringify(token)}`)
    t.match(res.headers.get('www-authenticate'), /^Bearer/)
    t.same(((await res.json()) as { code: string }).code, 'unauthorized')
  }
  const kick = await api(server, 'POST', '/api/admin/rooms/ABCD/kick', { player: 1 }, null)
  t.equal(kick.status, 401, 'an action without the token changes nothing')
})

t.test('admin - the rooms with their players, names, presence and figures', async (t) => {
  const server = await testServer(t, { adminToken: TOKEN, playerGraceMs: 10_000 })
  const host = new HostPeer(server)
  const { key } = await host.prepare({ name: 'Quiz', max_players: 4 })
  const ann = new PlayerPeer(server, `${key}?name=Ann&sid=ann-0123456789abcdef`)
  await ann.opened
  await host.message('player_joined')
  await host.message('state')
  const bob = new PlayerPeer(server, `${key}?sid=bob-0123456789abcdef`)
  await bob.opened
  await host.message('player_joined')
  await host.message('state')
  ann.send('hello')
  await host.message('from_str')
  host.command({ cmd: 'to_str', data: 'hi all' })
  await ann.next()
  await bob.next()
  bob.close()
  await host.message('player_away')

  const res = await api(server, 'GET', '/api/admin/rooms')
  t.equal(res.status, 200)
  const overview = (await res.json()) as { scope: string; nodes: { id: string; self: boolean; rooms: number; connections: Record<string, number> }[]; rooms: Record<string, unknown>[] }
  t.equal(overview.scope, 'node', 'this node only, said so')
  t.equal(overview.nodes.length, 1)
  t.equal(overview.nodes[0]!.id, server.nodeId)
  t.ok(overview.nodes[0]!.self)
  t.equal(overview.nodes[0]!.connections.host, 1)
  const room = overview.rooms.find((r) => r.code === key)
  t.match(room, {
    code: key,
    name: 'Quiz',
    node: server.nodeId,
    preset: false,
    started: false,
    hostConnected: true,
    maxPlayers: 4,
    players: [
      { id: 1, name: 'Ann', connected: true, node: server.nodeId },
      { id: 2, connected: false, node: server.nodeId },
    ],
    frames: { in: 1, out: 2 },
    bytes: { in: 5, out: 12 },
  })
  t.notOk('name' in (room!.players as object[])[1]!, 'no name when none was given')
  t.ok((room!.ageMs as number) >= 0)
})

t.test('admin - start, kick and stop go through the room as the host\'s own would, answer 204, and are logged without secrets', async (t) => {
  const { logger, lines } = capturedLogger()
  const server = await testServer(t, { adminToken: TOKEN, clickplanet: true, map: SMALL_MAP }, { logger })
  const host = new HostPeer(server)
  const { key, token } = await host.prepare({ max_players: 4 })
  const ann = new PlayerPeer(server, key)
  await ann.opened
  await host.message('player_joined')
  await host.message('state')
  const bob = new PlayerPeer(server, key)
  await bob.opened
  await host.message('player_joined')
  await host.message('state')

  t.equal((await api(server, 'POST', `/api/admin/rooms/${key.toLowerCase()}/start`)).status, 204, 'start (any case)')
  t.equal((await host.message('state')).accept_conns, false, 'the host sees the room started')

  t.equal((await api(server, 'POST', `/api/admin/rooms/${key}/kick`, { player: 1 })).status, 204, 'kick')
  t.equal((await ann.closedWith()).code, 4001, 'the player is closed as kicked')
  t.equal((await host.message('player_left')).player, 1)
  await host.message('state')

  const refusals: [string, unknown, number, string][] = [
    [`/api/admin/rooms/${key}/kick`, { player: 99 }, 404, 'no_such_player'],
    [`/api/admin/rooms/${key}/kick`, {}, 400, 'invalid_action'],
    [`/api/admin/rooms/${key}/kick`, 'not json', 400, 'invalid_action'],
    [`/api/admin/rooms/${key}/kick`, { player: '2' }, 400, 'invalid_action'],
    ['/api/admin/rooms/ZZZZ/stop', {}, 404, 'no_such_room'],
    ['/api/admin/rooms/PLANET/stop', {}, 409, 'preset_room'],
    [`/api/admin/rooms/${key}/dance`, {}, 404, 'no_route'],
  ]
  for (const [path, body, status, code] of refusals) {
    const res = await api(server, 'POST', path, body)
    t.equal(res.status, status, `${path} ${JSON.stringify(body)}`)
    const answer = (await res.json()) as { code: string; error: string }
    t.equal(answer.code, code)
    t.ok(answer.error.length > 0, `with a reason: ${answer.error}`)
  }
  t.equal((await api(server, 'GET', `/api/admin/rooms/${key}/stop`)).status, 405, 'an action is a POST')
  t.equal(bob.closed, undefined, 'the refusals changed nothing')

  t.equal((await api(server, 'POST', `/api/admin/rooms/${key}/stop`, {})).status, 204, 'stop')
  t.equal((await bob.closedWith()).code, 4002, 'players are closed as when the host stops')
  await host.message('stop')
  t.equal((await host.closedWith()).code, 1000)
  t.equal((await api(server, 'POST', `/api/admin/rooms/${key}/stop`, {})).status, 404, 'the room is gone')

  const actions = lines.filter((l) => l.includes('"msg":"admin action"'))
  // start, kick, the three refused by the room (no such player, no such room, preset), stop, stop again.
  t.equal(actions.length, 7, 'each action that reached the rooms is logged, done or refused')
  t.match(actions[1], /"room":"[A-Z]{4}","action":"kick","player":1,"outcome":"done"/)
  for (const line of lines) {
    t.notOk(line.includes(TOKEN), 'no line carries the admin token')
    t.notOk(line.includes(token), 'nor the room token')
  }
})
