/**
 * What a real network and hostile peers do to the server: long streams, peers that vanish
 * without a close frame, hostile CBOR from a real host socket, pipelined commands, hostile
 * HTTP requests.
 */
import { connect } from 'node:net'
import t from 'tap'
import {
  burst,
  encoder,
  fence,
  HostPeer,
  PlayerPeer,
  roomWithPlayers,
  stopReading,
  testServer,
  until,
  type Msg,
} from '../helpers/server.js'
import { rawExchange, rawJson } from '../helpers/raw-http.js'
import { SMALL_MAP } from '../games/clickplanet/harness.js'

const FRAMES = 10_000

t.test(`robustness - ${FRAMES} frames each way arrive complete and in order`, async (t) => {
  // Completeness and order, not the inbound budget (inbound-budget.test.ts): the player may
  // send its frames as fast as the host's.
  const server = await testServer(t, { playerFramesPerSecond: 5000 })
  const { host, players, ids } = await roomWithPlayers(server, 2)
  const [target, bystander] = players as [PlayerPeer, PlayerPeer]
  const frame = (i: number): Buffer => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(i)
    return b
  }
  for (let i = 0; i < FRAMES; i++) host.command({ cmd: 'to', to: [ids[0]], data: frame(i) })
  for (let i = 0; i < FRAMES; i++) target.send(frame(i))
  await until(() => target.frames.length >= FRAMES, `${FRAMES} frames at the player`, 20_000)
  const down = target.frames.map((f) => (f as Buffer).readUInt32BE(0))
  t.same(down, Array.from({ length: FRAMES }, (_, i) => i), 'host to player: complete and in order')
  const up: number[] = []
  while (up.length < FRAMES) {
    const m = await host.message('from', 20_000)
    if (m.from !== ids[0]) throw new Error(`a frame from ${String(m.from)}`)
    up.push(Buffer.from(m.data as Uint8Array).readUInt32BE(0))
  }
  t.same(up, Array.from({ length: FRAMES }, (_, i) => i), 'player to host: complete and in order')
  t.same(bystander.frames, [], 'nothing for the player not listed')
})

t.test('robustness - a player whose TCP connection is cut (no close frame) leaves the room', async (t) => {
  const server = await testServer(t)
  const { host, players, ids } = await roomWithPlayers(server, 2)
  players[0]!.ws.terminate()
  t.same(await host.message('player_left'), { cmd: 'player_left', player: ids[0] })
  t.same((await host.message('state')).players, [ids[1]])
})

t.test('robustness - a player that stops answering pings is dropped and leaves the room', async (t) => {
  const server = await testServer(t, { pingIntervalMs: 100 })
  const { host, players, ids } = await roomWithPlayers(server, 2)
  stopReading(players[0]!)
  t.same(await host.message('player_left'), { cmd: 'player_left', player: ids[0] })
  t.same((await host.message('state')).players, [ids[1]])
  players[0]!.ws.terminate()
  host.command({ cmd: 'to_str', data: 'still here' })
  t.equal(await players[1]!.next(), 'still here', 'a player that answers pings stays')
})

t.test('robustness - a host whose TCP connection is cut starts the grace period; the players are closed 4010 when it ends', async (t) => {
  const server = await testServer(t, { hostGraceMs: 500 })
  const { host, key, players } = await roomWithPlayers(server, 1)
  host.ws.terminate()
  await until(() => server.registry.get(key)?.hostPresent === false, 'the host to be detached')
  t.equal(players[0]!.closed, undefined, 'the player waits during the grace period')
  t.equal((await players[0]!.closedWith()).code, 4010)
})

t.test('robustness - a host that stops answering pings starts the grace period; the players are closed 4010 when it ends', async (t) => {
  const server = await testServer(t, { hostGraceMs: 200, pingIntervalMs: 100 })
  const { host, key, players } = await roomWithPlayers(server, 1)
  stopReading(host)
  await until(() => server.registry.get(key)?.hostPresent === false, 'the silent host to be dropped')
  t.equal((await players[0]!.closedWith()).code, 4010)
  host.ws.terminate()
})

