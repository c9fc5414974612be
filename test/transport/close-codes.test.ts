/**
 * Every close code of the spec's table, produced by a real server and read by a real client:
 * the code and a reason a page can show.
 */
import t, { type Test } from 'tap'
import { closeReason } from '../../src/errors.js'
import {
  fence,
  httpGet,
  HostPeer,
  joinPlayer,
  metricValue,
  newSid,
  PlayerPeer,
  resumeReading,
  roomWithPlayers,
  scrape,
  stopReading,
  testServer,
  until,
  type Peer,
} from '../helpers/server.js'

/** The peer is closed with `code` and a non-empty reason. */
async function closedWith(t: Test, peer: Peer, code: number, what: string): Promise<void> {
  const closed = await peer.closedWith()
  t.equal(closed.code, code, `${what}: closed with ${code}`)
  t.ok(closed.reason.length > 0, `${what}: with a reason (got ${JSON.stringify(closed.reason)})`)
}

t.test('close - 4001: a kicked player', async (t) => {
  const server = await testServer(t)
  const { host, players, ids } = await roomWithPlayers(server, 1)
  host.command({ cmd: 'kick', player: ids[0] })
  await closedWith(t, players[0]!, 4001, 'kicked')
})

t.test('close - 4002: every player of a stopped room', async (t) => {
  const server = await testServer(t)
  const { host, players } = await roomWithPlayers(server, 2)
  host.command({ cmd: 'stop' })
  for (const p of players) await closedWith(t, p, 4002, 'stopped')
  await closedWith(t, host, 1000, 'the host after stop')
})

t.test('close - 4003: a player joining a started room, full or not', async (t) => {
  const server = await testServer(t)
  const open = await roomWithPlayers(server, 1, { max_players: 3 })
  open.host.command({ cmd: 'start' })
  await open.host.message('state')
  await closedWith(t, new PlayerPeer(server, open.key), 4003, 'started')

  const full = await roomWithPlayers(server, 2, { max_players: 2 })
  full.host.command({ cmd: 'start' })
  await full.host.message('state')
  await closedWith(t, new PlayerPeer(server, full.key), 4003, 'started and full')
})

t.test('close - 4004: a player joining a code no room has', async (t) => {
  const server = await testServer(t)
  await closedWith(t, new PlayerPeer(server, 'ZZZZ'), 4004, 'unknown code')
  await closedWith(t, new PlayerPeer(server, 'NOT-A-CODE'), 4004, 'not a code at all')
})

t.test('close - 4009: a player joining a full room', async (t) => {
  const server = await testServer(t)
  const { key } = await roomWithPlayers(server, 2, { max_players: 2 })
  await closedWith(t, new PlayerPeer(server, key), 4009, 'full')
})

t.test('close - 4010: every player when the host does not come back within the grace period', async (t) => {
  const server = await testServer(t, { hostGraceMs: 150 })
  const { host, key, players } = await roomWithPlayers(server, 2)
  host.close()
  for (const p of players) await closedWith(t, p, 4010, 'host gone')
  t.equal((await httpGet(server, `/api/rooms/${key}`)).status, 404, 'the room ended')
})

t.test('close - 4011: the old host connection when the host resumes while it is still open', async (t) => {
  const server = await testServer(t)
  const { host, key, token, players, ids } = await roomWithPlayers(server, 1)
  const again = new HostPeer(server)
  await again.opened
  again.command({ cmd: 'resume', key, token })
  const reply = await again.message('prepare_reply')
  t.equal(reply.key, key)
  t.same((await again.message('state')).players, ids)
  await closedWith(t, host, 4011, 'replaced host')
  players[0]!.send('to the new host')
  t.same(await again.message('from_str'), { cmd: 'from_str', from: ids[0], data: 'to the new host' })
})

t.test('close - 4011: the old player connection when the same sid connects again', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const sid = newSid()
  const first = await joinPlayer(server, host, key, sid)
  const second = new PlayerPeer(server, key, sid)
  await second.opened
  await closedWith(t, first.player, 4011, 'replaced player')
  t.same(await host.message(), { cmd: 'player_back', player: first.id, replaced: true }, 'the host is told of the takeover')
  second.send('same place')
  t.same(await host.message('from_str'), { cmd: 'from_str', from: first.id, data: 'same place' }, 'same id, no join or leave')
})

