import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { COUNTRY_CODES } from '../../../src/games/clickplanet/country-codes.js'
import {
  decodeClick, decodeClickRequest, decodeOwnershipState, decodeUpdateNotification,
  encodeClick, encodeClickRequest, encodeLeaderboard, encodeOwnershipState, encodeUpdateNotification, MessageDecodeError,
} from '../../../src/games/clickplanet/messages.js'
import {
  encodeLeaderboardFast, encodeOwnershipStateFast, encodeUpdateNotificationFast,
} from '../../../src/games/clickplanet/wire-encoders.js'

const country = fc.constantFrom(...COUNTRY_CODES)
const maybeCountry = fc.oneof(country, fc.constant(''))
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })

t.test('wire - the reference ClickRequest bytes', async (t) => {
  t.same([...encodeClickRequest({ tileId: 1, countryId: 'fr' })], [8, 1, 18, 2, 102, 114])
  t.same(decodeClickRequest(Uint8Array.from([8, 1, 18, 2, 102, 114])), { tileId: 1, countryId: 'fr' })
})

t.test('wire - a field of the wrong wire type is not the message', async (t) => {
  // tile_id sent as a length-delimited field
  t.throws(() => decodeClickRequest(Uint8Array.from([10, 2, 102, 114])), MessageDecodeError)
  t.throws(() => decodeClickRequest(Uint8Array.from([8])), MessageDecodeError)
  t.throws(() => decodeClickRequest(Uint8Array.from([0, 0])), MessageDecodeError)
})

t.test('wire - the fast UpdateNotification encoder matches protobufjs', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), maybeCountry, maybeCountry, (tile, c, p) => {
    const fast = encodeUpdateNotificationFast(tile, c, p)
    const ref = encodeUpdateNotification({ tileId: tile, countryId: c, previousCountryId: p })
    const decoded = decodeUpdateNotification(fast)
    return decoded.tileId === tile && decoded.countryId === c && decoded.previousCountryId === p &&
      fast.length <= ref.length
  }))
})

t.test('wire - the fast OwnershipState encoder matches protobufjs', async (t) => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: COUNTRY_CODES.length }), u64), { minLength: 1, maxLength: 300 }),
    fc.integer({ min: -5, max: 310 }), fc.integer({ min: -5, max: 310 }),
    (tiles, start, end) => {
      const owners = Uint8Array.from(tiles, ([k]) => k)
      const timesNs = BigUint64Array.from(tiles, ([, ts]) => ts)
      const codes = ['', ...COUNTRY_CODES]
      const fast = encodeOwnershipStateFast({ owners, timesNs, codes }, start, end)
      const expected = tiles
        .map(([k, ts], tileId) => ({ tileId, countryId: codes[k]!, timestampNs: ts }))
        .filter((o, id) => o.countryId !== '' && id >= start && id <= end)
      const ref = encodeOwnershipState(expected)
      // Same content; protobufjs also writes tile_id 0, which canonical proto3 omits.
      return isDeepStrictEqual(decodeOwnershipState(fast), expected) && fast.length <= ref.length
    },
  ), { numRuns: 200 })
})

t.test('wire - Click round-trips with a 64-bit timestamp', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 300_000 }), country, u64, fc.string({ minLength: 1, maxLength: 30 }), (tileId, countryId, timestampNs, clickId) => {
    const c = { tileId, countryId, timestampNs, clickId }
    const d = decodeClick(encodeClick(c))
    return d.tileId === tileId && d.countryId === countryId && d.timestampNs === timestampNs && d.clickId === clickId
  }))
})

t.test('wire - the fast LeaderboardResponse encoder writes the bytes protobufjs writes', async (t) => {
  fc.assert(fc.property(
    fc.array(fc.record({ countryId: country, score: fc.integer({ min: 1, max: 2 ** 32 - 1 }) }), { maxLength: 260 }),
    (entries) => encodeLeaderboardFast(entries).equals(Buffer.from(encodeLeaderboard(entries))),
  ), { numRuns: 200 })
})
