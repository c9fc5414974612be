/**
 * A node stops (SIGTERM) in the middle of a game, with real node processes, a real
 * nats-server and a real redis-server: it hands its rooms over before it exits, and a
 * rolling restart of every node loses no room and no id.
 */
import t from 'tap'
import { CloseCode } from '../../src/errors.js'
import { PlayerPeer, joinPlayer, newSid, HostPeer, httpGet, metricValue, scrape, until } from '../helpers/server.js'
import { startEngines } from './cluster-nodes.js'
import { adminRoom, eventually, fromEach, startProcesses, resumeHost } from './processes.js'

const engines = await startEngines(t)

t.test('hand-over - SIGTERM of the owner hands its room over: kept frames, ids and sockets elsewhere survive; the node exits in its bound', async (t) => {
  const [a, b] = await startProcesses(t, engines, 2)
  const host = new HostPeer(a!)
  const { key, token } = await host.prepare({ max_players: 4 })
  const sidA = newSid()
  const onA = await joinPlayer(a!, host, key, sidA)
  const onB = await joinPlayer(b!, host, key, newSid())
  host.close()
  await until(() => host.closed !== undefined, 'the host gone')
  onB.player.send('kept 1')
  onB.player.send('kept 2')
  await eventually(async () => (await adminRoom(a!, key))?.frames.in === 2, 'the owner to keep both frames')

  await a!.kill('SIGTERM')
  t.same(await a!.exited, { code: 0, signal: null }, 'a clean exit within PARTYLINE_SHUTDOWN_MS + 1 s')
  t.equal((await onA.player.closedWith()).code, CloseCode.ServiceRestart, 'its own sockets closed with 1012')
  t.equal(onB.player.closed, undefined, 'the player bridged from b kept its socket')

  const { host: resumed, reply, state } = await resumeHost(b!, key, token)
  t.equal(reply.key, key)
  t.same(state.players, [onA.id, onB.id], 'no id lost')
  const kept = [await resumed.message(), await resumed.message()]
  t.same(kept.map((k) => [k.cmd, k.from, k.data]), [['from_str', onB.id, 'kept 1'], ['from_str', onB.id, 'kept 2']], 'the kept frames moved with the room')
  const back = new PlayerPeer(b!, key, sidA)
  await back.opened
  t.same(await resumed.message('player_back'), { cmd: 'player_back', player: onA.id })
  resumed.command({ cmd: 'to_str', data: 'moved' })
  t.equal(await onB.player.next(), 'moved')
  t.equal(await back.next(), 'moved')
  t.equal(metricValue(await scrape(b!), 'partyline_rooms_moved_total', { how: 'taken_over' }), 1, 'b took it over')
})

t.test('rolling restart - every node stopped (SIGTERM) and started again in turn during a game: no room and no player id lost', async (t) => {
  const nodes = await startProcesses(t, engines, 3)
  let host = new HostPeer(nodes[0]!)
  let hostOn = 0
  const prepared = await host.prepare({ max_players: 6 })
  const { key } = prepared
  let token = prepared.token
  const players: { sid: string; id: number; on: number; peer: PlayerPeer }[] = []
  for (let i = 0; i < 6; i++) {
    const sid = newSid()
    const { player, id } = await joinPlayer(nodes[i % 3]!, host, key, sid)
    players.push({ sid, id, on: i % 3, peer: player })
  }
  const ids = players.map((p) => p.id)
  for (let down = 0; down < 3; down++) {
    const node = nodes[down]!
    await node.kill('SIGTERM')
    t.same(await node.exited, { code: 0, signal: null }, `node ${down + 1} stopped cleanly in its bound`)
    const other = (down + 1) % 3
    // The page and the phones on the stopped node were closed with 1012: they reconnect elsewhere.
    if (hostOn === down || host.closed !== undefined) {
      await host.closedWith()
      const r = await resumeHost(nodes[other]!, key, token)
      host = r.host
      hostOn = other
      token = String(r.reply.token)
      t.same(r.state.players, ids, `after node ${down + 1} stopped: every id still in the room`)
    }
    for (const p of players) {
      if (p.on !== down) continue
      t.equal((await p.peer.closedWith()).code, CloseCode.ServiceRestart)
      p.peer = new PlayerPeer(nodes[other]!, key, p.sid)
      p.on = other
      await p.peer.opened
    }
    await node.restart()
  }
  // Whatever the host heard meanwhile, the room now shows every player, present.
  const { state } = await (async () => {
    host.close()
    await host.closedWith()
    const r = await resumeHost(nodes[hostOn]!, key, token)
    host = r.host
    return r
  })()
  t.same(state.players, ids, 'no player id lost')
  host.command({ cmd: 'to_str', data: 'still here' })
  for (const p of players) t.equal(await p.peer.next('the broadcast', 10_000), 'still here', `player ${p.id} reached`)
  for (const p of players) {
    p.peer.send(`from ${p.id}`)
  }
  const heard = await fromEach(host, ids)
  for (const p of players) t.equal(heard.get(p.id), `from ${p.id}`)
})

