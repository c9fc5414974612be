import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import protobuf from 'protobufjs'
import t from 'tap'
import { COUNTRY_CODES } from '../../../src/games/clickplanet/country-codes.js'
import {
  decodeBatchRequest, decodeClick, decodeClickRequest, decodeClickResponse, decodeLeaderboard, decodeOwnershipState,
  decodeUpdateNotification, encodeBatchRequest, encodeClick, encodeClickRequest, encodeClickResponse, encodeLeaderboard,
  encodeOwnershipState, encodeUpdateNotification, MessageDecodeError,
} from '../../../src/games/clickplanet/messages.js'
import { packageFile } from '../../../src/games/clickplanet/package-file.js'
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

/*
 * The contract's message table (the spec's clickplanet.md, "Messages"), transcribed by hand:
 * the tests below build bytes from these field numbers, never from proto/clicks.proto, so a
 * wrong number in the .proto (or in a hand-written encoder) fails here.
 */
const CONTRACT: Record<string, readonly (readonly [id: number, name: string, type: string, repeated?: true])[]> = {
  Click: [[1, 'tile_id', 'int32'], [2, 'country_id', 'string'], [3, 'timestamp_ns', 'uint64'], [4, 'click_id', 'string']],
  ClickRequest: [[1, 'tile_id', 'int32'], [2, 'country_id', 'string']],
  ClickResponse: [[1, 'timestamp_ns', 'uint64'], [2, 'click_id', 'string']],
  BatchRequest: [[1, 'start_tile_id', 'int32'], [2, 'end_tile_id', 'int32']],
  Ownership: [[1, 'tile_id', 'uint32'], [2, 'country_id', 'string'], [3, 'timestamp_ns', 'uint64']],
  OwnershipState: [[1, 'ownerships', 'Ownership', true]],
  UpdateNotification: [[1, 'tile_id', 'int32'], [2, 'country_id', 'string'], [3, 'previous_country_id', 'string']],
  MapDensityResponse: [[1, 'density', 'int32']],
  LeaderboardEntry: [[1, 'country_id', 'string'], [2, 'score', 'uint32']],
  LeaderboardResponse: [[1, 'entries', 'LeaderboardEntry', true]],
}

// A protobuf writer small enough to check by eye.
const varint = (v: bigint | number): number[] => {
  let n = BigInt.asUintN(64, BigInt(v))
  const out: number[] = []
  while (n > 127n) { out.push(Number(n & 127n) | 128); n >>= 7n }
  out.push(Number(n))
  return out
}
const vfield = (id: number, v: bigint | number): number[] => [(id << 3) | 0, ...varint(v)]
const lfield = (id: number, bytes: readonly number[]): number[] => [(id << 3) | 2, ...varint(bytes.length), ...bytes]
const sfield = (id: number, s: string): number[] => lfield(id, [...Buffer.from(s, 'utf8')])
const u8 = (...parts: number[][]): Uint8Array => Uint8Array.from(parts.flat())

const TS = 1_700_000_000_123_456_789n // over 2^32: all ten varint bytes matter
const clicksProto = protobuf.loadSync(packageFile('proto/clicks.proto')).resolveAll()

t.test('wire - proto/clicks.proto declares exactly the contract\'s messages and fields', async (t) => {
  for (const [message, fields] of Object.entries(CONTRACT)) {
    const type = clicksProto.lookupType(`clicks.v1.${message}`)
    t.same(
      type.fieldsArray.map((f) => [f.id, f.name, f.type, f.repeated]).sort((a, b) => (a[0] as number) - (b[0] as number)),
      fields.map(([id, name, ty, rep]) => [id, name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), ty, rep === true]),
      message,
    )
  }
})

