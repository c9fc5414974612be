/**
 * The key every per-address limit counts by: IPv4 as it is, IPv6 by its /64, IPv4-mapped
 * IPv6 as the IPv4 address, whatever way the address is written.
 */
import t from 'tap'
import { addressKey } from '../../src/transport/client-address.js'

t.test('client address - IPv6 is keyed by its /64, however it is written', async (t) => {
  const same = ['2001:db8:7:1::1', '2001:0db8:0007:0001:ffff:ffff:ffff:ffff', '2001:db8:7:1:0:0:0:0', '2001:DB8:7:1::a:b', '2001:db8:7:1::1.2.3.4']
  t.same([...new Set(same.map(addressKey))], ['2001:db8:7:1::/64'])
  t.equal(addressKey('2001:db8:7:2::1'), '2001:db8:7:2::/64', 'the next /64 is another key')
  t.equal(addressKey('::1'), '0:0:0:0::/64')
  t.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone names an interface, not a party')
  t.equal(addressKey('2001:db8::'), '2001:db8:0:0::/64')
})

t.test('client address - IPv4 and IPv4-mapped IPv6 are the IPv4 address', async (t) => {
  t.equal(addressKey('192.0.2.33'), '192.0.2.33')
  t.equal(addressKey('::ffff:192.0.2.33'), '192.0.2.33')
  t.equal(addressKey('::FFFF:c000:0221'), '192.0.2.33', 'the hex form too')
  t.equal(addressKey('0:0:0:0:0:ffff:192.0.2.33'), '192.0.2.33')
  t.equal(addressKey('::192.0.2.33'), '0:0:0:0::/64', 'IPv4-compatible (deprecated) is plain IPv6')
})

t.test('client address - what is not an address is kept as it is', async (t) => {
  for (const s of ['unknown', 'proxy-entry', '999.1.1.1', '1:2:3']) t.equal(addressKey(s), s)
})
