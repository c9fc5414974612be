import t from 'tap'
import { Encoder } from 'cbor-x'
import { WebSocket, WebSocketServer } from 'ws'
import {
  ClientErrorCode,
  CloseCode,
  type ConnectOptions,
  type PartylineError,
  type WebSocketConstructor,
} from '../../clients/js/index.js'
import { testServer, until } from '../helpers/server.js'
import { trackedSdk } from '../helpers/sdk-clients.js'

const { createRoom, joinRoom, openRoom, reopenRoom, resumeRoom } = trackedSdk(t)

// `ws` and the browser's WebSocket both fit the client's socket type, without a cast.
const opts: ConnectOptions = { WebSocket }
void ((): WebSocketConstructor => globalThis.WebSocket)

for (const format of ['cbor', 'json'] as const) {
  t.test(`client - host and player talk through the server (${format})`, async (t) => {
    const server = await testServer(t)
    const host = await createRoom(server.ws, { ...opts, maxPlayers: 2, name: 'Quiz', public: true, format })
    t.match(host.code, /^[A-Z]{4}$/)
    t.strictSame(host.state, { name: 'Quiz', players: [], roster: [], maxPlayers: 2, acceptConns: true }, 'state fields only, no cmd')
    t.equal(host.dropped, 0, 'a new room has dropped nothing')
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
  const joined = host.once('player_joined')
  const phone = await joinRoom(server.ws, host.code, opts)
  await joined
  const hostClosed = host.once('close')
  host.close()
  await hostClosed
  await until(() => server.registry.get(host.code)?.hostPresent === false, 'the room to see its host gone')
  phone.send('while away')
  const again = reopenRoom(server.ws, host.code, host.token, opts)
  const kept = again.once('from_str')
  await again.ready
  t.not(again.token, host.token, 'fresh token')
  t.equal(again.dropped, 0, 'nothing dropped')
  t.equal((await kept)[1], 'while away')
  await t.rejects(createRoom(server.ws, { ...opts, maxPlayers: 0 }), { code: 'invalid_field' })
})

t.test('client - a resumed host learns how many frames were dropped while it was away, and gets the kept ones in order', async (t) => {
  const server = await testServer(t, { hostGraceMs: 5000, keptFrames: 2 })
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 2 })
  const joined = host.once('player_joined')
  const phone = await joinRoom(server.ws, host.code, opts)
  const [id] = await joined
  host.close()
  await until(() => server.registry.get(host.code)?.hostPresent === false, 'the room to see its host gone')
  for (let i = 1; i <= 5; i++) phone.send(`f${i}`)
  await until(() => server.metrics.drops.get('kept-overflow') === 3, 'three frames over the bound')

  const again = reopenRoom(server.ws, host.code, host.token, opts)
  const kept: [number, string][] = []
  again.on('from_str', (from, data) => kept.push([from, data]))
  await again.ready
  t.equal(again.dropped, 3, 'f3 to f5 were dropped')
  await until(() => kept.length >= 2, 'the kept frames')
  t.same(kept, [[id, 'f1'], [id, 'f2']], 'the kept frames, in order')

  // Only those two: a frame sent now arrives next.
  phone.send('now')
  await until(() => kept.length >= 3, 'the live frame')
  t.same(kept[2], [id, 'now'])

  // The count is per absence.
  again.close()
  await until(() => server.registry.get(host.code)?.hostPresent === false, 'the room to see its host gone again')
  const third = await resumeRoom(server.ws, host.code, again.token, opts)
  t.equal(third.dropped, 0, 'nothing dropped during the second absence')
  third.stop()
})

t.test('client - a refused room closes its connection and rejects with the error', async (t) => {
  const server = await testServer(t)
  const host = openRoom(server.ws, { ...opts, maxPlayers: 0 })
  const closed = host.once('close')
  await t.rejects(host.ready, { code: 'invalid_field' })
  t.equal((await closed)[0], 1000, 'the client closed the connection')
  const resumed = reopenRoom(server.ws, 'ABCD', 'x'.repeat(22), opts)
  await t.rejects(resumed.ready, { code: 'no_such_room' })
  await resumed.once('close')
})

/**
 * A fake partyline that answers `/CREATE` with the given frames (then a good room, then
 * more frames), to see what the client does with frames the real server never sends.
 */