/** A small deterministic generator, so a failing case can be replayed. */
function randomBytes(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

function hostileFrames(): [string, Buffer][] {
  const prepare = encoder.encode({ cmd: 'prepare', max_players: 4 })
  const chained = Buffer.alloc(40 * 1024)
  for (let i = 0; i + 9 <= chained.length; i += 9) {
    chained[i] = 0x9b
    chained.fill(0xff, i + 1, i + 9)
  }
  const nested = Buffer.alloc(100_001, 0x81)
  nested[100_000] = 0x00
  return [
    ['chained array headers 0x9b ff.. in 40 KB', chained],
    ['100,000 nested arrays', nested],
    ['a cbor-x record tag 0xd8 0x69', Buffer.concat([Buffer.from([0xd8, 0x69]), prepare])],
    ['a tagged map (tag 0)', Buffer.concat([Buffer.from([0xc0]), prepare])],
    ['a byte string declaring 2^40 bytes', Buffer.from([0x5b, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02])],
    ['a map declaring 2^32 entries', Buffer.from([0xbb, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x63, 0x63, 0x6d, 0x64])],
    ['a truncated prepare', prepare.subarray(0, prepare.length - 3)],
    ['a prepare with trailing bytes', Buffer.concat([prepare, Buffer.from([0x00])])],
    ['two prepares in one frame', Buffer.concat([prepare, prepare])],
    ['an indefinite map without its break', Buffer.from([0xbf, 0x63, 0x63, 0x6d, 0x64, 0x65, 0x73, 0x74, 0x61, 0x72, 0x74])],
    ['invalid UTF-8 in a text key', Buffer.from([0xa1, 0x63, 0xff, 0xfe, 0xfd, 0x01])],
    ['an empty frame', Buffer.alloc(0)],
    ['random bytes (seed 1)', randomBytes(1, 1000)],
    ['random bytes (seed 2)', randomBytes(2, 64)],
    ['random bytes (seed 3)', randomBytes(3, 5000)],
    ['valid CBOR: an array', encoder.encode(['prepare', 4])],
    ['valid CBOR: a text string', encoder.encode('prepare')],
    ['valid CBOR: an integer', encoder.encode(42)],
    ['valid CBOR: null', encoder.encode(null)],
    ['valid CBOR: a byte string', encoder.encode(Buffer.from('prepare'))],
  ]
}

t.test('robustness - hostile CBOR from a host socket: each frame is error malformed_frame, the connection then prepares, and another room keeps relaying', async (t) => {
  const server = await testServer(t)
  const other = await roomWithPlayers(server, 1)
  const hostile = new HostPeer(server)
  await hostile.opened
  let round = 0
  for (const [what, frame] of hostileFrames()) {
    hostile.send(frame)
    const err = await hostile.message(undefined, 5000)
    t.same([err.cmd, err.code], ['error', 'malformed_frame'], what)
    t.type(err.reason, 'string')
    // The other room relays both ways between hostile frames.
    const tag = `round ${++round}`
    other.host.command({ cmd: 'to_str', data: tag })
    t.equal(await other.players[0]!.next(), tag, `${what}: the other room still relays to its player`)
    other.players[0]!.send(tag)
    t.same(await other.host.message('from_str'), { cmd: 'from_str', from: other.ids[0], data: tag })
  }
  t.equal(hostile.closed, undefined, 'the hostile connection is still open')
  const { key } = await hostile.prepare({ max_players: 2 })
  t.match(key, /^[A-Z]{4}$/, 'and still prepares a room')
})

t.test('robustness - pipelined prepare, to, to_str, start and kick in one burst are applied in order', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  await host.opened
  burst(host, () => {
    host.command({ cmd: 'prepare', max_players: 2, name: 'Burst' })
    host.command({ cmd: 'to', data: [1, 2, 3] })
    host.command({ cmd: 'to_str', data: 'nobody yet' })
    host.command({ cmd: 'start' })
    host.send('{"cmd":"stop"}')
    host.command({ cmd: 'kick', player: 99 })
    host.command({ cmd: 'prepare', max_players: 2 })
  })
  const got: Msg[] = []
  for (let i = 0; i < 6; i++) got.push(await host.message())
  t.same(
    got.map((m) => [m.cmd, m.code ?? m.accept_conns ?? null]),
    [
      ['prepare_reply', null],
      ['state', true],
      ['state', false],
      ['error', 'wrong_frame_type'],
      ['error', 'unknown_player'],
      ['error', 'already_prepared'],
    ],
    'to and to_str were carried out in the new room (no not_prepared), then start, the text frame, kick, prepare in turn',
  )
  t.same(await fence(host), [])
})

