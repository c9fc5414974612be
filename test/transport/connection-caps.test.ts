/**
 * Connection caps: one address cannot take every descriptor. Past its cap for a role an
 * upgrade is answered HTTP 429, past the total cap 503, before any handshake; plain HTTP
 * (`/healthz`, `/metrics`) is not counted and keeps answering; IPv6 addresses count by /64.
 * The caps are small here (a test never opens thousands of sockets).
 */
import t from 'tap'
import type { WebSocket } from 'ws'
import { SMALL_MAP } from '../games/clickplanet/harness.js'
import { HostPeer, httpGet, metricValue, PlayerPeer, scrape, testServer, until } from '../helpers/server.js'
import { THROTTLED_HANDSHAKES } from '../../src/transport/ws-gateway.js'
import { attempt, openMany, RawUpgrade } from './upgrade-client.js'

const closeAll = (sockets: WebSocket[]): void => sockets.forEach((ws) => ws.terminate())

t.test('caps - past its listener cap an address gets 429 before the handshake; its players, other addresses and /healthz are served', async (t) => {
  const server = await testServer(t, { clickplanet: true, map: SMALL_MAP, listenersPerAddress: 20, trustProxy: true })
  const listen = `${server.ws}/ws/listen`
  const mine = { 'x-forwarded-for': '198.51.100.7' }
  const listeners = await openMany(listen, 20, mine)
  t.teardown(() => closeAll(listeners))

  const refused = await attempt(listen, mine)
  t.equal(refused.open, false, 'the 21st listener of the address is refused')
  if (!refused.open) {
    t.equal(refused.status, 429)
    t.equal(refused.refused, 'per-address', 'the reason is in a header')
    t.match(JSON.parse(refused.body), { error: /too many listener connections from this address \(at most 20\)/ })
  }
  t.equal(server.metrics.connections.listener, 20, 'no socket was made for the refused one')

  const health = await httpGet(server, '/healthz')
  t.equal(health.status, 200, '/healthz answers')
  const metrics = await scrape(server)
  t.equal(metricValue(metrics, 'partyline_connections_refused_total', { reason: 'per-address', role: 'listener' }), 1, 'the refusal is counted by reason and role')

  const other = await attempt(listen, { 'x-forwarded-for': '198.51.100.8' })
  t.ok(other.open, 'another address still gets a listener')
  if (other.open) other.ws.terminate()
  // Roles are capped apart: the address that is out of listeners may still play.
  const host = new HostPeer(server, false, { headers: mine })
  t.teardown(() => host.close())
  const { key } = await host.prepare()
  const player = new PlayerPeer(server, key, undefined, { headers: mine })
  t.teardown(() => player.close())
  await player.opened
  t.equal((await host.message('player_joined')).cmd, 'player_joined')

  // A slot comes back when its socket has closed.
  listeners.pop()!.close()
  await until(() => server.metrics.connections.listener === 19, 'the closed listener to be gone')
  const again = await attempt(listen, mine)
  t.ok(again.open, 'a freed slot is taken again')
  if (again.open) listeners.push(again.ws)
})

t.test('caps - IPv6 addresses count by their /64; an IPv4-mapped address is its IPv4 address', async (t) => {
  const server = await testServer(t, { hostsPerAddress: 2, trustProxy: true })
  const url = `${server.ws}/CREATE`
  const from = (xff: string) => ({ 'x-forwarded-for': xff })
  const hosts = [...(await openMany(url, 1, from('2001:db8:7:1::1'))), ...(await openMany(url, 1, from('2001:db8:7:1:ffff:ffff:ffff:fffe')))]
  t.teardown(() => closeAll(hosts))
  const third = await attempt(url, from('2001:0db8:0007:0001:0:0:0:abcd'))
  t.equal(third.open ? 'open' : third.status, 429, 'a third address of the same /64 is refused')
  const neighbour = await attempt(url, from('2001:db8:7:2::1'))
  t.ok(neighbour.open, 'the next /64 is another party')
  if (neighbour.open) hosts.push(neighbour.ws)

  hosts.push(...(await openMany(url, 2, from('192.0.2.33'))))
  const mapped = await attempt(url, from('::ffff:192.0.2.33'))
  t.equal(mapped.open ? 'open' : mapped.status, 429, '::ffff:192.0.2.33 is 192.0.2.33')
})

t.test('caps - past the total cap every upgrade gets 503; plain HTTP is not counted and keeps answering', async (t) => {
  const server = await testServer(t, { clickplanet: true, map: SMALL_MAP, maxConnections: 20 })
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const players = await openMany(`${server.ws}/${key}`, 4)
  const listeners = await openMany(`${server.ws}/ws/listen`, 15)
  t.teardown(() => {
    host.close()
    closeAll(players)
    closeAll(listeners)
  })
  for (const path of ['/ws/listen', `/${key}`, '/CREATE']) {
    const a = await attempt(server.ws + path)
    t.equal(a.open ? 'open' : `${a.status} ${a.refused}`, '503 server-full', `${path} is refused: the server is full`)
  }
  for (const path of ['/healthz', '/metrics', '/api/rooms', '/api/leaderboard']) t.equal((await httpGet(server, path)).status, 200, `${path} answers while full`)
  t.equal(metricValue(await scrape(server), 'partyline_connections_refused_total', { reason: 'server-full', role: 'listener' }), 1)

  listeners.pop()!.terminate()
  await until(() => server.metrics.connections.listener === 14, 'the closed listener to be gone')
  const p = new PlayerPeer(server, key)
  await p.opened
  t.equal((await host.message('player_joined')).cmd, 'player_joined', 'a freed place is taken again')
  p.close()
})

