import { deepStrictEqual, ok as assertOk } from 'node:assert/strict'
import t from 'tap'
import fc from 'fast-check'
import { Encoder, decode } from 'cbor-x'
import { inspectCbor, type CborLimits } from '../../src/protocol/cbor-guard.js'

const limits: CborLimits = { maxDepth: 16 }
/** The limits the host codec applies by default (PARTYLINE_CBOR_MAX_*). */
const hostLimits: CborLimits = { maxDepth: 16, maxContainers: 64, maxMapEntries: 64 }
/** How the host codec and the clients encode: plain maps, byte strings without typed-array tags. */
const plain = new Encoder({ useRecords: false, tagUint8Array: false })

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs)
const concat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts))
const repeat = (pattern: number[], size: number): Uint8Array => {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = pattern[i % pattern.length] ?? 0
  return out
}
const hex = (b: Uint8Array): string => Buffer.from(b.subarray(0, 16)).toString('hex') + (b.length > 16 ? '…' : '')

interface HostileCase {
  name: string
  frame: Uint8Array
  /** A fragment the refusal's reason must contain. */
  reason: string
}

const hostile: HostileCase[] = [
  {
    name: 'chained 64-bit array headers filling 40 KB',
    frame: repeat([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 40 * 1024),
    reason: 'declared array length 18446744073709551615 exceeds the 40951 bytes left',
  },
  {
    name: 'chained 32-bit array headers',
    frame: concat(repeat([0x9a, 0xff, 0xff, 0xff, 0xff], 40), bytes(0x00, 0x00)),
    reason: 'declared array length 4294967295 exceeds the 37 bytes left',
  },
  {
    name: 'a map declaring 2^32 entries',
    frame: bytes(0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x01, 0x02),
    reason: 'declared map length 4294967296 needs 8589934592 bytes, only 2 left',
  },
  {
    name: 'a map declaring more entries than half the bytes left',
    frame: bytes(0xa3, 0x01, 0x02, 0x03, 0x04, 0x05),
    reason: 'declared map length 3 needs 6 bytes, only 5 left',
  },
  {
    name: 'a byte string declaring 2^53 bytes',
    frame: bytes(0x5b, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0xaa),
    reason: 'declared byte string length 9007199254740992 exceeds the 1 bytes left',
  },
  {
    name: 'a text string declaring 2^64 - 1 bytes',
    frame: bytes(0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    reason: 'declared text string length 18446744073709551615 exceeds the 0 bytes left',
  },
  { name: '100,000 nested one-item arrays', frame: new Uint8Array(100_000).fill(0x81), reason: 'nesting deeper than 16' },
  { name: '100,000 nested indefinite arrays', frame: new Uint8Array(100_000).fill(0x9f), reason: 'nesting deeper than 16' },
  { name: 'nested one-entry maps', frame: concat(repeat([0xa1, 0x00], 40), bytes(0x00)), reason: 'nesting deeper than 16' },
  {
    name: 'one level past the limit',
    frame: concat(new Uint8Array(17).fill(0x81), bytes(0x01)),
    reason: 'nesting deeper than 16',
  },
  { name: 'cbor-x record tag 0xd8 0x69', frame: bytes(0xd8, 0x69, 0x83, 0x01, 0x80, 0x01), reason: 'tags are not allowed (tag 105)' },
  { name: 'date tag 0xc0', frame: bytes(0xc0, 0x60), reason: 'tags are not allowed (tag 0)' },
  { name: 'cbor-x structure tag 0xd9 0xe0 0x00', frame: bytes(0xd9, 0xe0, 0x00, 0x80), reason: 'tags are not allowed (tag 57344)' },
  {
    name: 'a tag nested inside an accepted-looking message',
    frame: plain.encode({ cmd: 'to', data: new Date(0) }),
    reason: 'tags are not allowed (tag 1)',
  },
  {
    name: 'a message encoded by cbor-x with useRecords: true',
    frame: new Encoder({ useRecords: true }).encode({ cmd: 'prepare', max_players: 8, name: 'Quiz' }),
    reason: 'tags are not allowed (tag 57343)',
  },
  {
    name: 'a typed array with its cbor-x tag',
    frame: new Encoder({ useRecords: false }).encode({ cmd: 'to', data: new Uint16Array([1, 2]) }),
    reason: 'tags are not allowed',
  },
  { name: 'an empty frame', frame: bytes(), reason: 'empty message' },
  { name: 'a head cut in its argument', frame: bytes(0x19, 0x01), reason: 'truncated message' },
  { name: 'a map missing its last value', frame: bytes(0xa1, 0x61, 0x61), reason: 'truncated message' },
  { name: 'an indefinite array without its break', frame: bytes(0x9f, 0x01, 0x02), reason: 'truncated message' },
  { name: 'an indefinite string without its break', frame: bytes(0x7f, 0x61, 0x61), reason: 'truncated message' },
  {
    name: 'a real message cut in a text string',
    frame: plain.encode({ cmd: 'prepare', max_players: 8, name: 'Quiz' }).subarray(0, 36),
    reason: 'declared text string length 4 exceeds the 2 bytes left',
  },
  { name: 'trailing garbage after a valid message', frame: concat(plain.encode({ cmd: 'start' }), bytes(0xde, 0xad)), reason: 'trailing bytes after the message' },
  { name: 'two top-level items', frame: bytes(0x01, 0x02), reason: 'trailing bytes after the message' },
  { name: 'invalid utf-8 (bad continuation)', frame: bytes(0x62, 0xc3, 0x28), reason: 'invalid utf-8 in text string' },
  { name: 'invalid utf-8 (encoded surrogate)', frame: bytes(0x63, 0xed, 0xa0, 0x80), reason: 'invalid utf-8 in text string' },
  { name: 'invalid utf-8 (overlong)', frame: bytes(0x62, 0xc0, 0xaf), reason: 'invalid utf-8 in text string' },
  { name: 'a code point split across text chunks', frame: bytes(0x7f, 0x61, 0xc3, 0x61, 0xa9, 0xff), reason: 'invalid utf-8 in text string' },
  { name: 'reserved additional information 28', frame: bytes(0x1c), reason: 'reserved additional information 28' },
  { name: 'reserved additional information 30 in an array', frame: bytes(0x82, 0x01, 0x9e), reason: 'reserved additional information 30' },
  { name: 'indefinite length on an integer', frame: bytes(0x1f), reason: 'indefinite length is not allowed for an unsigned integer' },
  { name: 'a stray break', frame: bytes(0xff), reason: 'unexpected break (0xff)' },
  { name: 'a break inside a definite array', frame: bytes(0x82, 0x01, 0xff), reason: 'unexpected break (0xff)' },
  { name: 'an indefinite byte string with a text chunk', frame: bytes(0x5f, 0x41, 0x00, 0x61, 0x61, 0xff), reason: 'indefinite-length byte string has a text string chunk' },
  { name: 'an indefinite text string with an integer chunk', frame: bytes(0x7f, 0x01, 0xff), reason: 'indefinite-length text string has an unsigned integer chunk' },
  { name: 'nested indefinite string chunks', frame: bytes(0x5f, 0x5f, 0xff, 0xff), reason: 'has an indefinite chunk' },
  { name: 'an indefinite map with a key and no value', frame: bytes(0xbf, 0x61, 0x61, 0x01, 0x61, 0x62, 0xff), reason: 'indefinite map ends with a key that has no value' },
  { name: 'a two-byte simple value below 32', frame: bytes(0xf8, 0x14), reason: 'simple value 20 in two-byte form is not well-formed' },
  { name: 'an unassigned simple value', frame: bytes(0xe5), reason: 'unassigned simple value 5' },
  { name: 'an unassigned two-byte simple value', frame: bytes(0xf8, 0x80), reason: 'unassigned simple value 128' },
]

/** Honest frames, well-formed and tag-free, that cost the decoder far more than their size. */
const tooComplex: Array<HostileCase & { exceeded: 'containers' | 'map-entries' }> = [
  {
    name: 'a map of 120,000 entries (65 ms for cbor-x to build)',
    frame: concat(bytes(0xba, 0x00, 0x01, 0xd4, 0xc0), new Uint8Array(240_000)),
    reason: 'more than 64 map entries in one message',
    exceeded: 'map-entries',
  },
  {
    name: '1 MiB of empty arrays in an array (190 ms)',
    frame: concat(bytes(0x9a, 0x00, 0x0f, 0xff, 0xfb), new Uint8Array(0xffffb).fill(0x80)),
    reason: 'more than 64 maps and arrays in one message',
    exceeded: 'containers',
  },
  {
    name: '350,000 one-entry maps in an array (210 ms)',
    frame: concat(bytes(0x9a, 0x00, 0x05, 0x55, 0x55), repeat([0xa1, 0x00, 0x00], 3 * 0x55555)),
    reason: 'more than 64 maps and arrays in one message',
    exceeded: 'containers',
  },
  {
    name: 'an indefinite map of 65 entries',
    frame: concat(bytes(0xbf), repeat([0x00, 0x00], 130), bytes(0xff)),
    reason: 'more than 64 map entries in one message',
    exceeded: 'map-entries',
  },
  {
    name: 'a protocol message with 65 keys',
    frame: plain.encode({ cmd: 'start', ...Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i])) }),
    reason: 'more than 64 map entries in one message',
    exceeded: 'map-entries',
  },
  {
    name: 'two maps of 40 entries each',
    frame: plain.encode([Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`a${i}`, i])), Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`b${i}`, i]))]),
    reason: 'more than 64 map entries in one message',
    exceeded: 'map-entries',
  },
]

