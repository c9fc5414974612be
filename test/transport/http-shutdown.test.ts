/**
 * What HTTP clients see while the server stops: until its WebSockets are closed (at most
 * `PARTYLINE_SHUTDOWN_MS`), `/healthz` and `/readyz` answer 503 on connections already open
 * and on new ones, every other route 503 `shutting_down`; then the listener is gone.
 */
import t from 'tap'
import { KeepAliveClient } from '../helpers/raw-http.js'
import { httpGet, roomWithPlayers, stopReading, testServer } from '../helpers/server.js'

t.test('http - while stopping, health answers 503 on kept-alive and new connections, other routes 503 shutting_down, then the port is closed', async (t) => {
  const server = await testServer(t, { shutdownMs: 10_000 })
  // A phone that stopped reading never answers the 1012 close: its socket holds the stop
  // window open until it is cut, so there is a window to look into.
  const { players } = await roomWithPlayers(server, 1)
  stopReading(players[0]!)
  t.teardown(() => players[0]!.ws.terminate())

  const checker = await KeepAliveClient.open(server.port)
  t.teardown(() => checker.destroy())
  t.equal((await checker.get('/healthz')).status, 200, 'serving: 200')

  const stopped = server.close()
  const health = await checker.get('/healthz')
  t.equal(health.status, 503, 'the kept-alive connection: /healthz 503')
  t.same(JSON.parse(health.body), { status: 'shutting down' })
  t.notMatch(health.head, /connection: close/i, 'and the connection stays open for the next check')
  const ready = await checker.get('/readyz')
  t.equal(ready.status, 503, '/readyz 503')
  t.match(JSON.parse(ready.body), { status: 'shutting down' })

  const fresh = await httpGet(server, '/healthz')
  t.equal(fresh.status, 503, 'a new connection: /healthz 503')
  const lobby = await httpGet(server, '/api/rooms')
  t.equal(lobby.status, 503, 'other routes: 503')
  t.match(lobby.body, { code: 'shutting_down', error: String })
  t.equal(lobby.headers.get('retry-after'), '1')
  t.equal(lobby.headers.get('connection'), 'close')

  await stopped
  t.ok(checker.closed || (await checker.get('/healthz').then(() => false, () => true)), 'the kept-alive connection is closed at the end')
  await t.rejects(fetch(`${server.url}/healthz`), 'then nothing listens on the port')
})