t.test('close - 4029: past the join attempts per minute every join and lookup is refused, valid codes included', async (t) => {
  const server = await testServer(t, { joinAttemptsPerMinute: 3 })
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  t.equal((await httpGet(server, `/api/rooms/${key}`)).status, 200, 'a valid lookup does not count')
  await closedWith(t, new PlayerPeer(server, 'ZZZZ'), 4004, 'first unknown code')
  await closedWith(t, new PlayerPeer(server, 'YYYY'), 4004, 'second unknown code')
  t.equal((await httpGet(server, '/api/rooms/XXXX')).status, 404, 'an unknown lookup counts too')
  await closedWith(t, new PlayerPeer(server, key), 4029, 'a valid code once throttled')
  await closedWith(t, new PlayerPeer(server, 'WWWW'), 4029, 'an unknown code once throttled')
  const lookup = await httpGet(server, `/api/rooms/${key}`)
  t.equal(lookup.status, 429, 'a lookup of a valid code once throttled')
  t.ok(lookup.headers.get('retry-after'), 'with retry-after')
})

t.test('close - 4029: joins refused with 4003 or 4009 are failed joins, counted by the join throttle', async (t) => {
  const server = await testServer(t, { joinAttemptsPerMinute: 3 })
  const full = await roomWithPlayers(server, 1, { max_players: 1 })
  const started = await roomWithPlayers(server, 1, { max_players: 4 })
  started.host.command({ cmd: 'start' })
  await started.host.message('state')
  const open = new HostPeer(server)
  const { key } = await open.prepare()
  await closedWith(t, new PlayerPeer(server, full.key), 4009, 'a full room')
  await closedWith(t, new PlayerPeer(server, started.key), 4003, 'a started room')
  await closedWith(t, new PlayerPeer(server, full.key), 4009, 'the full room again')
  await closedWith(t, new PlayerPeer(server, key), 4029, 'then even an open room, from that address')
  t.equal((await httpGet(server, `/api/rooms/${key}`)).status, 429, 'and lookups')
  t.same(await fence(open), [], 'the open room never saw it')
})

t.test('close - 1007: a host text frame that is not UTF-8 gets error malformed_frame, then the close', async (t) => {
  const server = await testServer(t)
  const other = await roomWithPlayers(server, 1)
  for (const json of [false, true]) {
    const host = new HostPeer(server, json)
    await host.opened
    if (json) {
      host.command({ cmd: 'prepare', max_players: 2 })
      await host.message('prepare_reply')
      await host.message('state')
    }
    host.ws.send(Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), { binary: false })
    const err = await host.message('error')
    t.equal(err.code, 'malformed_frame', `${json ? 'JSON' : 'CBOR'} session: error malformed_frame`)
    t.match(err.reason, /not valid UTF-8/)
    await closedWith(t, host, 1007, `${json ? 'JSON' : 'CBOR'} session`)
  }
  t.equal(metricValue(await scrape(server), 'partyline_closes_total', { code: '1007' }), 2)
  other.players[0]!.send('still relaying')
  t.equal((await other.host.message('from_str')).data, 'still relaying', 'another room is untouched')
})

t.test('close - 1007: a player text frame that is not UTF-8 (a player has no protocol for an error)', async (t) => {
  const server = await testServer(t)
  const { host, players, ids } = await roomWithPlayers(server, 1)
  players[0]!.ws.send(Buffer.from([0xc3, 0x28]), { binary: false })
  await closedWith(t, players[0]!, 1007, 'player')
  t.same(await host.message('player_left'), { cmd: 'player_left', player: ids[0] })
})

t.test('close - 1008: a connection from an origin that is not allowed', async (t) => {
  const server = await testServer(t, { allowedOrigins: ['https://game.example'] })
  const host = new HostPeer(server, false, { origin: 'https://game.example' })
  const { key } = await host.prepare()
  await closedWith(t, new HostPeer(server, false, { origin: 'https://evil.example' }), 1008, 'host from another origin')
  await closedWith(t, new PlayerPeer(server, key, undefined, { origin: 'https://evil.example' }), 1008, 'player from another origin')
  const ok = new PlayerPeer(server, key, undefined, { origin: 'https://game.example' })
  await ok.opened
  t.equal((await host.message('player_joined')).cmd, 'player_joined', 'the allowed origin joins')
})

t.test('close - 1008: a player with a malformed sid', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  await closedWith(t, new PlayerPeer(server, key, 'short'), 1008, 'sid too short')
})