t.test('robustness - an upgrade request with a malformed target is answered 400 and the server keeps serving', async (t) => {
  const server = await testServer(t)
  for (const target of ['//[', 'http://[::1/CREATE']) {
    const socket = connect(server.port, '127.0.0.1')
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    )
    const answer = await new Promise<string>((resolve) => {
      let text = ''
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
      socket.on('close', () => resolve(text))
      socket.on('error', () => {})
    })
    t.match(answer, /^HTTP\/1\.1 400 /, `${target}: 400`)
  }
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  t.match(key, /^[A-Z]{4}$/, 'the server still serves')
})

/** Requests no well-behaved client sends: each must get its status and registered code. */
function hostileRequests(): [string, string, number, string][] {
  const post = 'POST /api/click HTTP/1.1\r\nHost: partyline\r\nContent-Type: application/json\r\n'
  return [
    ['garbage for a request line', 'HELLO THERE\r\n\r\n', 400, 'malformed_request'],
    ['a NUL in a header value', 'GET /healthz HTTP/1.1\r\nHost: partyline\r\nX-A: a\0b\r\n\r\n', 400, 'malformed_request'],
    ['Content-Length and Transfer-Encoding together (smuggling)', `${post}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'malformed_request'],
    ['two different Content-Lengths', `${post}Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef`, 400, 'malformed_request'],
    ['a negative Content-Length', `${post}Content-Length: -5\r\n\r\n`, 400, 'malformed_request'],
    ['a Content-Length of 10^23', `${post}Content-Length: 99999999999999999999999\r\n\r\n`, 400, 'malformed_request'],
    ['a chunk size that is not hex', `${post}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n`, 400, 'malformed_request'],
    ['a chunk extension of 20 KB', `${post}Transfer-Encoding: chunked\r\n\r\n1;${'a'.repeat(20_000)}\r\nx\r\n0\r\n\r\n`, 400, 'malformed_request'],
    ['Transfer-Encoding: gzip', `${post}Transfer-Encoding: gzip\r\n\r\nabc`, 400, 'malformed_request'],
    ['an obsolete folded header', 'GET /healthz HTTP/1.1\r\nHost: partyline\r\nX-A: a\r\n b\r\n\r\n', 400, 'malformed_request'],
    ['a space in a header name', 'GET /healthz HTTP/1.1\r\nHost: partyline\r\nX A: b\r\n\r\n', 400, 'malformed_request'],
    ['bare LF line ends', 'GET /healthz HTTP/1.1\nHost: partyline\n\n', 400, 'malformed_request'],
    ['HTTP/9.9', 'GET /healthz HTTP/9.9\r\nHost: partyline\r\n\r\n', 400, 'malformed_request'],
    ['an unknown method', 'BREW /healthz HTTP/1.1\r\nHost: partyline\r\n\r\n', 400, 'malformed_request'],
    ['no Host header', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'malformed_request'],
    ['a request target no URL parser takes', 'GET //[ HTTP/1.1\r\nHost: partyline\r\n\r\n', 400, 'malformed_request'],
    ['CONNECT, as to a proxy', 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n', 405, 'method_not_allowed'],
    ['headers over 16 KiB', `GET /healthz HTTP/1.1\r\nHost: partyline\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, 431, 'headers_too_large'],
    ['a body declared at 1 GB', `${post}Content-Length: 1000000000\r\n\r\n{"data":`, 413, 'body_too_large'],
    ['a path climbing out of the root', 'GET /../../etc/passwd HTTP/1.1\r\nHost: partyline\r\nConnection: close\r\n\r\n', 404, 'no_route'],
    ['percent-garbage in a room code', 'GET /api/rooms/%ZZ%00 HTTP/1.1\r\nHost: partyline\r\nConnection: close\r\n\r\n', 404, 'no_such_room'],
  ]
}

t.test('robustness - hostile HTTP requests: each gets its status and code, and a room keeps relaying', async (t) => {
  const server = await testServer(t, { clickplanet: true, map: SMALL_MAP, joinAttemptsPerMinute: 1000 })
  const other = await roomWithPlayers(server, 1)
  let round = 0
  for (const [what, request, status, code] of hostileRequests()) {
    const answer = await rawExchange(server.port, (socket) => {
      socket.on('error', () => {})
      socket.write(request)
    })
    t.equal(answer.status, status, `${what}: ${status}`)
    t.match(rawJson(answer), { code, error: String }, `${what}: ${code}`)
    const tag = `round ${++round}`
    other.host.command({ cmd: 'to_str', data: tag })
    t.equal(await other.players[0]!.next(), tag, `${what}: the room still relays`)
  }
  t.equal(server.clickplanet!.stats.clicksAccepted, 0)
})
