import type { IncomingMessage } from 'node:http'
import { isIPv4, isIPv6 } from 'node:net'

/**
 * The address every per-address limit is keyed by (connection caps, the join throttle, room
 * creation, ClickPlanet's click rate): `addressKey` of the client's address.
 *
 * Behind a proxy you run (`PARTYLINE_TRUST_PROXY`), the client's address is the right-most
 * `X-Forwarded-For` entry: the one that proxy appended, the address it saw. Entries to its
 * left came from the client and anyone can write them, so a throttle keyed by them could be
 * dodged by sending a new one each time. Without the setting, the socket's peer.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const fwd = req.headers['x-forwarded-for']
    const header = Array.isArray(fwd) ? fwd.at(-1) : fwd
    const last = header?.split(',').at(-1)?.trim()
    if (last) return addressKey(last)
  }
  return addressKey(req.socket.remoteAddress ?? 'unknown')
}

/**
 * One key per party that can be told apart: an IPv4 address as it is, an IPv6 address by
 * its /64 (`2001:db8:0:7::/64`), since one subscriber is routinely given a whole /64 and
 * can use any of its 2^64 addresses. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what
 * a dual-stack listener reports for IPv4 peers) is the IPv4 address. Anything else (not an
 * address: a proxy's odd entry) is kept as it is.
 */
export function addressKey(address: string): string {
  if (isIPv4(address)) return address
  const bare = address.split('%', 1)[0]! // a zone (`fe80::1%eth0`) names a local interface, not a party
  if (!isIPv6(bare)) return address
  const groups = ipv6Groups(bare)
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail split). */
function ipv6Groups(address: string): number[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const parse = (part: string | undefined): number[] => {
    if (!part) return []
    return part.split(':').flatMap((g) => {
      if (!g.includes('.')) return [parseInt(g, 16)]
      const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number]
      return [(a << 8) | b, (c << 8) | d]
    })
  }
  const left = parse(head)
  const right = parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}