/** Valid host messages and edge shapes that must pass. */
const valid: Array<{ name: string; frame: Uint8Array }> = [
  { name: 'prepare', frame: plain.encode({ cmd: 'prepare', max_players: 8, name: 'Quiz' }) },
  { name: 'to with a byte string', frame: plain.encode({ cmd: 'to', to: [1, 2], data: Buffer.from([1, 2, 3]) }) },
  { name: 'to with an array of integers', frame: plain.encode({ cmd: 'to', data: [0, 255, 3] }) },
  { name: 'to_str with non-ascii text', frame: plain.encode({ cmd: 'to_str', to: [7], data: 'héllo ✓ 🎲' }) },
  { name: 'start, stop, kick', frame: plain.encode([{ cmd: 'start' }, { cmd: 'stop' }, { cmd: 'kick', player: 3 }]) },
  { name: 'floats and 64-bit integers', frame: plain.encode([1.5, 0.1, -0, Infinity, -Infinity, NaN, 1e300, 2 ** 60, -(2 ** 60)]) },
  { name: 'half, single and double floats by hand', frame: bytes(0x83, 0xf9, 0x3c, 0x00, 0xfa, 0x47, 0xc3, 0x50, 0x00, 0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a) },
  { name: 'false, true, null, undefined', frame: bytes(0x84, 0xf4, 0xf5, 0xf6, 0xf7) },
  { name: 'arrays nested exactly to the limit', frame: concat(new Uint8Array(16).fill(0x81), bytes(0x01)) },
  { name: 'indefinite arrays nested exactly to the limit', frame: concat(new Uint8Array(16).fill(0x9f), new Uint8Array(16).fill(0xff)) },
  { name: 'a non-preferred (longer) integer head', frame: bytes(0x1b, 0, 0, 0, 0, 0, 0, 0, 0x01) },
  { name: 'an indefinite map by hand', frame: bytes(0xbf, 0x63, 0x63, 0x6d, 0x64, 0x65, 0x73, 0x74, 0x61, 0x72, 0x74, 0xff) },
  { name: 'an indefinite map holding an indefinite array', frame: bytes(0xbf, 0x62, 0x74, 0x6f, 0x9f, 0x01, 0x02, 0xff, 0xff) },
  { name: 'an empty indefinite array and map', frame: bytes(0x82, 0x9f, 0xff, 0xbf, 0xff) },
  { name: 'an indefinite text string by hand', frame: bytes(0x7f, 0x63, 0x68, 0xc3, 0xa9, 0x62, 0x6c, 0x6f, 0x60, 0xff) },
  { name: 'an indefinite byte string by hand', frame: bytes(0x5f, 0x42, 0x01, 0x02, 0x40, 0x41, 0x03, 0xff) },
  { name: 'an empty indefinite byte string', frame: bytes(0x5f, 0xff) },
  // Honest frames as large as hostile ones: what they declare is what they carry.
  { name: '40 KB array of small integers', frame: plain.encode(new Array<number>(40_000).fill(7)) },
  { name: '40 KB of empty arrays', frame: concat(bytes(0x99, 0x9c, 0x40), new Uint8Array(40_000).fill(0x80)) },
  { name: 'a 40 KB byte string', frame: plain.encode({ cmd: 'to', data: new Uint8Array(40_000).fill(9) }) },
  { name: 'a 20,000-entry map', frame: plain.encode(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))) },
  // The most work per byte the walk does: a head and a UTF-8 check for every byte.
  { name: '40,000 empty chunks in one indefinite text string', frame: concat(bytes(0x7f), new Uint8Array(40_000).fill(0x60), bytes(0xff)) },
  { name: '40 KB array of empty text strings', frame: concat(bytes(0x99, 0x9c, 0x40), new Uint8Array(40_000).fill(0x60)) },
]

