/**
 * The `clicks.v1` messages as typed values, and their protobufjs codec.
 *
 * Why `protobuf.loadSync` of `proto/clicks.proto` at start rather than pbjs static code:
 * the .proto stays the single source of truth (no generated file to drift from it, no
 * protobufjs-cli dependency), parsing ten messages costs about a millisecond once, and
 * protobufjs' reflection compiles a specialised encoder/decoder per type anyway. The
 * untyped reflection objects never leave this module: callers get the interfaces below.
 * The encoders of what the server writes on hot paths (UpdateNotification, OwnershipState,
 * LeaderboardResponse) are hand-written in `wire-encoders.ts` and tested against this codec.
 */
import protobuf from 'protobufjs'
import { packageFile } from './package-file.js'

export interface ClickRequest { readonly tileId: number; readonly countryId: string }
export interface ClickResponse { readonly timestampNs: bigint; readonly clickId: string }
export interface Click {
  readonly tileId: number
  readonly countryId: string
  readonly timestampNs: bigint
  readonly clickId: string
}
export interface BatchRequest { readonly startTileId: number; readonly endTileId: number }
export interface Ownership { readonly tileId: number; readonly countryId: string; readonly timestampNs: bigint }
export interface UpdateNotification {
  readonly tileId: number
  readonly countryId: string
  readonly previousCountryId: string
}
export interface LeaderboardEntry { readonly countryId: string; readonly score: number }

/** Thrown for bytes that are not the expected message; the message says why. */
export class MessageDecodeError extends Error {
  override readonly name = 'MessageDecodeError'
}

const root = protobuf.loadSync(packageFile('proto/clicks.proto')).resolveAll()
const T = {
  Click: root.lookupType('clicks.v1.Click'),
  ClickRequest: root.lookupType('clicks.v1.ClickRequest'),
  ClickResponse: root.lookupType('clicks.v1.ClickResponse'),
  BatchRequest: root.lookupType('clicks.v1.BatchRequest'),
  OwnershipState: root.lookupType('clicks.v1.OwnershipState'),
  UpdateNotification: root.lookupType('clicks.v1.UpdateNotification'),
  LeaderboardResponse: root.lookupType('clicks.v1.LeaderboardResponse'),
} as const

type Fields = Record<string, unknown>

/** protobufjs hands out uint64 as Long (or number when small); the domain uses bigint. */
function toBigInt(v: unknown): bigint {
  if (typeof v === 'number') return BigInt(v)
  if (typeof v === 'object' && v !== null && 'low' in v && 'high' in v) {
    const { low, high } = v as { low: number; high: number }
    return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0)
  }
  return 0n
}
function toLongBits(v: bigint): { low: number; high: number; unsigned: true } {
  const u = BigInt.asUintN(64, v)
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: true }
}
const int = (m: Fields, k: string): number => (typeof m[k] === 'number' ? (m[k] as number) : 0)
const str = (m: Fields, k: string): string => (typeof m[k] === 'string' ? (m[k] as string) : '')

/**
 * protobufjs decodes a known field by its declared type whatever wire type arrives, so
 * `tile_id` sent as a string would decode as garbage. Checking each known field's wire
 * type first makes "bytes that are not the expected message" a clean error.
 */
function decodeStrict(type: protobuf.Type, bytes: Uint8Array): Fields {
  try {
    const reader = protobuf.Reader.create(bytes)
    while (reader.pos < reader.len) {
      const tag = reader.uint32()
      const field = tag >>> 3
      const wire = tag & 7
      if (field === 0) throw new Error('field number 0')
      const known = type.fieldsById[field]
      if (known !== undefined) {
        const expected = wireTypeOf(known.type)
        if (wire !== expected) throw new Error(`field ${known.name} has wire type ${wire}, expected ${expected}`)
      }
      reader.skipType(wire)
    }
    return type.decode(bytes) as unknown as Fields
  } catch (err) {
    throw new MessageDecodeError(`not a ${type.name}: ${err instanceof Error ? err.message : String(err)}`)
  }
}
function wireTypeOf(scalar: string): number {
  switch (scalar) {
    case 'string': case 'bytes': return 2
    case 'double': case 'fixed64': case 'sfixed64': return 1
    case 'float': case 'fixed32': case 'sfixed32': return 5
    case 'int32': case 'uint32': case 'int64': case 'uint64': case 'sint32': case 'sint64': case 'bool': return 0
    default: return 2 // message
  }
}

