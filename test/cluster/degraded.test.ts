/**
 * Degraded, not down: NATS or Redis unreachable for a while (real servers killed and
 * started again), nodes started while one is down. Each test says what kept working, what
 * was refused with which code, and that everything came back by itself.
 */
import t from 'tap'
import { CloseCode } from '../../src/errors.js'
import { HostPeer, PlayerPeer, fence, httpGet, joinPlayer, newSid, testServer, until } from '../helpers/server.js'
import { FAST, freshDatabase, startEngines, startNodes } from './cluster-nodes.js'
import { eventually } from './processes.js'

const engines = await startEngines(t)

const ready = (n: { readiness: { report(): { status: string } } }) => n.readiness.report().status === 'ready'

t.test('nats down 3 s: rooms on one node keep working, cross-node frames are dropped and counted, bridges carry on when it is back', async (t) => {
  const [a, b] = await startNodes(t, engines, 2)
  const host = new HostPeer(a!)
  const { key } = await host.prepare()
  const local = await joinPlayer(a!, host, key)
  const bridged = await joinPlayer(b!, host, key, newSid())
  const leaving = await joinPlayer(b!, host, key)
  await engines.nats.kill()
  t.teardown(async () => {
    if (!engines.nats.running) await engines.nats.restart()
  })
  await until(() => !ready(a!) && !ready(b!), 'both nodes to see NATS down')
  // A phone that leaves during the outage: its leave cannot cross now.
  leaving.player.close()
  t.match(b!.readiness.report(), { status: 'degraded', nats: /unreachable/ }, '/readyz names NATS')
  // Kept working: the room and its player on the owner.
  local.player.send('local')
  t.same((await host.message('from_str')).data, 'local')
  host.command({ cmd: 'to_str', to: [local.id], data: 'to local' })
  t.equal(await local.player.next(), 'to local')
  // Dropped and counted: what had to cross nodes.
  const dropped = b!.bus.stats.dropped
  bridged.player.send('lost')
  await until(() => b!.bus.stats.dropped > dropped, 'the frame to be dropped on b')
  await new Promise((r) => setTimeout(r, 3000 - 200)) // the outage lasts 3 s
  await engines.nats.restart()
  await until(() => ready(a!) && ready(b!), 'NATS back on both nodes', 10_000)
  t.equal(bridged.player.closed, undefined, 'the bridged player was never closed')
  t.same(await host.message('player_left', 10_000), { cmd: 'player_left', player: leaving.id }, 'the phone that left meanwhile is found gone once NATS is back')
  await host.message('state')
  bridged.player.send('after')
  const m = await host.message()
  t.same([m.cmd, m.from, m.data], ['from_str', bridged.id, 'after'], 'its frames flow again (the one sent meanwhile is gone)')
  host.command({ cmd: 'to_str', to: [bridged.id], data: 'welcome back' })
  t.equal(await bridged.player.next(), 'welcome back')
})

t.test('nats down past the player grace: bridged connections are closed with 1012 and come back with their sids', async (t) => {
  const [a, b] = await startNodes(t, engines, 2, { playerGraceMs: 2500 })
  const host = new HostPeer(a!)
  const { key } = await host.prepare()
  const sid = newSid()
  const bridged = await joinPlayer(b!, host, key, sid)
  await engines.nats.kill()
  t.teardown(async () => {
    if (!engines.nats.running) await engines.nats.restart()
  })
  t.equal((await bridged.player.closedWith(10_000)).code, CloseCode.ServiceRestart, 'closed with 1012 on its node')
  t.same(await host.message('player_away', 10_000), { cmd: 'player_away', player: bridged.id }, 'the owner let it go too: away, its place held')
  await engines.nats.restart()
  await until(() => ready(a!) && ready(b!), 'NATS back on both nodes', 10_000)
  const back = new PlayerPeer(b!, key, sid)
  await back.opened
  let m = await host.message()
  while (m.cmd === 'state') m = await host.message()
  t.same(m, { cmd: 'player_back', player: bridged.id }, 'the same id')
})

t.test('redis down, then back empty: rooms keep relaying, prepare is refused unavailable, known rooms take joins; each node writes its rooms back', async (t) => {
  const [a, b] = await startNodes(t, engines, 2, { joinAttemptsPerMinute: 100_000 })
  const host = new HostPeer(a!)
  const { key } = await host.prepare({ public: true, name: 'Kept' })
  const bridged = await joinPlayer(b!, host, key)
  await engines.redis.kill()
  t.teardown(async () => {
    if (!engines.redis.running) await engines.redis.restart()
  })
  await until(() => !ready(a!), 'a to see Redis down')
  t.match(a!.readiness.report(), { status: 'degraded', redis: /./ })
  bridged.player.send('still')
  t.same((await host.message('from_str')).data, 'still', 'the running room relays')
  const refused = new HostPeer(b!)
  await refused.opened
  refused.command({ cmd: 'prepare', max_players: 2 })
  t.match(await refused.message('error'), { code: 'unavailable' }, 'prepare: unavailable')
  const joinedHere = await joinPlayer(a!, host, key)
  const joinedThere = await joinPlayer(b!, host, key)
  t.ok(joinedHere.id > 0 && joinedThere.id > 0, 'joins of a known room work on its node and on another')
  await engines.redis.restart({ empty: true })
  await until(() => ready(a!) && ready(b!), 'Redis back', 10_000)
  await eventually(async () => (await httpGet(b!, `/api/rooms/${key}`)).status === 200, 'the owner to write its room back')
  t.match((await httpGet(b!, `/api/rooms/${key}`)).body, { key, name: 'Kept', players: 3 }, 'with every player, joins during the outage included')
  const later = new HostPeer(b!)
  t.ok((await later.prepare()).key, 'prepare works again')
  await fence(host)
})

t.test('a node started while NATS is down serves its own rooms, and joins the cluster when NATS is back', async (t) => {
  const nodes = await startNodes(t, engines, 1)
  const a = nodes[0]!
  await engines.nats.kill()
  t.teardown(async () => {
    if (!engines.nats.running) await engines.nats.restart()
  })
  const late = await testServer(t, { ...FAST, redisUrl: nodes.redisUrl, natsUrl: engines.nats.url, nodeId: 'late-nats' })
  t.match(late.readiness.report(), { status: 'degraded', nats: /./ }, 'it starts degraded')
  const host = new HostPeer(late)
  const { key } = await host.prepare()
  await joinPlayer(late, host, key)
  t.pass('its own room takes a player')
  await engines.nats.restart()
  await until(() => ready(late) && ready(a), 'NATS reached', 10_000)
  const { id } = await joinPlayer(a, host, key)
  t.equal(id, 2, 'a player on another node joins its room, bridged')
})

t.test('a node started while Redis is down refuses prepare with unavailable, then works when Redis is back', async (t) => {
  await engines.redis.kill()
  t.teardown(async () => {
    if (!engines.redis.running) await engines.redis.restart()
  })
  const late = await testServer(t, { ...FAST, redisUrl: freshDatabase(engines), natsUrl: engines.nats.url, nodeId: 'late-redis' })
  t.match(late.readiness.report(), { status: 'degraded', redis: /./ })
  const host = new HostPeer(late)
  await host.opened
  host.command({ cmd: 'prepare', max_players: 2 })
  t.match(await host.message('error'), { code: 'unavailable' })
  await engines.redis.restart()
  await until(() => ready(late), 'Redis reached', 10_000)
  host.command({ cmd: 'prepare', max_players: 2 })
  t.equal(String((await host.message('prepare_reply')).key).length, 4, 'prepare works')
})
