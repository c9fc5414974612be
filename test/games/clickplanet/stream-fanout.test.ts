/**
 * The update fan-out is spread over event-loop turns: other work runs between its slices,
 * updates made meanwhile go out together next, and every listener still receives every
 * update in order. A ListenerHub with a small slice serves a listen path of a test game in
 * the real server, so a few dozen real sockets stand for thousands.
 */
import t from 'tap'
import { WebSocket } from 'ws'
import { ListenerHub } from '../../../src/games/clickplanet/listener-hub.js'
import { testServer, until } from '../../helpers/server.js'

const SLICE = 7
const LISTENERS = 30

async function hubServer(t: { teardown(fn: () => unknown): void }) {
  const hub = new ListenerHub(SLICE)
  const server = await testServer(t, {}, {
    games: [{ isListenPath: (p: string) => p === '/test/listen', acceptListener: (conn) => hub.accept(conn) }],
  })
  const peers = await Promise.all(
    Array.from({ length: LISTENERS }, () =>
      new Promise<{ ws: WebSocket; got: number[] }>((resolve, reject) => {
        const peer = { ws: new WebSocket(`${server.ws}/test/listen`), got: [] as number[] }
        peer.ws.on('message', (d: Buffer) => peer.got.push(d.readUInt32BE(0)))
        peer.ws.once('open', () => resolve(peer))
        peer.ws.once('error', reject)
      }),
    ),
  )
  t.teardown(() => peers.forEach((p) => p.ws.terminate()))
  await until(() => hub.size === LISTENERS, 'every listener to be accepted')
  return { hub, peers }
}

const update = (n: number): Buffer => {
  const b = Buffer.alloc(12, n & 0xff)
  b.writeUInt32BE(n, 0)
  return b
}

t.test('stream fan-out - one update to more sockets than a slice is written over several turns; other work runs between them', async (t) => {
  const { hub, peers } = await hubServer(t)
  hub.broadcast(update(1))
  t.equal(hub.sent, SLICE, 'one slice is written at once, the rest later')
  let sentWhenOtherWorkRan = -1
  setImmediate(() => (sentWhenOtherWorkRan = hub.sent))
  await until(() => hub.sent === LISTENERS, 'the fan-out to reach every socket')
  t.ok(sentWhenOtherWorkRan > 0 && sentWhenOtherWorkRan < LISTENERS, `other work ran in between (after ${sentWhenOtherWorkRan} sockets)`)
  t.ok(hub.lastBroadcastMaxSliceMs <= hub.lastBroadcastMs, 'the longest turn is part of the whole')
  await until(() => peers.every((p) => p.got.length === 1), 'the update at every listener')
})

t.test('stream fan-out - updates made during a fan-out follow it together, and every listener gets every update in order', async (t) => {
  const { hub, peers } = await hubServer(t)
  const total = 200
  for (let n = 1; n <= total; n++) {
    hub.broadcast(update(n))
    if (n % 13 === 0) await new Promise((r) => setImmediate(r))
  }
  await until(() => peers.every((p) => p.got.length === total), 'every update at every listener')
  const expected = Array.from({ length: total }, (_, i) => i + 1)
  for (const p of peers) t.same(p.got, expected, 'in order, none missing')
  t.equal(hub.sent, total * LISTENERS, 'one frame per update per listener')
})

t.test('stream fan-out - a listener that leaves during a fan-out is skipped; one that joins gets what follows, in order', async (t) => {
  const { hub, peers } = await hubServer(t)
  hub.broadcast(update(1))
  const leaving = peers[LISTENERS - 1]!
  leaving.ws.terminate()
  const late = { ws: new WebSocket(peers[0]!.ws.url), got: [] as number[] }
  late.ws.on('message', (d: Buffer) => late.got.push(d.readUInt32BE(0)))
  t.teardown(() => late.ws.terminate())
  await new Promise((r) => late.ws.once('open', r))
  await until(() => hub.size === LISTENERS, 'the late listener to be accepted and the leaver forgotten')
  hub.broadcast(update(2))
  hub.broadcast(update(3))
  await until(() => late.got.at(-1) === 3 && peers.slice(0, -1).every((p) => p.got.at(-1) === 3), 'update 3 everywhere')
  for (const p of peers.slice(0, -1)) t.same(p.got, [1, 2, 3])
  t.same(late.got.filter((n) => n >= 2), [2, 3], 'the late listener gets the later updates in order')
})