async function fakeServer(
  t: { teardown(fn: () => unknown): void },
  frames: (json: boolean) => { before: (string | Uint8Array)[]; after: (string | Uint8Array)[] },
): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((resolve) => wss.once('listening', resolve))
  t.teardown(() => new Promise((resolve) => wss.close(resolve)))
  const encoder = new Encoder({ useRecords: false, tagUint8Array: false })
  wss.on('connection', (ws, req) => {
    const json = (req.url ?? '').includes('format=json')
    const encode = (m: Record<string, unknown>): string | Uint8Array => (json ? JSON.stringify(m) : encoder.encode(m))
    ws.once('message', () => {
      const { before, after } = frames(json)
      for (const f of before) ws.send(f)
      ws.send(encode({ cmd: 'prepare_reply', key: 'KQZT', token: 't'.repeat(22) }))
      ws.send(encode({ cmd: 'state', name: '', players: [], max_players: 4, accept_conns: true }))
      for (const f of after) ws.send(f)
      ws.send(encode({ cmd: 'from_str', from: 1, data: 'still here' }))
    })
  })
  const address = wss.address()
  if (!address || typeof address === 'string') throw new Error('expected a TCP address')
  return `ws://127.0.0.1:${address.port}`
}

for (const format of ['cbor', 'json'] as const) {
  t.test(`client - a malformed frame from the server is reported as an error event and skipped (${format})`, async (t) => {
    const cbor = new Encoder({ useRecords: false, tagUint8Array: false })
    const bad: [string, string | Uint8Array][] =
      format === 'cbor'
        ? [
            ['not CBOR', new Uint8Array([0xff, 0xff])],
            ['empty', new Uint8Array([])],
            ['truncated', new Uint8Array([0xa1, 0x63, 0x63, 0x6d, 0x64])],
            ['an array', cbor.encode([1, 2])],
            ['no cmd', cbor.encode({ key: 'KQZT' })],
            ['cmd not text', cbor.encode({ cmd: 5 })],
            ['a field of the wrong type', cbor.encode({ cmd: 'player_joined', player: 'x' })],
            ['text data in from', cbor.encode({ cmd: 'from', from: 1, data: 'AAE=' })],
            ['a text frame', '{"cmd":"stop"}'],
          ]
        : [
            ['not JSON', '{"cmd":'],
            ['null', 'null'],
            ['an array', '[]'],
            ['cmd not text', '{"cmd":1}'],
            ['a field of the wrong type', '{"cmd":"state","players":"all","max_players":4,"accept_conns":true}'],
            ['data not base64', '{"cmd":"from","from":1,"data":"***"}'],
            ['a binary frame', cbor.encode({ cmd: 'stop' })],
          ]
    const url = await fakeServer(t, () => ({ before: [], after: bad.map(([, f]) => f) }))
    const host = openRoom(url, { ...opts, maxPlayers: 4, format })
    const errors: PartylineError[] = []
    host.on('error', (e) => errors.push(e))
    const alive = host.once('from_str')
    await host.ready
    t.same(await alive, [1, 'still here'], 'the connection keeps working after the bad frames')
    t.equal(errors.length, bad.length, 'one error per bad frame')
    errors.forEach((e, i) => {
      t.equal(e.code, ClientErrorCode.MalformedMessage, bad[i]![0])
      t.match(e.reason, /^malformed message from the server: /)
    })
    t.strictSame(host.state, { name: '', players: [], roster: [], maxPlayers: 4, acceptConns: true }, 'a bad state does not replace the good one')
    host.close()
  })
}

t.test('client - a malformed frame before the room is ready rejects ready', async (t) => {
  const url = await fakeServer(t, () => ({ before: [new Uint8Array([0x1c])], after: [] }))
  await t.rejects(createRoom(url, { ...opts, maxPlayers: 4 }), { code: ClientErrorCode.MalformedMessage })
})

t.test('client - a refused join rejects with the close code and the reason', async (t) => {
  const server = await testServer(t)
  await t.rejects(joinRoom(server.ws, 'ZZZZ', opts), { name: 'PartylineError', code: CloseCode.NoSuchRoom, reason: 'no such room' })
})
