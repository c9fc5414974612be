import t from 'tap'
import cbor from 'cbor'
import { CborCodec, JsonCodec } from '../../src/protocol/host-codec.js'
import { commandParser } from '../../src/protocol/commands.js'
import type { ServerMessage } from '../../src/protocol/messages.js'

const messages: ServerMessage[] = [
  { cmd: 'prepare_reply', key: 'KQZT', token: 'x'.repeat(32) },
  { cmd: 'prepare_reply', key: 'KQZT', token: 'x'.repeat(32), dropped: 3 },
  { cmd: 'state', name: '', players: [1, 2, 300, 70000], max_players: 8, accept_conns: true },
  { cmd: 'player_joined', player: 1 },
  { cmd: 'player_left', player: 1 },
  { cmd: 'from', from: 2, data: Buffer.from([0, 1, 255]) },
  { cmd: 'from', from: 2, data: new Uint8Array([7, 8]) },
  { cmd: 'from_str', from: 2, data: 'héllo ✓' },
  { cmd: 'error', reason: 'nope', code: 'invalid_field' },
  { cmd: 'stop' },
]

/** Walks CBOR bytes and reports any tag (major type 6): the server must write none. */
function hasTag(bytes: Buffer): boolean {
  let found = false
  // The independent decoder turns unknown tags into Tagged objects; look for them.
  const v = cbor.decodeFirstSync(bytes, { tags: {} }) as unknown
  const visit = (x: unknown): void => {
    if (x instanceof cbor.Tagged) found = true
    else if (Array.isArray(x)) x.forEach(visit)
    else if (x && typeof x === 'object' && !(x instanceof Uint8Array)) Object.values(x).forEach(visit)
  }
  visit(v)
  return found
}

t.test('codec - what the server writes decodes with an independent standard CBOR decoder', async (t) => {
  const codec = new CborCodec(16)
  for (const m of messages) {
    const bytes = codec.encode(m)
    t.equal(bytes[0]! >> 5, 5, `${m.cmd}: a map`)
    const decoded = cbor.decodeFirstSync(bytes, { preferMap: false }) as Record<string, unknown>
    const want = 'data' in m && m.data instanceof Uint8Array ? { ...m, data: Buffer.from(m.data) } : m
    t.same(decoded, want, `${m.cmd} round-trips through node-cbor`)
    t.notOk(hasTag(bytes), `${m.cmd}: no tags`)
  }
})

t.test('codec - byte strings are major type 2 without a tag; integers are CBOR integers', async (t) => {
  const bytes = new CborCodec(16).encode({ cmd: 'from', from: 2, data: new Uint8Array([7, 8]) })
  t.ok(bytes.includes(Buffer.from([0x42, 7, 8])), 'byte string header 0x42')
  t.notOk(bytes.includes(Buffer.from([0xd8, 0x40])), 'no typed-array tag 64')
  t.ok(bytes.includes(Buffer.from([0x64, 0x66, 0x72, 0x6f, 0x6d, 0x02])), '"from": 2 as an integer')
})

t.test('codec - what other encoders write is understood (node-cbor, int arrays)', async (t) => {
  const codec = new CborCodec(16)
  const parse = commandParser('cbor', 100)
  const viaNodeCbor = cbor.encode({ cmd: 'to', to: [1, 2], data: Buffer.from([1, 2, 3]) })
  const d = codec.decode(viaNodeCbor)
  t.ok(d.ok)
  const c = d.ok ? parse(d.value) : undefined
  t.ok(c?.ok && c.command.cmd === 'to' && [...c.command.data].join() === '1,2,3')
  const intArray = codec.decode(cbor.encode({ cmd: 'to', data: [4, 5, 6] }))
  const c2 = intArray.ok ? parse(intArray.value) : undefined
  t.ok(c2?.ok && c2.command.cmd === 'to' && [...c2.command.data].join() === '4,5,6')
})

t.test('codec - JSON mode: text frames, bytes as standard base64', async (t) => {
  const codec = new JsonCodec()
  t.same(JSON.parse(codec.encode({ cmd: 'from', from: 1, data: Buffer.from([0xfb, 0xff]) })), { cmd: 'from', from: 1, data: '+/8=' })
  const d = codec.decode(Buffer.from('{"cmd":"to","data":"+/8="}'))
  const parsed = d.ok ? commandParser('json', 10)(d.value) : undefined
  t.ok(parsed?.ok && parsed.command.cmd === 'to' && [...parsed.command.data].join() === '251,255')
  const bad = codec.decode(Buffer.from('{"cmd":'))
  t.notOk(bad.ok)
  t.match(bad.ok ? '' : bad.reason, /malformed JSON/)
  const notB64 = commandParser('json', 10)({ cmd: 'to', data: 'not base64!' })
  t.notOk(notB64.ok)
})