/**
 * A bound on what a decoded value holds: one per value, plus string and byte lengths, plus each
 * object key as the string cbor-x makes of it. Keys are why the factor is 10, not 1: cbor-x turns
 * a scalar key into its decimal string, and the 1-byte `undefined` (0xf7) becomes 9 characters.
 */
function footprint(value: unknown): number {
  if (typeof value === 'string') return 1 + value.length
  if (value instanceof Uint8Array) return 1 + value.length
  if (Array.isArray(value)) return value.reduce((n: number, item: unknown) => n + footprint(item), 1)
  if (value instanceof Map) {
    let n = 1
    for (const [k, v] of value) n += footprint(k) + footprint(v)
    return n
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).reduce((n, [k, v]: [string, unknown]) => n + 1 + k.length + footprint(v), 1)
  }
  return 1
}

/**
 * What an accepted frame must do to cbor-x: decode to something no bigger than the frame, or
 * fail with an ordinary Error (cbor-x refuses indefinite strings and some simple values), never a
 * RangeError, which is how allocation and stack exhaustion surface in V8.
 */
function decodeAccepted(frame: Uint8Array): void {
  let value: unknown
  try {
    value = decode(frame)
  } catch (error) {
    assertOk(error instanceof Error, `decode threw a non-Error for ${hex(frame)}`)
    assertOk(!(error instanceof RangeError), `decode threw ${String(error)} for ${hex(frame)}`)
    return
  }
  const size = footprint(value)
  assertOk(size <= 10 * frame.length, `decoded footprint ${size} for a ${frame.length}-byte frame ${hex(frame)}`)
}

