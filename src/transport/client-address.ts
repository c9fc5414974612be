import type { IncomingMessage } from 'node:http'

/**
 * The address limits are keyed by. Behind a proxy you run (`PARTYLINE_TRUST_PROXY`), the
 * right-most `X-Forwarded-For` entry: the one that proxy appended, the address it saw.
 * Entries to its left came from the client and anyone can write them, so a throttle keyed
 * by them could be dodged by sending a new one each time. Without the setting, the
 * socket's peer.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = req.headers['x-forwarded-for']
    const header = Array.isArray(fwd) ? fwd.at(-1) : fwd
    const last = header?.split(',').at(-1)?.trim()
    if (last) return last
  }
  return req.socket.remoteAddress ?? 'unknown'
}
