/**
 * Server-to-client WebSocket frames, built once and written to the socket as they are
 * (RFC 6455 §5.2: FIN set, text or binary opcode, unmasked, no extension bits: the server
 * negotiates no permessage-deflate).
 *
 * Why not `ws.send`: a fan-out (a host's broadcast to its players, a ClickPlanet update to
 * thousands of listeners) sends one payload to many sockets, and `ws.send` frames it anew
 * for each (an options object, a header buffer, two writes under cork). Framed once, the same
 * buffers go to every socket.
 */
import type { Duplex } from 'node:stream'

/** Payloads up to this size are copied behind their header: one small buffer, one write. */
const MERGE_LIMIT = 1024

export interface WireFrame {
  /** The whole frame; only its header when `tail` is set. */
  readonly head: Buffer
  /** A large payload, written after `head` as it is (not copied). */
  readonly tail: Uint8Array | undefined
  readonly payloadBytes: number
  /** How many WebSocket frames it holds (more than one for a `frameBatch`). */
  readonly frames: number
}

/** Frames `payload` (text → opcode 1, bytes → opcode 2) as one final, unmasked frame. */
export function wireFrame(payload: Uint8Array | string): WireFrame {
  const text = typeof payload === 'string'
  const bytes = text ? Buffer.byteLength(payload) : payload.byteLength
  const headerBytes = bytes < 126 ? 2 : bytes < 0x10000 ? 4 : 10
  const merge = bytes <= MERGE_LIMIT
  const head = Buffer.allocUnsafe(merge ? headerBytes + bytes : headerBytes)
  head[0] = 0x80 | (text ? 0x1 : 0x2)
  if (bytes < 126) {
    head[1] = bytes
  } else if (bytes < 0x10000) {
    head[1] = 126
    head.writeUInt16BE(bytes, 2)
  } else {
    head[1] = 127
    head.writeUInt32BE(Math.floor(bytes / 0x1_0000_0000), 2)
    head.writeUInt32BE(bytes >>> 0, 6)
  }
  if (!merge) return { head, tail: text ? Buffer.from(payload, 'utf8') : payload, payloadBytes: bytes, frames: 1 }
  if (text) head.write(payload, headerBytes, 'utf8')
  else head.set(payload, headerBytes)
  return { head, tail: undefined, payloadBytes: bytes, frames: 1 }
}

/**
 * Writes a frame to a socket: one write, or head, tail and `trailer` (a control frame that
 * must follow it, see `pingFrame`) in one `writev` (corked).
 */
export function writeFrame(socket: Duplex, frame: WireFrame, trailer?: Buffer): void {
  if (frame.tail === undefined && trailer === undefined) {
    socket.write(frame.head)
    return
  }
  socket.cork()
  socket.write(frame.head)
  if (frame.tail !== undefined) socket.write(frame.tail)
  if (trailer !== undefined) socket.write(trailer)
  socket.uncork()
}

/** A ping (opcode 9) carrying `payload` (at most 125 bytes), which the peer's pong echoes. */
export function pingFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(2 + payload.byteLength)
  frame[0] = 0x89
  frame[1] = payload.byteLength
  frame.set(payload, 2)
  return frame
}

/**
 * Several payloads framed back to back in one buffer, for a fan-out that has more than one
 * update due to each socket: one write per socket carries them all, in order.
 */
export function frameBatch(payloads: readonly (Uint8Array | string)[]): WireFrame {
  if (payloads.length === 1) return wireFrame(payloads[0]!)
  const parts: Uint8Array[] = []
  let payloadBytes = 0
  for (const p of payloads) {
    const f = wireFrame(p)
    parts.push(f.head)
    if (f.tail !== undefined) parts.push(f.tail)
    payloadBytes += f.payloadBytes
  }
  return { head: Buffer.concat(parts), tail: undefined, payloadBytes, frames: payloads.length }
}

/**
 * Remembers the last payload it framed, so that a payload sent to many sockets in a row is
 * framed once. One cache serves every connection of the process (sends are synchronous).
 *
 * Contract: a payload must not be changed after it was handed to a send (the same holds for
 * `ws.send`, which writes the caller's buffer as it is).
 */
export class FrameCache {
  #payload: Uint8Array | string | undefined
  #frame: WireFrame = wireFrame('')

  frame(payload: Uint8Array | string): WireFrame {
    if (payload !== this.#payload) {
      this.#frame = wireFrame(payload)
      this.#payload = payload
    }
    return this.#frame
  }
}