function encode(type: protobuf.Type, value: Fields): Uint8Array {
  return type.encode(type.fromObject(value)).finish()
}

export function decodeClickRequest(bytes: Uint8Array): ClickRequest {
  const m = decodeStrict(T.ClickRequest, bytes)
  return { tileId: int(m, 'tileId'), countryId: str(m, 'countryId') }
}
export function encodeClickRequest(v: ClickRequest): Uint8Array {
  return encode(T.ClickRequest, { tileId: v.tileId, countryId: v.countryId })
}

export function decodeBatchRequest(bytes: Uint8Array): BatchRequest {
  const m = decodeStrict(T.BatchRequest, bytes)
  return { startTileId: int(m, 'startTileId'), endTileId: int(m, 'endTileId') }
}
export function encodeBatchRequest(v: BatchRequest): Uint8Array {
  return encode(T.BatchRequest, { startTileId: v.startTileId, endTileId: v.endTileId })
}

export function encodeClickResponse(v: ClickResponse): Uint8Array {
  return encode(T.ClickResponse, { timestampNs: toLongBits(v.timestampNs), clickId: v.clickId })
}
export function decodeClickResponse(bytes: Uint8Array): ClickResponse {
  const m = decodeStrict(T.ClickResponse, bytes)
  return { timestampNs: toBigInt(m['timestampNs']), clickId: str(m, 'clickId') }
}

export function encodeClick(v: Click): Uint8Array {
  return encode(T.Click, {
    tileId: v.tileId, countryId: v.countryId, timestampNs: toLongBits(v.timestampNs), clickId: v.clickId,
  })
}
export function decodeClick(bytes: Uint8Array): Click {
  const m = decodeStrict(T.Click, bytes)
  return {
    tileId: int(m, 'tileId'), countryId: str(m, 'countryId'),
    timestampNs: toBigInt(m['timestampNs']), clickId: str(m, 'clickId'),
  }
}

export function decodeUpdateNotification(bytes: Uint8Array): UpdateNotification {
  const m = decodeStrict(T.UpdateNotification, bytes)
  return { tileId: int(m, 'tileId'), countryId: str(m, 'countryId'), previousCountryId: str(m, 'previousCountryId') }
}
export function encodeUpdateNotification(v: UpdateNotification): Uint8Array {
  return encode(T.UpdateNotification, { ...v })
}

export function decodeOwnershipState(bytes: Uint8Array): Ownership[] {
  const m = decodeStrict(T.OwnershipState, bytes)
  const list = Array.isArray(m['ownerships']) ? (m['ownerships'] as Fields[]) : []
  return list.map((o) => ({ tileId: int(o, 'tileId'), countryId: str(o, 'countryId'), timestampNs: toBigInt(o['timestampNs']) }))
}
export function encodeOwnershipState(list: readonly Ownership[]): Uint8Array {
  return encode(T.OwnershipState, {
    ownerships: list.map((o) => ({ tileId: o.tileId, countryId: o.countryId, timestampNs: toLongBits(o.timestampNs) })),
  })
}

export function encodeLeaderboard(entries: readonly LeaderboardEntry[]): Uint8Array {
  return encode(T.LeaderboardResponse, { entries: entries.map((e) => ({ countryId: e.countryId, score: e.score })) })
}
export function decodeLeaderboard(bytes: Uint8Array): LeaderboardEntry[] {
  const m = decodeStrict(T.LeaderboardResponse, bytes)
  const list = Array.isArray(m['entries']) ? (m['entries'] as Fields[]) : []
  return list.map((e) => ({ countryId: str(e, 'countryId'), score: int(e, 'score') }))
}