t.test('close - 1008: a host connection after three wrong resume tokens, which count toward the join throttle', async (t) => {
  const server = await testServer(t, { joinAttemptsPerMinute: 3 })
  const owner = new HostPeer(server)
  const { key } = await owner.prepare()
  const guesser = new HostPeer(server)
  await guesser.opened
  for (let i = 1; i <= 2; i++) {
    guesser.command({ cmd: 'resume', key, token: `wrong-token-number-${i}-xxxxxxx` })
    const err = await guesser.message('error')
    t.equal(err.code, 'bad_token', `wrong token ${i}: error bad_token`)
  }
  guesser.command({ cmd: 'resume', key, token: 'wrong-token-number-3-xxxxxxx' })
  await closedWith(t, guesser, 1008, 'third wrong token')
  t.equal(owner.closed, undefined, 'the real host keeps its room')
  await closedWith(t, new PlayerPeer(server, key), 4029, 'a join from the same address after three wrong tokens')
})

t.test('close - 1009: a player frame over the player limit', async (t) => {
  const server = await testServer(t, { playerMaxFrame: 1024 })
  const { host, players, ids } = await roomWithPlayers(server, 1)
  players[0]!.send(Buffer.alloc(1024, 1))
  t.equal((await host.message('from')).from, ids[0], 'a frame at the limit passes')
  players[0]!.send(Buffer.alloc(1025, 1))
  await closedWith(t, players[0]!, 1009, 'oversize player frame')
  t.same(await host.message('player_left'), { cmd: 'player_left', player: ids[0] })
  t.equal(metricValue(await scrape(server), 'partyline_closes_total', { code: '1009' }), 1, 'counted as a close')
})

t.test('close - 1009: a host frame over the host limit', async (t) => {
  const server = await testServer(t, { hostMaxFrame: 4096 })
  const { host, players } = await roomWithPlayers(server, 1)
  host.command({ cmd: 'to', data: Buffer.alloc(4000, 2) })
  t.equal(((await players[0]!.next()) as Buffer).length, 4000, 'a frame under the limit passes')
  host.command({ cmd: 'to', data: Buffer.alloc(5000, 2) })
  await closedWith(t, host, 1009, 'oversize host frame')
})

t.test('close - 1012: server.close() closes hosts (with or without a room) and players', async (t) => {
  const server = await testServer(t)
  const { host, players } = await roomWithPlayers(server, 2)
  const idle = new HostPeer(server)
  await idle.opened
  await server.close()
  await closedWith(t, host, 1012, 'host')
  await closedWith(t, idle, 1012, 'host without a room')
  for (const p of players) await closedWith(t, p, 1012, 'player')
})

t.test('close - 1013: a player that stops reading is dropped; the host sees player_left and the other player gets every frame', async (t) => {
  const server = await testServer(t, { maxBuffered: 64 * 1024 })
  const { host, players, ids } = await roomWithPlayers(server, 2)
  const [slow, fast] = players as [PlayerPeer, PlayerPeer]
  stopReading(slow)
  const frame = (i: number): Buffer => {
    const b = Buffer.alloc(32 * 1024, i % 251)
    b.writeUInt32BE(i, 0)
    return b
  }
  const dropped = (): boolean => (server.metrics.closes.get(1013) ?? 0) > 0
  let sent = 0
  // Pace by the fast player: it must get everything, the slow one falls behind until dropped.
  while (!dropped() && sent < 4000) {
    host.command({ cmd: 'to', data: frame(sent++) })
    if (sent % 8 === 0) await until(() => fast.frames.length >= sent, `the fast player to get frame ${sent}`)
  }
  t.ok(dropped(), `the slow player was dropped after ${sent} frames`)
  // Read again before the server cuts the socket: the close frame waits behind the backlog.
  resumeReading(slow)
  for (let i = 0; i < 8; i++) host.command({ cmd: 'to', data: frame(sent++) })
  await closedWith(t, slow, 1013, 'slow player')
  const left = await (async () => {
    for (;;) {
      const m = await host.message()
      if (m.cmd === 'player_left') return m
    }
  })()
  t.same(left, { cmd: 'player_left', player: ids[0] })
  await until(() => fast.frames.length >= sent, 'every frame at the fast player')
  const got = fast.frames.map((f) => (f as Buffer).readUInt32BE(0))
  t.same(got, Array.from({ length: sent }, (_, i) => i), 'the fast player got every frame, in order')
  const metrics = await scrape(server)
  t.equal(metricValue(metrics, 'partyline_closes_total', { code: '1013' }), 1)
  t.ok(metricValue(metrics, 'partyline_drops_total', { reason: 'slow-consumer' }) >= 1)
  t.equal(fast.closed, undefined, 'the fast player is still connected')
})

t.test('close - every close code has a registered reason that fits a close frame', async (t) => {
  for (const [code, reason] of Object.entries(closeReason)) {
    t.ok(reason.length > 0 && Buffer.byteLength(reason) <= 123, `${code}: ${reason}`)
  }
})
