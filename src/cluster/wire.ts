/**
 * What nodes say to each other over the Bus: one CBOR envelope per message, `[from, ...ops]`,
 * each op a short array whose first element names it. One envelope carries every op one
 * node had for another in one turn of the event loop (a host's broadcast to 40 players on
 * one node is one op holding 40 connection ids and the frame once).
 *
 * Ops name a bridged connection by its id on the edge node (`cid`), the node that holds its
 * socket (the "door"); the owner of the room runs a port for it. The Bus is inside the
 * cluster: envelopes are trusted (shape checked only as far as dispatch needs).
 */
import { Decoder, Encoder } from 'cbor-x'
import type { AttachInfo, RoomStateView } from '../rooms/host.js'
import type { RoomRestore } from '../rooms/room.js'
import type { OperatorAction } from '../rooms/room-events.js'
import type { Ownership } from '../store/store.js'

type Data = Uint8Array | string

export const Op = {
  // door → owner
  Join: 1,
  PlayerFrame: 2,
  Leave: 3,
  Resume: 4,
  HostCommand: 5,
  Kick: 6,
  HostSend: 7,
  // owner → door
  Send: 10,
  Close: 11,
  Refuse: 12,
  Joined: 13,
  HostCall: 14,
  // node → node
  HandOver: 20,
  HandOverDone: 21,
  // operators (the admin API)
  AdminAsk: 30,
  AdminAct: 31,
  AdminAnswer: 32,
  // after the Bus was unreachable: which bridged connections are still there
  Audit: 40,
  Gone: 41,
  AuditMe: 42,
} as const

/** What a room tells a bridged host (the `Host` interface, call by call). */
export type HostCall =
  | ['attached', AttachInfo]
  | ['state', RoomStateView]
  | ['joined', number, string | null]
  | ['left', number]
  | ['away', number]
  | ['back', number, boolean]
  | ['from', number, Data]
  | ['error', string, string]
  | ['stopped']
  | ['restarting']
  | ['replaced']
  | ['refused', 'bad_token' | 'ended']

export type HostCommandName = 'start' | 'stop' | 'detached' | 'showState'

export type WireOp =
  | [typeof Op.Join, number, string, string | null, string | null, string, number | null]
  | [typeof Op.PlayerFrame, number, Data]
  | [typeof Op.Leave, number]
  | [typeof Op.Resume, number, string, string]
  | [typeof Op.HostCommand, number, HostCommandName]
  | [typeof Op.Kick, number, number]
  | [typeof Op.HostSend, number, Data, readonly number[] | null]
  | [typeof Op.Send, number[], Data]
  | [typeof Op.Close, number, number]
  | [typeof Op.Refuse, number, number]
  | [typeof Op.Joined, number, number]
  | [typeof Op.HostCall, number, HostCall]
  | [typeof Op.HandOver, number, RoomRestore, Ownership]
  | [typeof Op.HandOverDone, number]
  | [typeof Op.AdminAsk, number]
  | [typeof Op.AdminAct, number, string, OperatorAction]
  | [typeof Op.AdminAnswer, number, unknown]
  | [typeof Op.Audit, number[], number[]]
  | [typeof Op.Gone, number[], number[]]
  | [typeof Op.AuditMe]

const options = { useRecords: false, tagUint8Array: false, mapsAsObjects: true } as const
const encoder = new Encoder(options)
const decoder = new Decoder(options)

/** An envelope as it is built: the sender first, then its ops (encoded as it is, no copy). */
export type Envelope = [string, ...WireOp[]]

export function encodeEnvelope(from: string, ops: readonly WireOp[]): Uint8Array {
  return encoder.encode([from, ...ops])
}

/** `encodeEnvelope` for an envelope built in place (the outbox of a node). */
export function encodeBuilt(envelope: Envelope): Uint8Array {
  return encoder.encode(envelope)
}

/** The sender and its ops, or undefined for a message that is not an envelope. */
export function decodeEnvelope(bytes: Uint8Array): { from: string; ops: WireOp[] } | undefined {
  let value: unknown
  try {
    value = decoder.decode(bytes)
  } catch {
    return undefined
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string') return undefined
  // One pass, one array: this runs for every envelope a node receives.
  const ops: WireOp[] = []
  for (let i = 1; i < value.length; i++) {
    const op: unknown = value[i]
    if (Array.isArray(op) && typeof op[0] === 'number') ops.push(op as WireOp)
  }
  return { from: value[0], ops }
}

/** A room moved to another node (adoption, hand-over): `[code, node, epoch]` on `rooms.moved`. */
export const MOVED_SUBJECT = 'rooms.moved'

export function encodeMoved(code: string, owner: Ownership): Uint8Array {
  return encoder.encode([code, owner.node, owner.epoch])
}

export function decodeMoved(bytes: Uint8Array): { code: string; owner: Ownership } | undefined {
  try {
    const v: unknown = decoder.decode(bytes)
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string' && typeof v[2] === 'number') {
      return { code: v[0], owner: { node: v[1], epoch: v[2] } }
    }
  } catch {
    // not ours
  }
  return undefined
}

/** A node's inbox subject. */
export const inbox = (node: string): string => `node.${node}`

/** Payload bytes past which an outbox is sent at once rather than at the end of the turn. */
export const ENVELOPE_SOFT_LIMIT = 256 * 1024

export function dataSize(data: Data): number {
  return typeof data === 'string' ? data.length * 3 : data.byteLength
}