/** The frame behind a Proxy that counts every property read, and the bytes spanned by subarray. */
function counted(frame: Uint8Array): { view: Uint8Array; steps: () => number } {
  let steps = 0
  const view = new Proxy(frame, {
    get(target, key) {
      steps += 1
      if (key === 'subarray') {
        return (start?: number, end?: number): Uint8Array => {
          const slice = target.subarray(start, end)
          steps += slice.length
          return slice
        }
      }
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { view, steps: () => steps }
}

/**
 * Steps per byte the guard may spend: a constant, so its work is linear in the frame. The walk
 * reads an initial byte twice and every other byte once, plus a few length reads per item; the
 * worst shape (a run of empty text chunks) costs 5 steps a byte.
 */
const STEPS_PER_BYTE = 8

t.test('cbor-guard - hostile frames are refused with a specific reason', async (t) => {
  for (const { name, frame, reason } of hostile) {
    const verdict = inspectCbor(frame, limits)
    t.equal(verdict.ok, false, `${name} is refused`)
    if (!verdict.ok) t.match(verdict.reason, reason, `${name}: "${verdict.reason}"`)
  }
})

t.test('cbor-guard - past the structure limits, honest frames are refused with `exceeded` set; other refusals have none', async (t) => {
  for (const { name, frame, reason, exceeded } of tooComplex) {
    const verdict = inspectCbor(frame, hostLimits)
    t.same(verdict, { ok: false, reason, exceeded }, name)
    t.same(inspectCbor(frame, limits), { ok: true }, `${name}: well-formed, accepted without the limits`)
  }
  for (const { name, frame } of hostile) {
    const verdict = inspectCbor(frame, hostLimits)
    t.equal(verdict.ok, false, `${name}: still refused`)
    t.equal(verdict.ok ? undefined : verdict.exceeded, undefined, `${name}: broken, not past a limit`)
  }
  const protocol = valid.slice(0, 5)
  for (const { name, frame } of protocol) t.same(inspectCbor(frame, hostLimits), { ok: true }, `${name}: within the host limits`)
  t.same(inspectCbor(plain.encode({ cmd: 'to', to: [1, 1, 1], data: new Array<number>(40_000).fill(7) }), hostLimits), { ok: true }, 'long arrays of scalars are not limited')
  t.same(inspectCbor(bytes(0x80), { maxDepth: 1, maxContainers: 0 }), { ok: false, reason: 'more than 0 maps and arrays in one message', exceeded: 'containers' })
  for (const bad of [-1, 1.5, NaN]) {
    t.equal(inspectCbor(bytes(0x01), { maxDepth: 1, maxContainers: bad }).ok, false, `maxContainers ${bad}`)
    t.equal(inspectCbor(bytes(0x01), { maxDepth: 1, maxMapEntries: bad }).ok, false, `maxMapEntries ${bad}`)
  }
})

t.test('cbor-guard - protocol messages and valid edge shapes are accepted', async (t) => {
  for (const { name, frame } of valid) t.same(inspectCbor(frame, limits), { ok: true }, name)
})

t.test('cbor-guard - a Buffer is inspected like any Uint8Array', async (t) => {
  const frame = Buffer.from(plain.encode({ cmd: 'stop' }))
  t.same(inspectCbor(frame, limits), { ok: true })
  const inside = Buffer.concat([Buffer.from([0xff, 0xff]), frame, Buffer.from([0xff])]).subarray(2, 2 + frame.length)
  t.same(inspectCbor(inside, limits), { ok: true }, 'a view at an offset into a larger buffer')
})

t.test('cbor-guard - the depth limit is the one given', async (t) => {
  const nested = (depth: number): Uint8Array => concat(new Uint8Array(depth).fill(0x81), bytes(0x00))
  t.same(inspectCbor(nested(2), { maxDepth: 2 }), { ok: true })
  t.same(inspectCbor(nested(3), { maxDepth: 2 }), { ok: false, reason: 'nesting deeper than 2' })
  t.same(inspectCbor(bytes(0x01), { maxDepth: 0 }), { ok: true }, 'a scalar has depth 0')
  t.same(inspectCbor(bytes(0x80), { maxDepth: 0 }), { ok: false, reason: 'nesting deeper than 0' })
})

t.test('cbor-guard - bad arguments are refused, never thrown', async (t) => {
  for (const maxDepth of [NaN, -1, 1.5, Infinity]) {
    t.equal(inspectCbor(bytes(0x01), { maxDepth }).ok, false, `maxDepth ${maxDepth}`)
  }
  for (const notBytes of [undefined, null, 'a1', [0x01], {}]) {
    t.equal(inspectCbor(notBytes as unknown as Uint8Array, limits).ok, false, `input ${JSON.stringify(notBytes)}`)
  }
  t.equal(inspectCbor(bytes(0x01), undefined as unknown as CborLimits).ok, false, 'no limits')
})

t.test('cbor-guard - what the guard accepts, cbor-x decodes within the size of the frame', async (t) => {
  const accepted = [...hostile, ...valid].filter(({ frame }) => inspectCbor(frame, limits).ok)
  t.equal(accepted.length, valid.length, 'no hostile frame gets through')
  for (const { name, frame } of accepted) t.doesNotThrow(() => decodeAccepted(frame), name)
  t.strictSame(decode(valid[1]?.frame ?? bytes()), { cmd: 'to', to: [1, 2], data: Buffer.from([1, 2, 3]) }, 'to decodes with its bytes')
})

t.test('cbor-guard - its work is linear in the frame, whatever the frame declares', async (t) => {
  for (const { name, frame } of [...hostile, ...valid, ...tooComplex]) {
    for (const l of [limits, hostLimits]) {
      const { view, steps } = counted(frame)
      t.same(inspectCbor(view, l), inspectCbor(frame, l), `${name}: same verdict through the counter`)
      t.ok(steps() <= STEPS_PER_BYTE * (frame.length + 1), `${name}: ${steps()} steps for ${frame.length} bytes`)
    }
  }
})

// ---------------------------------------------------------------------------------------------
// Property-based fuzzing

/** Bytes that mean something to a CBOR reader, so random frames reach deep into the walk. */
const cborishByte = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: fc.constantFrom(0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x41, 0x5f, 0x61, 0x7f, 0x80, 0x81, 0x82, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xd8, 0xe0, 0xf4, 0xf6, 0xf7, 0xf8, 0xf9, 0xfb, 0xff) },
)
const cborishFrame = fc.array(cborishByte, { maxLength: 256 }).map((xs) => Uint8Array.from(xs))
const anyFrame = fc.uint8Array({ maxLength: 256 })

/** Values the way hosts send them, with valid Unicode text (lone surrogates cannot be UTF-8). */
const jsonLike = fc.jsonValue({ maxDepth: 8, stringUnit: 'grapheme' })

/** A CBOR head for `arg`, at least `width` bytes of argument wide (wider than needed is well-formed). */
function head(major: number, arg: number | bigint, width: number): number[] {
  const n = BigInt(arg)
  const needed = n < 24n ? 0 : n < 0x100n ? 1 : n < 0x10000n ? 2 : n < 0x100000000n ? 4 : 8
  const w = Math.max(needed, width)
  if (w === 0) return [(major << 5) | Number(n)]
  const out = [(major << 5) | (24 + Math.log2(w))]
  for (let i = w - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn))
  return out
}
const width = fc.constantFrom(0, 0, 0, 1, 2, 4, 8)
const utf8 = (text: string): number[] => [...Buffer.from(text, 'utf8')]
const chunks = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { maxLength: 4 })

