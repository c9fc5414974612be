/**
 * Names and presence (web.md "Names") against a real server: `?name=` on a phone's URL,
 * `name` in `player_joined`, `roster` in every `state`, `player_away` / `player_back`, in CBOR
 * and JSON mode, and through a host resume.
 */
import t from 'tap'
import { fence, HostPeer, joinPlayer, newSid, PlayerPeer, testServer, until, type Msg } from '../helpers/server.js'

const LONG = { hostGraceMs: 5000, playerGraceMs: 5000 }

/** A phone on `/<code>?sid=…&name=…` (either may be left out); `name` is URL-encoded here. */
function phone(server: { ws: string }, key: string, opts: { sid?: string; name?: string; raw?: string } = {}): PlayerPeer {
  const query = new URLSearchParams()
  if (opts.sid) query.set('sid', opts.sid)
  if (opts.name !== undefined) query.set('name', opts.name)
  const qs = opts.raw ?? query.toString()
  return new PlayerPeer({ ws: `${server.ws}` }, `${key}${qs ? `?${qs}` : ''}`)
}

for (const json of [false, true]) {
  const mode = json ? 'JSON' : 'CBOR'
  t.test(`names - player_joined carries the name and every state a roster (${mode})`, async (t) => {
    const server = await testServer(t, LONG)
    const host = new HostPeer(server, json)
    const { key, state } = await host.prepare()
    t.same(state.roster, [], 'an empty roster from the first state')
    const ann = phone(server, key, { name: 'Ann' })
    await ann.opened
    const joined = await host.message('player_joined')
    t.same(joined, { cmd: 'player_joined', player: joined.player, name: 'Ann' })
    const annId = Number(joined.player)
    t.same((await host.message('state')).roster, [{ id: annId, name: 'Ann', away: false }])
    const anon = phone(server, key)
    await anon.opened
    const second = await host.message('player_joined')
    t.same(second, { cmd: 'player_joined', player: second.player }, 'no name: no name key')
    const s = await host.message('state')
    t.same(s.roster, [{ id: annId, name: 'Ann', away: false }, { id: second.player, away: false }], 'in the order of players')
    t.same(s.players, [annId, second.player])
    const zoe = phone(server, key, { name: 'Zoë & co 🎲' })
    await zoe.opened
    t.equal((await host.message('player_joined')).name, 'Zoë & co 🎲', 'URL-decoded, any Unicode')
    await host.message('state')
  })
}

t.test('names - 1 to 32 characters without control characters; anything else is closed 1008 and never joins', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const refused: [string, { name?: string; raw?: string }][] = [
    ['an empty name', { raw: 'name=' }],
    ['33 characters', { name: 'x'.repeat(33) }],
    ['a newline', { name: 'Ann\nBob' }],
    ['a tab', { name: 'Ann\tBob' }],
    ['a NUL', { name: 'Ann\u0000' }],
    ['DEL', { name: 'Ann\u007f' }],
    ['a C1 control', { name: 'Ann\u0085' }],
  ]
  for (const [what, opts] of refused) {
    const closed = await phone(server, key, opts).closedWith()
    t.equal(closed.code, 1008, `${what}: 1008`)
    t.ok(closed.reason.length > 0, `${what}: with a reason`)
  }
  t.same(await fence(host), [], 'none of them joined')
  for (const name of ['x'.repeat(32), '🎲'.repeat(32), 'A', 'Ann Smith']) {
    const p = phone(server, key, { name })
    await p.opened
    t.equal((await host.message('player_joined')).name, name, `${[...name].length} characters join`)
    await host.message('state')
  }
})

t.test('presence - a player with a sid that drops is player_away (roster away: true), and player_back when it returns with its name', async (t) => {
  const server = await testServer(t, LONG)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const sid = newSid()
  const ann = phone(server, key, { sid, name: 'Ann' })
  await ann.opened
  const id = Number((await host.message('player_joined')).player)
  await host.message('state')
  ann.ws.terminate()
  t.same(await host.message('player_away'), { cmd: 'player_away', player: id })
  t.same((await host.message('state')).roster, [{ id, name: 'Ann', away: true }])
  const back = phone(server, key, { sid })
  await back.opened
  t.same(await host.message('player_back'), { cmd: 'player_back', player: id }, 'back without a name: it keeps its name')
  t.same((await host.message('state')).roster, [{ id, name: 'Ann', away: false }])
  back.close()
  await host.message('player_away')
  await host.message('state')
  const renamed = phone(server, key, { sid, name: 'Annie' })
  await renamed.opened
  await host.message('player_back')
  t.same((await host.message('state')).roster, [{ id, name: 'Annie', away: false }], 'back with a new name')
  t.same(await fence(host), [], 'never a player_left or player_joined')
})

t.test('presence - a player without a sid leaves at once: player_left, never player_away', async (t) => {
  const server = await testServer(t, LONG)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const { player, id } = await joinPlayer(server, host, key)
  player.close()
  t.same(await host.message(), { cmd: 'player_left', player: id })
  t.same((await host.message('state')).roster, [])
})

t.test('presence - a seat takeover (same sid while the old connection is open) is player_back with replaced: true', async (t) => {
  const server = await testServer(t, LONG)
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const sid = newSid()
  const first = await joinPlayer(server, host, key, sid)
  const thief = new PlayerPeer(server, key, sid)
  await thief.opened
  t.same(await host.message(), { cmd: 'player_back', player: first.id, replaced: true })
  t.equal((await first.player.closedWith()).code, 4011)
  t.same(await fence(host), [], 'the roster did not change: no state, no leave, no join')
})

t.test('names - a host that resumes sees the same names and who is away, in the resume state', async (t) => {
  const server = await testServer(t, LONG)
  const host = new HostPeer(server)
  const { key, token } = await host.prepare()
  const annSid = newSid()
  const ann = phone(server, key, { sid: annSid, name: 'Ann' })
  await ann.opened
  const annId = Number((await host.message('player_joined')).player)
  await host.message('state')
  const bob = phone(server, key, { name: 'Bob' })
  await bob.opened
  const bobId = Number((await host.message('player_joined')).player)
  await host.message('state')
  host.close()
  await until(() => server.registry.get(key)?.hostPresent === false, 'the host gone')
  ann.close()
  await until(() => server.registry.get(key)?.figures().players[0]?.away === true, 'ann away')
  const tv = new HostPeer(server)
  await tv.opened
  tv.command({ cmd: 'resume', key, token })
  await tv.message('prepare_reply')
  const state = await tv.message('state')
  t.same(state.roster, [{ id: annId, name: 'Ann', away: true }, { id: bobId, name: 'Bob', away: false }])
  t.same(await fence(tv), [], 'the absence shows only in that state')
  t.same(server.registry.get(key)?.record().players, [{ id: annId, sid: annSid, name: 'Ann' }, { id: bobId, name: 'Bob' }], 'names are in the room record')
})

t.test('names - an original host ignores roster and name: the state keeps its original keys and values', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare({ max_players: 3, name: 'Quiz' })
  const p = phone(server, key, { name: 'Ann' })
  await p.opened
  const joined = await host.message('player_joined')
  const state: Msg = await host.message('state')
  t.same(Object.keys(state), ['cmd', 'name', 'players', 'max_players', 'accept_conns', 'roster'], 'the original keys first, roster added')
  t.same([state.name, state.players, state.max_players, state.accept_conns], ['Quiz', [joined.player], 3, true])
})
