/**
 * The admin API of a cluster: every node lists every node's rooms (`scope: cluster`), with
 * the node each player's connection is on, and an action on any node reaches the owner.
 */
import t from 'tap'
import { CloseCode } from '../../src/errors.js'
import { HostPeer, joinPlayer } from '../helpers/server.js'
import { startEngines, startNodes, type Node } from './cluster-nodes.js'

const engines = await startEngines(t)
const TOKEN = 'cluster-admin-token-0123'

const admin = async (node: Node, path: string, init: RequestInit = {}) => {
  const res = await fetch(node.url + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined }
}

t.test('admin - every node lists the rooms of every node, each with its owner and where each player is', async (t) => {
  const nodes = await startNodes(t, engines, 3, { adminToken: TOKEN })
  const [a, b, c] = nodes
  const h1 = new HostPeer(a!)
  const { key: k1 } = await h1.prepare({ name: 'On a' })
  const h2 = new HostPeer(b!)
  const { key: k2 } = await h2.prepare({ name: 'On b' })
  const { id } = await joinPlayer(c!, h1, k1)
  for (const n of nodes) {
    const { status, body } = await admin(n, '/api/admin/rooms')
    t.equal(status, 200)
    t.equal(body!.scope, 'cluster')
    const rooms = body!.rooms as { code: string; node: string; players: { id: number; node: string }[] }[]
    t.same(rooms.map((r) => [r.code, r.node]).sort(), [[k1, a!.nodeId], [k2, b!.nodeId]].sort(), `${n.nodeId}: both rooms, each with its owner`)
    t.same(rooms.find((r) => r.code === k1)!.players.map((p) => [p.id, p.node]), [[id, c!.nodeId]], 'the player is on c')
    const ids = (body!.nodes as { id: string; self: boolean }[]).map((x) => [x.id, x.self]).sort()
    t.same(ids, nodes.map((x) => [x.nodeId, x === n]).sort(), 'every node, this one marked self')
  }
  const again = await admin(a!, '/api/admin/rooms')
  const self = (again.body!.nodes as { self: boolean; busP99Ms: number | null }[]).find((x) => x.self)!
  t.ok(typeof self.busP99Ms === 'number' && self.busP99Ms >= 0, `the bus round trip is measured once asked: ${self.busP99Ms} ms`)
})

t.test('admin - an action on any node is carried out by the owner', async (t) => {
  const [a, b, c] = await startNodes(t, engines, 3, { adminToken: TOKEN })
  const host = new HostPeer(a!)
  const { key } = await host.prepare()
  const { player, id } = await joinPlayer(b!, host, key)
  t.equal((await admin(c!, `/api/admin/rooms/${key}/kick`, { method: 'POST', body: JSON.stringify({ player: id }) })).status, 204)
  t.equal((await player.closedWith()).code, CloseCode.Kicked)
  t.equal((await admin(c!, `/api/admin/rooms/${key}/kick`, { method: 'POST', body: JSON.stringify({ player: 99 }) })).status, 404, 'unknown player, from the owner')
  t.equal((await admin(b!, `/api/admin/rooms/${key}/stop`, { method: 'POST' })).status, 204)
  await host.message('player_left')
  await host.message('state')
  t.equal((await host.message('stop')).cmd, 'stop')
  t.equal((await admin(c!, '/api/admin/rooms/QQQQ/stop', { method: 'POST' })).status, 404)
})