/**
 * Well-formed, tag-free CBOR of every shape the guard must accept, built byte by byte (not by
 * cbor-x): all argument widths, 64-bit integers, the three float sizes, the four simple values,
 * definite and indefinite strings, arrays and maps, nested at most 8 deep.
 */
const wellFormed: fc.Arbitrary<number[]> = fc.letrec<{ item: number[] }>((tie) => ({
  item: fc.oneof(
    { depthSize: 'small', maxDepth: 8 },
    fc.tuple(fc.constantFrom(0, 1), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), width).map(([major, n, w]) => head(major, n, w)),
    fc.tuple(fc.constantFrom(0xf9, 0xfa, 0xfb), fc.uint8Array({ minLength: 8, maxLength: 8 })).map(([ib, payload]) => [ib, ...payload.subarray(0, 2 ** (ib - 0xf8))]),
    fc.constantFrom(0xf4, 0xf5, 0xf6, 0xf7).map((b) => [b]),
    fc.tuple(fc.uint8Array({ maxLength: 40 }), width).map(([b, w]) => [...head(2, b.length, w), ...b]),
    fc.tuple(fc.string({ unit: 'grapheme', maxLength: 10 }), width).map(([text, w]) => [...head(3, utf8(text).length, w), ...utf8(text)]),
    chunks(fc.uint8Array({ maxLength: 8 })).map((parts) => [0x5f, ...parts.flatMap((b) => [...head(2, b.length, 0), ...b]), 0xff]),
    chunks(fc.string({ unit: 'grapheme', maxLength: 4 })).map((parts) => [0x7f, ...parts.flatMap((p) => [...head(3, utf8(p).length, 0), ...utf8(p)]), 0xff]),
    fc.tuple(fc.array(tie('item'), { maxLength: 4 }), width, fc.boolean()).map(([items, w, indefinite]) =>
      indefinite ? [0x9f, ...items.flat(), 0xff] : [...head(4, items.length, w), ...items.flat()],
    ),
    fc.tuple(fc.array(fc.tuple(tie('item'), tie('item')), { maxLength: 4 }), width, fc.boolean()).map(([entries, w, indefinite]) =>
      indefinite ? [0xbf, ...entries.flat(2), 0xff] : [...head(5, entries.length, w), ...entries.flat(2)],
    ),
  ),
})).item

