import type { IncomingMessage } from 'node:http'

/**
 * The address limits are keyed by. Behind a proxy you run (`PARTYLINE_TRUST_PROXY`), the
 * left-most `X-Forwarded-For` entry; otherwise the socket's peer. Never trust the header
 * otherwise: any client can write it.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = req.headers['x-forwarded-for']
    const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(',')[0]?.trim()
    if (first) return first
  }
  return req.socket.remoteAddress ?? 'unknown'
}
