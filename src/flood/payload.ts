/**
 * The bytes a flood frame carries, identical on every system under test.
 *
 * Layout (little-endian), then zero padding up to the frame size:
 * - `[0, 4)`  sender: the room index for a host frame, the player's global index for a player frame
 * - `[4, 8)`  sequence number, per sender, from 0
 * - `[8, 16)` send time: `performance.now()` in ms as a float64. Sender and receiver live in
 *   the same process, so the difference is the one-way latency with µs resolution.
 */
export const PAYLOAD_HEADER_BYTES = 16

/** A frame of `size` bytes (at least the header) stamped with sender, sequence and send time. */
export function stampFrame(size: number, sender: number, seq: number, sentAt: number): Buffer {
  const frame = Buffer.allocUnsafe(size)
  frame.writeUInt32LE(sender, 0)
  frame.writeUInt32LE(seq >>> 0, 4)
  frame.writeDoubleLE(sentAt, 8)
  // Padding is zeroed so no stale heap bytes go on the wire.
  if (size > PAYLOAD_HEADER_BYTES) frame.fill(0, PAYLOAD_HEADER_BYTES)
  return frame
}

/** A view of a received frame's header. Throws nothing: a short frame reads as `undefined`. */
export interface FrameStamp {
  readonly sender: number
  readonly seq: number
  readonly sentAt: number
}

export function readStamp(data: Uint8Array): FrameStamp | undefined {
  if (data.byteLength < PAYLOAD_HEADER_BYTES) return undefined
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return { sender: buf.readUInt32LE(0), seq: buf.readUInt32LE(4), sentAt: buf.readDoubleLE(8) }
}
