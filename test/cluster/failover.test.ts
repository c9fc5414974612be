/**
 * A node dies (kill -9) or stops (SIGTERM) in the middle of a game, with real node processes,
 * a real nats-server and a real redis-server: the room survives on another node with its
 * code, ids, sids and token.
 */
import t from 'tap'
import { CloseCode } from '../../src/errors.js'
import { PlayerPeer, joinPlayer, newSid, HostPeer, httpGet, metricValue, scrape, until, type Msg } from '../helpers/server.js'
import { startEngines } from './cluster-nodes.js'
import { adminRoom, eventually, fromEach, startProcesses, resumeHost } from './processes.js'

const engines = await startEngines(t)

t.test('failover - the owner is killed mid-game: players elsewhere keep sockets and ids, the host resumes on another node, the dead node\'s players come back with their sids', async (t) => {
  const [a, b, c] = await startProcesses(t, engines, 3)
  const host = new HostPeer(a!)
  const { key, token } = await host.prepare({ name: 'Survivor', max_players: 6 })
  const sidA = newSid()
  const sidB = newSid()
  const onA = await joinPlayer(a!, host, key, sidA)
  const onB = await joinPlayer(b!, host, key, sidB)
  const onC = await joinPlayer(c!, host, key)
  host.command({ cmd: 'start' })
  await host.message('state')
  // The record in the store has caught up with the joins and the start (another node's lobby reads it).
  await eventually(async () => {
    const r = await httpGet(b!, `/api/rooms/${key}`)
    return (r.body as { players?: number; accept_conns?: boolean }).players === 3 && (r.body as { accept_conns?: boolean }).accept_conns === false
  }, 'the record to hold 3 players, started')

  await a!.kill()
  t.equal((await onA.player.closedWith(10_000)).code, 1006, 'the player on the dead node lost its socket')

  const { host: resumed, reply, state } = await resumeHost(b!, key, token)
  t.equal(reply.key, key, 'same code')
  t.not(reply.token, token, 'a fresh token')
  t.equal(state.name, 'Survivor', 'same name')
  t.equal(state.max_players, 6, 'same settings')
  t.equal(state.accept_conns, false, 'still started')
  t.same(state.players, [onA.id, onB.id, onC.id], 'same ids')
  t.equal(onB.player.closed, undefined, 'the player on b kept its socket')
  t.equal(onC.player.closed, undefined, 'the player on c kept its socket')

  // The players that stayed connected talk to the new owner with their ids.
  onB.player.send('b here')
  onC.player.send('c here')
  const heard = await fromEach(resumed, [onB.id, onC.id])
  t.equal(heard.get(onB.id), 'b here')
  t.equal(heard.get(onC.id), 'c here')

  // The dead node's player comes back on c with its sid: the same id, though the room started.
  const back = new PlayerPeer(c!, key, sidA)
  await back.opened
  let m: Msg
  do m = await resumed.message(undefined, 10_000)
  while (m.cmd !== 'player_back')
  t.same(m, { cmd: 'player_back', player: onA.id })
  resumed.command({ cmd: 'to_str', data: 'all' })
  for (const p of [back, onB.player, onC.player]) t.equal(await p.next('the broadcast', 10_000), 'all')
  t.equal((await new PlayerPeer(b!, key).closedWith()).code, CloseCode.RoomStarted, 'a new phone is still refused: started')
  const adopted = metricValue(await scrape(b!), 'partyline_rooms_moved_total', { how: 'adopted' }) + metricValue(await scrape(c!), 'partyline_rooms_moved_total', { how: 'adopted' })
  t.equal(adopted, 1, 'adopted once, by one node')
})

t.test('late owner - a node frozen past its lease and thawed finds its room adopted: it drops it and closes its sockets with 1012', async (t) => {
  const [a, b] = await startProcesses(t, engines, 2)
  const host = new HostPeer(a!)
  const { key, token } = await host.prepare()
  const sid = newSid()
  const onA = await joinPlayer(a!, host, key, sid)
  await eventually(async () => (await httpGet(b!, `/api/rooms/${key}`)).status === 200, 'the record')
  process.kill(a!.pid!, 'SIGSTOP')
  t.teardown(() => {
    if (a!.running) process.kill(a!.pid!, 'SIGCONT')
  })
  await eventually(async () => (await adminRoom(b!, key)) !== undefined, 'b to adopt the room')
  process.kill(a!.pid!, 'SIGCONT')
  t.equal((await onA.player.closedWith(10_000)).code, CloseCode.ServiceRestart, 'the late owner closed its player with 1012')
  t.equal((await host.closedWith(10_000)).code, CloseCode.ServiceRestart, 'and its host')
  const { host: resumed, state } = await resumeHost(b!, key, token)
  t.same(state.players, [onA.id], 'the real owner kept the id')
  const back = new PlayerPeer(a!, key, sid)
  await back.opened
  t.same(await resumed.message('player_back'), { cmd: 'player_back', player: onA.id }, 'the player reconnects, even on the late node, bridged to the real owner')
  t.equal(await adminRoom(a!, key), undefined, 'the late node runs it no more')
})

t.test('one node with REDIS_URL alone: its rooms survive its own kill -9 and restart', async (t) => {
  const [a] = await startProcesses(t, engines, 1, { NATS_URL: '' })
  const host = new HostPeer(a!)
  const { key, token } = await host.prepare({ name: 'Again' })
  const sid = newSid()
  const { id } = await joinPlayer(a!, host, key, sid)
  await eventually(async () => (await httpGet(a!, `/api/rooms/${key}`)).status === 200 && (await adminRoom(a!, key))?.players.length === 1, 'the record')
  await a!.kill()
  await a!.restart()
  const { host: resumed, state } = await resumeHost(a!, key, token)
  t.equal(state.name, 'Again')
  t.same(state.players, [id], 'the same id, held')
  const back = new PlayerPeer(a!, key, sid)
  await back.opened
  t.same(await resumed.message('player_back'), { cmd: 'player_back', player: id })
})
