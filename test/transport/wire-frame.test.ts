/**
 * Frames the server writes itself (src/transport/wire-frame.ts) must be what any WebSocket
 * client reads: every payload length encoding (7-bit, 16-bit, 64-bit), text whose byte length
 * differs from its character count, the merged and the head + tail write, and one payload
 * framed once for several players.
 */
import t from 'tap'
import { roomWithPlayers, testServer } from '../helpers/server.js'

// Around each boundary of the length field (125/126, 65535/65536) and of the merge limit (1 KiB).
const SIZES = [0, 1, 125, 126, 127, 1023, 1024, 1025, 65535, 65536, 65537, 300_000]

t.test('wire frame - binary payloads of every length encoding reach every player byte for byte', async (t) => {
  const server = await testServer(t)
  const { host, players } = await roomWithPlayers(server, 3)
  for (const size of SIZES) {
    const data = Buffer.alloc(size)
    for (let i = 0; i < size; i++) data[i] = (i * 31 + size) & 0xff
    host.command({ cmd: 'to', data })
    for (const p of players) t.same(await p.next(`${size} bytes`), data, `${size} bytes, intact`)
  }
})

t.test('wire frame - text payloads are framed by their UTF-8 length, not their character count', async (t) => {
  const server = await testServer(t)
  const { host, players } = await roomWithPlayers(server, 2)
  // 'é' is 2 bytes, '🎲' 4: these cross the length boundaries in bytes, not in characters.
  for (const text of ['', 'é'.repeat(63), 'é'.repeat(64), '🎲'.repeat(300), 'é'.repeat(32_767) + 'a', 'é'.repeat(32_768), 'x🎲'.repeat(20_000)]) {
    host.command({ cmd: 'to_str', data: text })
    for (const p of players) t.equal(await p.next(), text, `${Buffer.byteLength(text)} bytes of text`)
  }
})

t.test('wire frame - player frames of every length encoding reach the host as from / from_str', async (t) => {
  const server = await testServer(t)
  const { host, players, ids } = await roomWithPlayers(server, 1)
  for (const size of [0, 125, 126, 65535, 65536]) {
    const data = Buffer.alloc(size, size & 0xff)
    players[0]!.send(data)
    const m = await host.message('from')
    t.equal(m.from, ids[0])
    t.same(Buffer.from(m.data as Uint8Array), data, `${size} bytes from a player`)
  }
  players[0]!.send('ünïcödé')
  t.equal((await host.message('from_str')).data, 'ünïcödé')
})