/** Headers to splice into valid encodings: each one is something a hostile host might try. */
const splice = fc.constantFrom(
  [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  [0x9a, 0x00, 0x01, 0x00, 0x00],
  [0xbb, 0, 0, 0, 1, 0, 0, 0, 0],
  [0x5b, 0x00, 0x20, 0, 0, 0, 0, 0, 0],
  [0xd8, 0x69],
  [0xd9, 0xe0, 0x00],
  [0xc0],
  [0x9f],
  [0xbf],
  [0x5f],
  [0x7f],
  [0xff],
  [0x1c],
  [0xf8, 0x10],
  [0x81, 0x81, 0x81, 0x81],
  // Honest-looking big containers: a map of 256 and of 65,536 entries, an array of 65,536.
  [0xb9, 0x01, 0x00],
  [0xba, 0x00, 0x01, 0x00, 0x00],
  [0x9a, 0x00, 0x01, 0x00, 0x00],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
  [0xa1, 0x00, 0x00, 0xa1, 0x00, 0x00, 0xa1, 0x00, 0x00],
)
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), insert: splice }),
)
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never

function mutate(frame: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out: Uint8Array = Uint8Array.from(frame)
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length
    if (m.kind === 'flip') out[at] = m.byte
    else if (m.kind === 'truncate') out = out.subarray(0, at)
    else out = concat(out.subarray(0, at), Uint8Array.from(m.insert), out.subarray(at))
  }
  return out
}
const mutatedFrame = fc
  .tuple(jsonLike, fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([value, mutations]) => mutate(plain.encode(value), mutations))

