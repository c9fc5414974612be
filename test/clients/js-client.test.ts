import t from 'tap'
import { WebSocket } from 'ws'
import { CloseCode, createRoom, joinRoom, reopenRoom, type WebSocketConstructor } from '../../clients/js/index.js'
import { testServer } from '../helpers/server.js'

const opts = { WebSocket: WebSocket as unknown as WebSocketConstructor }

for (const format of ['cbor', 'json'] as const) {
  t.test(`client - host and player talk through the server (${format})`, async (t) => {
    const server = await testServer(t)
    const host = await createRoom(server.ws, { ...opts, maxPlayers: 2, name: 'Quiz', public: true, format })
    t.match(host.code, /^[A-Z]{4}$/)
    t.same(host.state, { cmd: 'state', name: 'Quiz', players: [], max_players: 2, accept_conns: true })
    const joined = host.once('player_joined')
    const phone = await joinRoom(server.ws, host.code.toLowerCase(), opts)
    const [id] = await joined
    const fromBytes = host.once('from')
    const fromText = host.once('from_str')
    phone.send(new Uint8Array([1, 2]))
    phone.send('hi')
    const [who, data] = await fromBytes
    t.equal(who, id)
    t.same([...data], [1, 2])
    t.same(await fromText, [id, 'hi'])
    const got = phone.once('message')
    host.send(new Uint8Array([255, 0]), [id])
    t.same([...((await got)[0] as Uint8Array)], [255, 0])
    const text = phone.once('message')
    host.sendText('all')
    t.same(await text, ['all'])
    const closed = phone.once('close')
    host.stop()
    t.equal((await closed)[0], CloseCode.RoomStopped)
  })
}

t.test('client - errors arrive as PartylineError with a code; resume takes the room back', async (t) => {
  const server = await testServer(t, { hostGraceMs: 5000 })
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 2 })
  const err = host.once('error')
  host.kick(42)
  t.equal((await err)[0].code, 'unknown_player')
  const phone = await joinRoom(server.ws, host.code, opts)
  await host.once('player_joined')
  const hostClosed = host.once('close')
  host.close()
  await hostClosed
  phone.send('while away')
  const again = reopenRoom(server.ws, host.code, host.token, opts)
  const kept = again.once('from_str')
  await again.ready
  t.not(again.token, host.token, 'fresh token')
  t.equal((await kept)[1], 'while away')
  await t.rejects(createRoom(server.ws, { ...opts, maxPlayers: 0 }), { code: 'invalid_field' })
})