t.test('wire - bytes built from the contract\'s field numbers decode to the right fields', async (t) => {
  const own = (tile: number, cc: string, ts: bigint): number[] => lfield(1, [...vfield(1, tile), ...sfield(2, cc), ...vfield(3, ts)])
  t.same(decodeClick(u8(vfield(1, 300), sfield(2, 'fr'), vfield(3, TS), sfield(4, 'n1-a'))),
    { tileId: 300, countryId: 'fr', timestampNs: TS, clickId: 'n1-a' }, 'Click')
  t.same(decodeClick(u8(sfield(4, 'n1-a'), vfield(3, TS), sfield(2, 'fr'), vfield(1, 300))),
    { tileId: 300, countryId: 'fr', timestampNs: TS, clickId: 'n1-a' }, 'Click, fields in another order')
  t.same(decodeClickRequest(u8(vfield(1, 300), sfield(2, 'fr'))), { tileId: 300, countryId: 'fr' }, 'ClickRequest')
  t.same(decodeClickResponse(u8(vfield(1, TS), sfield(2, 'n1-a'))), { timestampNs: TS, clickId: 'n1-a' }, 'ClickResponse')
  t.same(decodeBatchRequest(u8(vfield(1, 10_000), vfield(2, 19_999))), { startTileId: 10_000, endTileId: 19_999 }, 'BatchRequest')
  t.same(decodeOwnershipState(u8(own(300, 'fr', TS), own(301, 'de', 5n))), [
    { tileId: 300, countryId: 'fr', timestampNs: TS }, { tileId: 301, countryId: 'de', timestampNs: 5n },
  ], 'OwnershipState of Ownership')
  t.same(decodeUpdateNotification(u8(vfield(1, 300), sfield(2, 'de'), sfield(3, 'fr'))),
    { tileId: 300, countryId: 'de', previousCountryId: 'fr' }, 'UpdateNotification')
  t.same(decodeLeaderboard(u8(lfield(1, [...sfield(1, 'fr'), ...vfield(2, 70_000)]), lfield(1, [...sfield(1, 'de'), ...vfield(2, 1)]))),
    [{ countryId: 'fr', score: 70_000 }, { countryId: 'de', score: 1 }], 'LeaderboardResponse of LeaderboardEntry')
  // No codec function serves MapDensityResponse (partyline never sends it): check the .proto's.
  t.same(clicksProto.lookupType('clicks.v1.MapDensityResponse').toObject(
    clicksProto.lookupType('clicks.v1.MapDensityResponse').decode(u8(vfield(1, 42)))), { density: 42 }, 'MapDensityResponse')
})

t.test('wire - every encoder writes the contract\'s bytes', async (t) => {
  const same = (got: Uint8Array, want: Uint8Array, what: string): void => { t.same([...got], [...want], what) }
  same(encodeClickRequest({ tileId: 300, countryId: 'fr' }), u8(vfield(1, 300), sfield(2, 'fr')), 'ClickRequest')
  same(encodeBatchRequest({ startTileId: 10_000, endTileId: 19_999 }), u8(vfield(1, 10_000), vfield(2, 19_999)), 'BatchRequest')
  same(encodeClickResponse({ timestampNs: TS, clickId: 'n1-a' }), u8(vfield(1, TS), sfield(2, 'n1-a')), 'ClickResponse')
  same(encodeClick({ tileId: 300, countryId: 'fr', timestampNs: TS, clickId: 'n1-a' }),
    u8(vfield(1, 300), sfield(2, 'fr'), vfield(3, TS), sfield(4, 'n1-a')), 'Click (the log\'s records)')
  same(encodeUpdateNotificationFast(300, 'de', 'fr'), u8(vfield(1, 300), sfield(2, 'de'), sfield(3, 'fr')), 'UpdateNotification')
  same(encodeUpdateNotificationFast(300, 'de', ''), u8(vfield(1, 300), sfield(2, 'de')), 'UpdateNotification, first claim')
  const codes = ['', 'de', 'fr']
  const owners = Uint8Array.from([0, 2, 0, 1])
  const timesNs = BigUint64Array.from([0n, TS, 0n, 5n])
  same(encodeOwnershipStateFast({ owners, timesNs, codes }, 0, 3), u8(
    lfield(1, [...vfield(1, 1), ...sfield(2, 'fr'), ...vfield(3, TS)]),
    lfield(1, [...vfield(1, 3), ...sfield(2, 'de'), ...vfield(3, 5n)]),
  ), 'OwnershipState')
  same(encodeLeaderboardFast([{ countryId: 'fr', score: 70_000 }, { countryId: 'de', score: 1 }]), u8(
    lfield(1, [...sfield(1, 'fr'), ...vfield(2, 70_000)]), lfield(1, [...sfield(1, 'de'), ...vfield(2, 1)]),
  ), 'LeaderboardResponse')
})