/** The guard's side of the contract, for any input: a verdict, never a throw or a bug path. */
function checkContract(frame: Uint8Array, l: CborLimits = limits): void {
  const verdict = inspectCbor(frame, l)
  if (verdict.ok) {
    deepStrictEqual(verdict, { ok: true })
    decodeAccepted(frame)
  } else {
    assertOk(typeof verdict.reason === 'string' && verdict.reason.length > 0, 'a refusal has a reason')
    assertOk(verdict.reason === verdict.reason.toLowerCase(), `reason is lower-case: ${verdict.reason}`)
    assertOk(!verdict.reason.startsWith('internal error'), `bug path hit for ${hex(frame)}`)
  }
}

t.test('cbor-guard - fuzz: any frame gets a verdict, and accepted frames are safe to decode', async (t) => {
  for (const [name, frames] of [
    ['arbitrary bytes', anyFrame],
    ['cbor-ish bytes', cborishFrame],
    ['mutated valid encodings', mutatedFrame],
  ] as const) {
    t.doesNotThrow(() => fc.assert(fc.property(frames, (f) => checkContract(f)), { numRuns: 2000 }), name)
    t.doesNotThrow(() => fc.assert(fc.property(frames, (f) => checkContract(f, hostLimits)), { numRuns: 1000 }), `${name}, host limits`)
  }
  // The frames that hurt the decoder most, spliced into valid encodings: refused under the host limits.
  const complex = fc.tuple(fc.constantFrom(...tooComplex), fc.nat()).map(([c, at]) => c.frame.subarray(0, Math.max(1, at % c.frame.length)))
  t.doesNotThrow(() => fc.assert(fc.property(complex, (f) => checkContract(f, hostLimits)), { numRuns: 200 }), 'prefixes of too-complex frames')
})

