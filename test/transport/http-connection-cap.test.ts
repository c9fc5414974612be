/**
 * Plain HTTP connections per address: an address that holds its cap of idle TCP connections
 * gets 429 `too_many_connections` at accept on the next one, whatever it sends; other
 * addresses (127.0.0.2 here: Linux routes all of 127/8 to loopback) keep being served,
 * `/healthz` included; a closed connection or an upgrade to a WebSocket frees its place.
 */
import { connect, type Socket } from 'node:net'
import t from 'tap'
import { metricValue, PlayerPeer, HostPeer, testServer, until } from '../helpers/server.js'

const CAP = 8

/** A TCP connection from `localAddress` that sends nothing (yet). */
function openIdle(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Everything the server writes on `socket` until it closes it (after sending `request`, if any). */
function readToClose(socket: Socket, request?: string): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => {})
    socket.once('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    if (request !== undefined) socket.write(request)
  })
}

/** One `GET path` on a fresh connection from `localAddress`; the raw answer. */
async function rawGet(port: number, path: string, localAddress = '127.0.0.1'): Promise<string> {
  const socket = await openIdle(port, localAddress)
  return readToClose(socket, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
}

t.test('http connections - past its cap an address is answered 429 at accept; other addresses and freed places are served', async (t) => {
  const server = await testServer(t, { httpConnectionsPerAddress: CAP })
  const port = Number(new URL(server.url).port)
  const held = await Promise.all(Array.from({ length: CAP }, () => openIdle(port)))
  t.teardown(() => held.forEach((s) => s.destroy()))

  // The next connection is answered before it sends anything, and closed.
  const refused = await readToClose(await openIdle(port))
  t.match(refused, /^HTTP\/1\.1 429 Too Many Requests\r\n/, 'the connection past the cap gets 429 without asking')
  const body = JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4)) as { code: string; error: string }
  t.equal(body.code, 'too_many_connections')
  t.match(body.error, /already holds 8 HTTP connections \(PARTYLINE_HTTP_CONNECTIONS_PER_ADDRESS\)/, 'the reason names the setting')

  // One that sends a request at once gets the same answer, and the server does not trip on
  // the request it never reads.
  const eager = await rawGet(port, '/healthz')
  t.match(eager, /^HTTP\/1\.1 429 /, 'a request on a refused connection is not served')
  t.notMatch(eager, /HTTP\/1\.1 200/, 'and not answered a second time')

  const other = await rawGet(port, '/healthz', '127.0.0.2')
  t.match(other, /^HTTP\/1\.1 200 /, 'another address is served while this one is at its cap')

  // Idle connections the server holds are still served when they speak.
  const onHeld = await readToClose(held.pop()!, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.match(onHeld, /^HTTP\/1\.1 200 /, 'a held connection is served')
  const metrics = await rawGet(port, '/metrics', '127.0.0.2')
  t.equal(metricValue(metrics, 'partyline_http_connections_refused_total'), 2, 'both refusals are counted')

  // The server counts the place free when its side of the socket has closed, a moment after
  // the client saw the close: ask again until then.
  let freed = ''
  const deadline = Date.now() + 5000
  while (!/^HTTP\/1\.1 200 /.test(freed) && Date.now() < deadline) freed = await rawGet(port, '/healthz')
  t.match(freed, /^HTTP\/1\.1 200 /, 'a closed connection frees its place')
})

t.test('http connections - an upgraded WebSocket leaves the count: an address may hold more sockets than the HTTP cap', async (t) => {
  const server = await testServer(t, { httpConnectionsPerAddress: CAP })
  const port = Number(new URL(server.url).port)
  const host = new HostPeer(server)
  t.teardown(() => host.close())
  const { key } = await host.prepare({ max_players: CAP * 2 })
  const players: PlayerPeer[] = []
  t.teardown(() => players.forEach((p) => p.close()))
  for (let i = 0; i < CAP * 2; i++) {
    const p = new PlayerPeer(server, key)
    players.push(p)
    await p.opened
  }
  await until(() => server.metrics.connections.player === CAP * 2, 'every player to be in')
  const answer = await rawGet(port, '/healthz')
  t.match(answer, /^HTTP\/1\.1 200 /, `with ${CAP * 2} WebSockets open the address still has its ${CAP} HTTP places`)
})

t.test('http connections - behind a trusted proxy every connection comes from the proxy: the cap is not applied', async (t) => {
  const server = await testServer(t, { httpConnectionsPerAddress: 2, trustProxy: true })
  const port = Number(new URL(server.url).port)
  const held = await Promise.all(Array.from({ length: 4 }, () => openIdle(port)))
  t.teardown(() => held.forEach((s) => s.destroy()))
  t.match(await rawGet(port, '/healthz'), /^HTTP\/1\.1 200 /, 'the proxy\'s fifth connection is served')
})
