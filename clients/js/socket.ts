/** The WebSocket the client runs on, and the small conversions browsers and Node share. */
import { ClientErrorCode, PartylineError } from './codes.js'

/** The part of the WHATWG WebSocket this client uses (browsers, Node 22+, `ws`). */
export interface WebSocketLike {
  binaryType: string
  readonly readyState: number
  send(data: string | ArrayBufferView | ArrayBuffer): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'message', listener: (ev: { readonly data: unknown }) => void): void
  addEventListener(type: 'close', listener: (ev: { readonly code: number; readonly reason: string }) => void): void
  addEventListener(type: 'open' | 'error', listener: (ev: unknown) => void): void
}
export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface ConnectOptions {
  /** WebSocket implementation; defaults to `globalThis.WebSocket` (browsers, Node 22+). */
  readonly WebSocket?: WebSocketConstructor
}

/** `WebSocket.OPEN`, the same in every implementation. */
export const OPEN = 1

/**
 * The server's origin: `server` as given (`http(s)://` or `ws(s)://`, any trailing slash
 * removed), or in a page, the page's own origin when `server` is empty.
 */
export function serverOrigin(server: string | undefined): string {
  if (server) return server.replace(/\/+$/, '')
  const here = (globalThis as { location?: { origin?: string } }).location?.origin
  if (!here || here === 'null') throw new PartylineError(ClientErrorCode.Unreachable, 'no server given, and not in a page whose origin could stand for it')
  return here
}

export function wsUrl(server: string | undefined, path: string): string {
  return serverOrigin(server).replace(/^http/, 'ws') + path
}

export function httpUrl(server: string | undefined, path: string): string {
  return serverOrigin(server).replace(/^ws/, 'http') + path
}

export function openSocket(url: string, opts: ConnectOptions): WebSocketLike {
  const Ctor = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (!Ctor) throw new PartylineError(ClientErrorCode.Unreachable, 'no WebSocket implementation: pass { WebSocket } from the ws package')
  const ws = new Ctor(url)
  ws.binaryType = 'arraybuffer'
  // `close` always follows `error` and says what happened; an unheard `error` would throw in Node's `ws`.
  ws.addEventListener('error', () => {})
  return ws
}

export function bytesOf(raw: unknown): Uint8Array | undefined {
  if (raw instanceof ArrayBuffer) return new Uint8Array(raw)
  if (ArrayBuffer.isView(raw)) return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)
  return undefined
}

export function toBase64(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!)
  return btoa(s)
}

export function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0))
}

/** A URL-safe random id of `n` characters (a player's `sid`), from the platform's CSPRNG. */
export function randomId(n = 22): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const bytes = new Uint8Array(n)
  globalThis.crypto.getRandomValues(bytes)
  let s = ''
  for (const b of bytes) s += alphabet[b & 63]
  return s
}
