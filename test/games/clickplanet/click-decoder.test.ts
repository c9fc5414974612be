import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { decodeLoggedClick } from '../../../src/games/clickplanet/click-decoder.js'
import { COUNTRY_CODES } from '../../../src/games/clickplanet/country-codes.js'
import { decodeClick, encodeClick, MessageDecodeError, type Click } from '../../../src/games/clickplanet/messages.js'

const outcome = (f: () => Click): { click: Click } | { error: string } => {
  try {
    return { click: f() }
  } catch (err) {
    return { error: err instanceof MessageDecodeError ? 'MessageDecodeError' : String(err) }
  }
}

t.test('click decoder - every Click encodeClick writes decodes as decodeClick decodes it', async (t) => {
  fc.assert(fc.property(
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.oneof(fc.constantFrom(...COUNTRY_CODES), fc.string(), fc.constant('')),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    fc.oneof(fc.string({ maxLength: 200 }), fc.constant('')),
    (tileId, countryId, timestampNs, clickId) => {
      const bytes = encodeClick({ tileId, countryId, timestampNs, clickId })
      const fast = decodeLoggedClick(bytes)
      return isDeepStrictEqual(fast, decodeClick(bytes)) && fast.tileId === tileId && fast.timestampNs === timestampNs &&
        fast.countryId === countryId && fast.clickId === clickId
    },
  ), { numRuns: 2000 })
})

t.test('click decoder - any bytes: the same Click or the same MessageDecodeError as decodeClick', async (t) => {
  const click = encodeClick({ tileId: 4242, countryId: 'fr', timestampNs: 1_764_000_000_000_000_000n, clickId: 'n1-abc' })
  fc.assert(fc.property(
    fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      // A real click with bytes changed, cut short or appended to.
      fc.tuple(fc.nat(click.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(click.length))
        .map(([i, v, cut]) => { const b = click.slice(0, Math.max(1, cut)); if (i < b.length) b[i] = v; return b }),
      fc.uint8Array({ maxLength: 8 }).map((extra) => Uint8Array.from([...click, ...extra])),
    ),
    (bytes) => isDeepStrictEqual(outcome(() => decodeLoggedClick(bytes)), outcome(() => decodeClick(bytes))),
  ), { numRuns: 5000 })
})

t.test('click decoder - shapes the fast path leaves to decodeClick', async (t) => {
  const cases: Array<[string, number[]]> = [
    ['a field twice (the last one wins)', [8, 1, 8, 2, 18, 2, 102, 114]],
    ['an unknown field', [8, 1, 40, 7]],
    ['a tile id of 5 bytes', [8, 0x80, 0x80, 0x80, 0x80, 0x01]],
    ['a negative tile id', [8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['a time of 10 bytes', [24, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    ['a non-ASCII country', [18, 2, 0xc3, 0xa9]],
    ['a tile id of the wrong wire type', [10, 2, 102, 114]],
    ['cut short', [8]],
    ['field number 0', [0, 0]],
  ]
  for (const [what, bytes] of cases) {
    const b = Uint8Array.from(bytes)
    t.same(outcome(() => decodeLoggedClick(b)), outcome(() => decodeClick(b)), what)
  }
  t.throws(() => decodeLoggedClick(Uint8Array.from([8])), MessageDecodeError)
})