t.test('caps - a refused join (4004) releases its place at once: a client that never answers the close holds nothing', async (t) => {
  const server = await testServer(t, { playersPerAddress: 1 })
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  t.teardown(() => host.close())

  const hostile = new RawUpgrade(server.port, '/ZZZZ')
  t.teardown(() => hostile.destroy())
  t.equal(await hostile.closeFrame(), 4004, 'the unknown room is refused with 4004')
  // The hostile client neither answers the close nor closes: the server must not wait for it.
  // Its place (the address's only player slot) is already free for a real phone.
  const phone = await attempt(`${server.ws}/${key}`)
  t.ok(phone.open, phone.open ? 'the phone got the place' : `the phone was refused: ${phone.status} ${phone.body}`)
  if (phone.open) {
    t.equal((await host.message('player_joined')).cmd, 'player_joined')
    phone.ws.close()
  }
  await until(() => hostile.ended, 'the server to end the refused connection (FIN)')
  t.equal(metricValue(await scrape(server), 'partyline_closes_cut_total'), 0, 'nothing waited for a closing handshake')
})

t.test('caps - refusals before the handshake cost no socket: a burst past the cap leaves the count where it was', async (t) => {
  const server = await testServer(t, { hostsPerAddress: 3 })
  const hosts = await openMany(`${server.ws}/CREATE`, 3)
  t.teardown(() => closeAll(hosts))
  const raws = Array.from({ length: 20 }, () => new RawUpgrade(server.port, '/CREATE'))
  t.teardown(() => raws.forEach((r) => r.destroy()))
  await until(() => raws.every((r) => r.closed), 'every refused socket to be closed by the server')
  t.same([...new Set(raws.map((r) => r.statusLine))], ['HTTP/1.1 429 Too Many Requests'])
  t.equal(server.metrics.connections.host, 3)
  t.equal(metricValue(await scrape(server), 'partyline_connections_refused_total', { reason: 'per-address', role: 'host' }), 20)
})

t.test('caps - refusals with 4029 and 1008 release their place at once too', async (t) => {
  const server = await testServer(t, { playersPerAddress: 1, joinAttemptsPerMinute: 1, allowedOrigins: ['https://game.example'] })
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  t.teardown(() => host.close())
  const refusals: [string, Record<string, string>, number][] = [
    ['/ZZZZ', {}, 4004],
    ['/ZZZZ', {}, 4029],
    [`/${key}`, { origin: 'https://evil.example' }, 1008],
  ]
  for (const [path, headers, code] of refusals) {
    const hostile = new RawUpgrade(server.port, path, headers)
    t.teardown(() => hostile.destroy())
    t.equal(await hostile.closeFrame(), code, `${path} refused with ${code}`)
    await until(() => hostile.ended, `the server to end the ${code} connection (FIN)`)
  }
  t.equal(metricValue(await scrape(server), 'partyline_closes_cut_total'), 0, 'nothing waited for a closing handshake')
  await until(() => server.metrics.connections.player === 0, 'no place held by the refused connections')

})

t.test('caps - past the join throttle an address is told 4029 a few times, then refused 429 before the handshake; other addresses join', async (t) => {
  const server = await testServer(t, { joinAttemptsPerMinute: 2, trustProxy: true })
  const flooder = { 'x-forwarded-for': '192.0.2.7' }
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  t.teardown(() => host.close())
  const codes: number[] = []
  for (let i = 0; i < 2 + THROTTLED_HANDSHAKES; i++) {
    const raw = new RawUpgrade(server.port, '/ZZZZ', flooder)
    t.teardown(() => raw.destroy())
    codes.push(await raw.closeFrame())
  }
  t.same(codes, [4004, 4004, ...Array<number>(THROTTLED_HANDSHAKES).fill(4029)], 'two failed joins, then 4029 told with a handshake')
  const raws = Array.from({ length: 5 }, () => new RawUpgrade(server.port, `/${key}`, flooder))
  t.teardown(() => raws.forEach((r) => r.destroy()))
  await until(() => raws.every((r) => r.closed), 'every refused socket to be closed by the server')
  t.same([...new Set(raws.map((r) => r.statusLine))], ['HTTP/1.1 429 Too Many Requests'], 'then 429 before any handshake, even for a room that exists')
  t.equal(metricValue(await scrape(server), 'partyline_connections_refused_total', { reason: 'join-throttled', role: 'player' }), 5)
  const other = await attempt(`${server.ws}/${key}`, { 'x-forwarded-for': '192.0.2.8' })
  t.ok(other.open, 'another address joins')
  if (other.open) other.ws.terminate()
})