t.test('cbor-guard - fuzz: every well-formed tag-free item is accepted and decodes within its size', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(wellFormed, (item) => {
        const frame = Uint8Array.from(item)
        deepStrictEqual(inspectCbor(frame, limits), { ok: true })
        decodeAccepted(frame)
      }),
      { numRuns: 2000 },
    ),
  )
})

t.test('cbor-guard - fuzz: every proper prefix of an item, and the item with a byte more, is refused', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(wellFormed, fc.nat(), fc.integer({ min: 0, max: 255 }), (item, cut, extra) => {
        const frame = Uint8Array.from(item)
        // CBOR items delimit themselves, so a proper prefix is never complete.
        const prefix = frame.subarray(0, cut % frame.length)
        assertOk(!inspectCbor(prefix, limits).ok, `prefix ${hex(prefix)} accepted`)
        const longer = concat(frame, bytes(extra))
        deepStrictEqual(inspectCbor(longer, limits), {
          ok: false,
          reason: `trailing bytes after the message (1 at offset ${frame.length})`,
        })
      }),
      { numRuns: 2000 },
    ),
  )
})

/** The value as cbor-x gives it back: -0 is written as the integer 0, and a `__proto__` key is renamed. */
function asCborXDecodes(value: unknown): unknown {
  if (Object.is(value, -0)) return 0
  if (Array.isArray(value)) return value.map(asCborXDecodes)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k === '__proto__' ? '__proto_' : k, asCborXDecodes(v)]))
  }
  return value
}

t.test('cbor-guard - fuzz: json-like values encoded by cbor-x are accepted and round-trip', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(jsonLike, (value) => {
        const frame = plain.encode(value)
        deepStrictEqual(inspectCbor(frame, limits), { ok: true })
        deepStrictEqual(decode(frame), asCborXDecodes(value))
      }),
      { numRuns: 2000 },
    ),
  )
})

t.test('cbor-guard - fuzz: the guard reads a bounded number of steps per byte', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.oneof(anyFrame, cborishFrame, mutatedFrame, wellFormed.map((item) => Uint8Array.from(item))), (frame) => {
        const { view, steps } = counted(frame)
        deepStrictEqual(inspectCbor(view, limits), inspectCbor(frame, limits))
        assertOk(steps() <= STEPS_PER_BYTE * (frame.length + 1), `${steps()} steps for ${frame.length} bytes: ${hex(frame)}`)
      }),
      { numRuns: 2000 },
    ),
  )
})
