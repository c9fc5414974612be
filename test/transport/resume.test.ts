/**
 * Host resume and player reconnect (spec part 2) against a real server: what the host and
 * the players see when a connection drops and comes back, within the grace period or not.
 *
 * Grace periods are short where a test waits for them to run out, and long where a test must
 * come back in time, so a slow machine cannot turn one into the other.
 */
import t, { type Test } from 'tap'
import {
  fence,
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

const LONG = { hostGraceMs: 5000, playerGraceMs: 5000 }
const SHORT = { hostGraceMs: 300, playerGraceMs: 300 }

type Server = PartylineServer & { ws: string }

/** Resolves once the server has seen the room's host connection end. */
const hostGone = (server: Server, key: string) => until(() => server.registry.get(key)?.hostPresent === false, `room ${key} to lose its host`)

/** Resolves once the server has received `n` more frames than `from` (player frames are kept in arrival order). */
const framesIn = (server: Server, from: number, n: number) => until(() => server.metrics.frames.in >= from + n, `${n} frames at the server`)

/** A new connection on /CREATE that sends `resume`. */
async function resumeHost(server: Server, key: string, token: string): Promise<HostPeer> {
  const host = new HostPeer(server)
  await host.opened
  host.command({ cmd: 'resume', key, token })
  return host
}

const text = (m: Msg): unknown => (m.cmd === 'from' ? [m.from, [...(m.data as Uint8Array)]] : [m.from, m.data])

/** The host hears `player_away` (or `player_back`), then a state whose roster shows it. */
async function presence(t: Test, host: HostPeer, cmd: 'player_away' | 'player_back', player: number): Promise<void> {
  t.same(await host.message(cmd), { cmd, player }, cmd)
  const state = await host.message('state')
  t.same(
    (state.roster as { id: number; away: boolean }[]).find((p) => p.id === player),
    { id: player, away: cmd === 'player_away' },
    `then a state that shows it ${cmd === 'player_away' ? 'away' : 'back'}`,
  )
}

for (const how of ['a clean close', 'a cut connection (terminate)'] as const) {
  t.test(`resume - after ${how} the host takes the room back: fresh token, state with the absence's joins and leaves, kept frames in order`, async (t) => {
    const server = await testServer(t, LONG)
    const { host, key, token, players, ids } = await roomWithPlayers(server, 2)
    const [a, b] = players as [PlayerPeer, PlayerPeer]
    if (how === 'a clean close') host.close()
    else host.ws.terminate()
    await hostGone(server, key)
    t.equal(a.closed, undefined, 'players stay connected')

    const start = server.metrics.frames.in
    a.send('a1')
    a.send(Buffer.from([1, 2]))
    a.send('a2')
    b.close()
    await until(() => server.registry.get(key)?.playerCount === 1, 'b to leave')
    const c = new PlayerPeer(server, key)
    await c.opened
    await until(() => server.registry.get(key)?.playerCount === 2, 'c to join while the host is away')
    c.send('c1')
    await framesIn(server, start, 4)

    const back = await resumeHost(server, key, token)
    const reply = await back.message('prepare_reply')
    t.equal(reply.key, key)
    t.equal(reply.dropped, 0, 'nothing dropped')
    t.type(reply.token, 'string')
    t.ok(String(reply.token).length >= 22, 'a fresh token')
    t.not(reply.token, token, 'not the old one')
    const state = await back.message('state')
    const cId = (state.players as number[]).find((p) => !ids.includes(p))
    t.same(
      state,
      { cmd: 'state', name: '', players: [ids[0], cId], max_players: 8, accept_conns: true, roster: [{ id: ids[0], away: false }, { id: cId, away: false }] },
      'b left, c joined',
    )
    t.ok(cId !== undefined && cId > ids[1]!, 'c has a new id')
    const kept: unknown[] = []
    for (let i = 0; i < 4; i++) kept.push(text(await back.message()))
    t.same(kept, [[ids[0], 'a1'], [ids[0], [1, 2]], [ids[0], 'a2'], [cId, 'c1']], 'the kept frames, in order')
    t.same(await fence(back), [], 'no player_joined or player_left for the absence')

    back.command({ cmd: 'to_str', data: 'welcome back' })
    t.equal(await a.next(), 'welcome back')
    t.equal(await c.next(), 'welcome back')
    a.send('live again')
    t.same(await back.message('from_str'), { cmd: 'from_str', from: ids[0], data: 'live again' })

    const late = await resumeHost(server, key, token)
    t.equal((await late.message('error')).code, 'bad_token', 'the old token stops working')
    const fresh = await resumeHost(server, key, String(reply.token))
    t.equal((await fresh.message('prepare_reply')).key, key, 'the fresh token works')
  })
}

t.test('resume - while the host is away a started room refuses players with 4003 and a full one with 4009', async (t) => {
  const server = await testServer(t, LONG)
  const started = await roomWithPlayers(server, 1)
  started.host.command({ cmd: 'start' })
  await started.host.message('state')
  started.host.close()
  await hostGone(server, started.key)
  t.equal((await new PlayerPeer(server, started.key).closedWith()).code, 4003)

  const full = await roomWithPlayers(server, 1, { max_players: 1 })
  full.host.close()
  await hostGone(server, full.key)
  t.equal((await new PlayerPeer(server, full.key).closedWith()).code, 4009)
})

t.test('resume - frames past keptFrames are dropped and counted in dropped', async (t) => {
  const server = await testServer(t, { ...LONG, keptFrames: 3 })
  const { host, key, token, players, ids } = await roomWithPlayers(server, 1)
  host.close()
  await hostGone(server, key)
  for (let i = 1; i <= 5; i++) players[0]!.send(`f${i}`)
  await until(() => server.metrics.drops.get('kept-overflow') === 2, 'two frames over the bound')
  const back = await resumeHost(server, key, token)
  t.equal((await back.message('prepare_reply')).dropped, 2)
  await back.message('state')
  for (let i = 1; i <= 3; i++) t.same(await back.message('from_str'), { cmd: 'from_str', from: ids[0], data: `f${i}` }, `kept f${i}`)
  t.same(await fence(back), [], 'f4 and f5 are gone')
  t.equal(metricValue(await scrape(server), 'partyline_drops_total', { reason: 'kept-overflow' }), 2)
})

t.test('resume - frames past keptBytes are dropped and counted in dropped; the count starts over after a resume', async (t) => {
  const server = await testServer(t, { ...LONG, keptBytes: 100 })
  const { host, key, token, players, ids } = await roomWithPlayers(server, 1)
  host.close()
  await hostGone(server, key)
  const start = server.metrics.frames.in
  players[0]!.send(Buffer.alloc(60, 1))
  players[0]!.send(Buffer.alloc(60, 2)) // 120 bytes: over
  players[0]!.send(Buffer.alloc(40, 3)) // 100 bytes: fits
  await framesIn(server, start, 3)
  const back = await resumeHost(server, key, token)
  const reply = await back.message('prepare_reply')
  t.equal(reply.dropped, 1)
  await back.message('state')
  const first = await back.message('from')
  const second = await back.message('from')
  t.same([first.from, (first.data as Uint8Array).length, (first.data as Uint8Array)[0]], [ids[0], 60, 1])
  t.same([second.from, (second.data as Uint8Array).length, (second.data as Uint8Array)[0]], [ids[0], 40, 3])

  back.close()
  await hostGone(server, key)
  const again = await resumeHost(server, key, String(reply.token))
  t.equal((await again.message('prepare_reply')).dropped, 0, 'dropped counts one absence')
})

t.test('resume - of an unknown room is error no_such_room, with a wrong token error bad_token; the connection stays usable', async (t) => {
  const server = await testServer(t, LONG)
  const owner = new HostPeer(server)
  const { key } = await owner.prepare()
  const other = new HostPeer(server)
  await other.opened
  other.command({ cmd: 'resume', key: key === 'ZZZZ' ? 'YYYY' : 'ZZZZ', token: 'x'.repeat(32) })
  const unknown = await other.message('error')
  t.equal(unknown.code, 'no_such_room')
  t.match(unknown.reason, /no room/)
  other.command({ cmd: 'resume', key, token: 'y'.repeat(32) })
  const wrong = await other.message('error')
  t.equal(wrong.code, 'bad_token')
  t.match(wrong.reason, /token/)
  t.equal(owner.closed, undefined, 'the owner is untouched')
  const { key: own } = await other.prepare()
  t.not(own, key, 'the same connection then prepares its own room')
})

t.test('resume - a room whose grace period ran out is gone: players 4010, resume no_such_room', async (t) => {
  const server = await testServer(t, SHORT)
  const { host, key, token, players } = await roomWithPlayers(server, 1)
  host.close()
  t.equal((await players[0]!.closedWith()).code, 4010)
  const late = await resumeHost(server, key, token)
  t.equal((await late.message('error')).code, 'no_such_room')
})

for (const how of ['a clean close', 'a cut connection (terminate)'] as const) {
  t.test(`sid - a player back after ${how} within the grace period gets the same id; the host sees away and back, no leave or join`, async (t) => {
    const server = await testServer(t, LONG)
    const host = new HostPeer(server)
    const { key } = await host.prepare()
    const sid = newSid()
    const first = await joinPlayer(server, host, key, sid)
    if (how === 'a clean close') first.player.close()
    else first.player.ws.terminate()
    await presence(t, host, 'player_away', first.id)
    const back = new PlayerPeer(server, key, sid)
    await back.opened
    await presence(t, host, 'player_back', first.id)
    back.send('me again')
    t.same(await host.message(), { cmd: 'from_str', from: first.id, data: 'me again' }, 'same id, and nothing else before it')
    host.command({ cmd: 'to_str', to: [first.id], data: 'hello again' })
    t.equal(await back.next(), 'hello again')
  })
}

t.test('sid - a player comes back to a started, full room', async (t) => {
  const server = await testServer(t, LONG)
  const host = new HostPeer(server)
  const { key } = await host.prepare({ max_players: 1 })
  const sid = newSid(40)
  const first = await joinPlayer(server, host, key, sid)
  host.command({ cmd: 'start' })
  await host.message('state')
  first.player.close()
  await presence(t, host, 'player_away', first.id)
  t.equal((await new PlayerPeer(server, key, newSid()).closedWith()).code, 4003, 'another sid is refused')
  const back = new PlayerPeer(server, key, sid)
  await back.opened
  await presence(t, host, 'player_back', first.id)
  back.send([1, 2, 3].join(','))
  t.same(await host.message(), { cmd: 'from_str', from: first.id, data: '1,2,3' })
  t.equal(back.closed, undefined)
})

t.test('sid - frames the host sends a player while it is away are dropped', async (t) => {
  const server = await testServer(t, LONG)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const sid = newSid()
  const first = await joinPlayer(server, host, key, sid)
  first.player.close()
  await presence(t, host, 'player_away', first.id)
  host.command({ cmd: 'to_str', to: [first.id], data: 'missed 1' })
  host.command({ cmd: 'to', data: [9] })
  t.same(await fence(host), [], 'no error for a held place')
  const back = new PlayerPeer(server, key, sid)
  await back.opened
  await presence(t, host, 'player_back', first.id)
  back.send('here')
  await host.message('from_str')
  host.command({ cmd: 'to_str', to: [first.id], data: 'after' })
  t.equal(await back.next(), 'after', 'the first frame it gets is the one sent after its return')
  t.equal(metricValue(await scrape(server), 'partyline_drops_total', { reason: 'player-away' }), 2)
})

t.test('sid - after the grace period the host gets player_left, and the sid then joins as a new player', async (t) => {
  const server = await testServer(t, SHORT)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const sid = newSid()
  const first = await joinPlayer(server, host, key, sid)
  first.player.close()
  await presence(t, host, 'player_away', first.id)
  t.same(await host.message('player_left'), { cmd: 'player_left', player: first.id })
  t.same((await host.message('state')).players, [])
  const again = await joinPlayer(server, host, key, sid)
  t.ok(again.id > first.id, 'a new id: the old place is gone')
})

t.test('sid - a kicked sid is refused with 4001 for the rest of the room', async (t) => {
  const server = await testServer(t, LONG)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const sid = newSid()
  const first = await joinPlayer(server, host, key, sid)
  host.command({ cmd: 'kick', player: first.id })
  await host.message('player_left')
  await host.message('state')
  t.equal((await first.player.closedWith()).code, 4001)
  const back = new PlayerPeer(server, key, sid)
  const closed = await back.closedWith()
  t.equal(closed.code, 4001, 'refused on return')
  t.ok(closed.reason.length > 0)
  t.same(await fence(host), [], 'the host hears nothing of it')
  const other = await joinPlayer(server, host, key, newSid())
  t.ok(other.id > first.id, 'other sids still join')
})

t.test('sid - a malformed sid is refused with 1008; 16 and 64 URL-safe characters are fine', async (t) => {
  const server = await testServer(t, LONG)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  for (const [what, sid] of [
    ['15 characters', 'a'.repeat(15)],
    ['65 characters', 'a'.repeat(65)],
    ['a dot', 'abcdefgh.ijklmnopq'],
    ['a percent-encoded space', 'abcdefgh%20ijklmnopq'],
    ['a plus', 'abcdefgh+ijklmnopq'],
  ] as const) {
    const peer = new PlayerPeer(server, key, sid)
    const closed = await peer.closedWith()
    t.equal(closed.code, 1008, `${what}: 1008`)
    t.ok(closed.reason.length > 0)
  }
  t.same(await fence(host), [], 'none of them joined')
  await joinPlayer(server, host, key, 'a'.repeat(16))
  await joinPlayer(server, host, key, 'Z_-9'.repeat(16))
  t.pass('16 and 64 characters join')
})
