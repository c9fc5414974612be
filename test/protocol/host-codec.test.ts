import t from 'tap'
import cbor from 'cbor'
import { CborCodec, JsonCodec } from '../../src/protocol/host-codec.js'
import { commandParser } from '../../src/protocol/commands.js'
import type { ServerMessage } from '../../src/protocol/messages.js'

const limits = { maxDepth: 16, maxContainers: 64, maxMapEntries: 64 }

const messages: ServerMessage[] = [
  { cmd: 'prepare_reply', key: 'KQZT', token: 'x'.repeat(32) },
  { cmd: 'prepare_reply', key: 'KQZT', token: 'x'.repeat(32), dropped: 3 },
  {
    cmd: 'state',
    name: '',
    players: [1, 2, 300, 70000],
    max_players: 8,
    accept_conns: true,
    roster: [{ id: 1, away: false }, { id: 2, name: 'Ann', away: true }, { id: 300, name: 'Zoë 🎲', away: false }, { id: 70000, away: false }],
  },
  { cmd: 'player_joined', player: 1 },
  { cmd: 'player_joined', player: 2, name: 'Ann' },
  { cmd: 'player_left', player: 1 },
  { cmd: 'player_away', player: 2 },
  { cmd: 'player_back', player: 2 },
  { cmd: 'player_back', player: 2, replaced: true },
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
  const codec = new CborCodec(limits)
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
  const bytes = new CborCodec(limits).encode({ cmd: 'from', from: 2, data: new Uint8Array([7, 8]) })
  t.ok(bytes.includes(Buffer.from([0x42, 7, 8])), 'byte string header 0x42')
  t.notOk(bytes.includes(Buffer.from([0xd8, 0x40])), 'no typed-array tag 64')
  t.ok(bytes.includes(Buffer.from([0x64, 0x66, 0x72, 0x6f, 0x6d, 0x02])), '"from": 2 as an integer')
})

t.test('codec - what other encoders write is understood (node-cbor, int arrays)', async (t) => {
  const codec = new CborCodec(limits)
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
  const codec = new JsonCodec(limits)
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

t.test('codec - frames past the structure limits are error too_complex in both modes; hostile shapes are not decoded', async (t) => {
  const cborCodec = new CborCodec(limits)
  const jsonCodec = new JsonCodec(limits)
  const parse = commandParser('cbor', 100)
  // 120,000 keys: what took ~65 ms to decode, refused at its head.
  const bigMap = Buffer.concat([Buffer.from([0xba, 0x00, 0x01, 0xd4, 0xc0]), Buffer.alloc(240_000, 0x00)])
  const manyArrays = Buffer.concat([Buffer.from([0x9a, 0x00, 0x01, 0x86, 0xa0]), Buffer.alloc(100_000, 0x80)])
  const cases: [string, ReturnType<typeof cborCodec.decode>][] = [
    ['a CBOR map of 120,000 entries', cborCodec.decode(bigMap)],
    ['a CBOR array of 100,000 empty arrays', cborCodec.decode(manyArrays)],
    ['a CBOR message with 65 keys', cborCodec.decode(cbor.encode({ cmd: 'start', ...Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i])) }))],
    ['a JSON object of 120,000 members', jsonCodec.decode(Buffer.from(`{${Array.from({ length: 120_000 }, (_, i) => `"k${i}":0`).join(',')}}`))],
    ['a JSON array of 100,000 empty arrays', jsonCodec.decode(Buffer.from(`[${Array(100_000).fill('[]').join(',')}]`))],
  ]
  for (const [what, d] of cases) {
    t.equal(d.ok, false, `${what}: refused`)
    if (!d.ok) {
      t.equal(d.code, 'too_complex', `${what}: too_complex`)
      t.match(d.reason, /more than 64 (maps and arrays|map entries)/, `${what}: ${d.reason}`)
    }
  }
  const atLimit = cborCodec.decode(cbor.encode({ cmd: 'to', to: [1], data: [1], ...Object.fromEntries(Array.from({ length: 61 }, (_, i) => [`k${i}`, i])) }))
  t.ok(atLimit.ok && parse(atLimit.value).ok, '64 entries and 3 containers pass')
  const jsonText = jsonCodec.decode(Buffer.from('{"cmd":"to_str","data":"[[[[{{{{:::: \\" [ {"}'))
  t.ok(jsonText.ok, 'brackets, braces and colons inside JSON strings do not count')
  const deep = jsonCodec.decode(Buffer.from('['.repeat(17) + ']'.repeat(17)))
  t.match(deep.ok ? '' : deep.reason, /nesting deeper than 16/, 'JSON nesting is bounded like CBOR nesting')
  t.equal(deep.ok ? '' : deep.code, 'malformed_frame')
})

t.test('codec - a `to` list longer than the most players a room can hold is refused by its length', async (t) => {
  const parse = commandParser('cbor', 100)
  const long = parse({ cmd: 'to_str', to: new Array<number>(300_000).fill(1), data: 'x' })
  t.notOk(long.ok)
  if (!long.ok) {
    t.equal(long.code, 'invalid_field')
    t.match(long.reason, /to_str: to lists 300000 ids; a room holds at most 100 players/)
  }
  const atBound = parse({ cmd: 'to', to: new Array<number>(100).fill(1), data: [1] })
  t.ok(atBound.ok, '100 ids (duplicates included) pass: the room sends each player one frame')
  t.ok(parse({ cmd: 'prepare', max_players: 4, to: new Array<number>(200).fill(1) }).ok, 'only to / to_str are held to it')
})
