/**
 * The server's HTTP answers as a client reads them: every refusal, from the lobby or from
 * ClickPlanet, is `{"error": reason, "code": code}` with its registered status; the lobby
 * can be read from a page on another origin (CORS).
 */
import t from 'tap'
import { httpErrors, type HttpErrorCode } from '../../src/errors.js'
import { encodeClickRequest } from '../../src/games/clickplanet/messages.js'
import { SMALL_MAP } from '../games/clickplanet/harness.js'
import { rawExchange, rawJson } from '../helpers/raw-http.js'
import { HostPeer, testServer } from '../helpers/server.js'

const clickBody = (tileId: number, countryId: string): string => JSON.stringify({ data: Array.from(encodeClickRequest({ tileId, countryId })) })
const json = { 'content-type': 'application/json' }

t.test('http - every refusal is {"error": reason, "code": code} with the status of its code', async (t) => {
  const server = await testServer(t, { clickplanet: true, map: SMALL_MAP, clickRate: 1, clickBurst: 1, joinAttemptsPerMinute: 1 })
  const base = server.url
  const cases: [string, string, RequestInit, HttpErrorCode][] = [
    ['an unknown path', '/nothing/here', {}, 'no_route'],
    ['POST to the lobby', '/api/rooms', { method: 'POST', body: '{}' }, 'method_not_allowed'],
    ['POST to /metrics', '/metrics', { method: 'DELETE' }, 'method_not_allowed'],
    ['an unknown room', '/api/rooms/ZZZZ', {}, 'no_such_room'],
    ['another unknown room past the throttle', '/api/rooms/YYYY', {}, 'too_many_lookups'],
    ['a body that is not JSON', '/api/click', { method: 'POST', headers: json, body: '{"data": [8,1' }, 'invalid_body'],
    ['a body that is not a ClickRequest', '/v2/rpc/click', { method: 'POST', headers: json, body: '{"data":[8]}' }, 'invalid_body'],
    ['a tile out of range', '/api/click', { method: 'POST', headers: json, body: clickBody(1_000_000, 'fr') }, 'invalid_click'],
    ['a country that is not ISO', '/api/click', { method: 'POST', headers: json, body: clickBody(1, 'zz') }, 'invalid_click'],
    ['a click', '/api/click', { method: 'POST', headers: json, body: clickBody(1, 'fr') }, 'ok' as HttpErrorCode],
    ['a click past the rate', '/api/click', { method: 'POST', headers: json, body: clickBody(2, 'fr') }, 'rate_limited'],
    ['GET of a POST route', '/api/click', {}, 'method_not_allowed'],
    ['a malformed country code', '/api/map/countries/FRA', {}, 'invalid_country'],
    ['a country with no territory', '/api/map/countries/zz', {}, 'no_territory'],
    ['a body over 64 KiB', '/api/click', { method: 'POST', headers: json, body: JSON.stringify({ data: new Array(40_000).fill(1) }) }, 'body_too_large'],
  ]
  for (const [what, path, init, code] of cases) {
    const res = await fetch(base + path, init)
    const body = (await res.json()) as Record<string, unknown>
    if (code === ('ok' as HttpErrorCode)) {
      t.equal(res.status, 200, what)
      continue
    }
    t.equal(res.status, httpErrors[code].status, `${what}: ${res.status}`)
    t.same(Object.keys(body).sort(), ['code', 'error'], `${what}: error and code, nothing else`)
    t.equal(body.code, code, `${what}: ${code}`)
    t.type(body.error, 'string')
    if (res.status === 429) t.match(res.headers.get('retry-after'), /^\d+$/, `${what}: Retry-After`)
    if (res.status === 405) t.ok(res.headers.get('allow'), `${what}: Allow`)
  }
  // A request target no URL parser takes.
  const raw = await rawExchange(server.port, (socket) => void socket.write('GET //[ HTTP/1.1\r\nHost: partyline\r\nConnection: close\r\n\r\n'))
  t.equal(raw.status, 400)
  t.match(rawJson(raw), { code: 'malformed_request', error: String })

  // Clicks refused while ClickPlanet cannot store them.
  await server.clickplanet!.close()
  const refused = await fetch(`${base}/api/click`, { method: 'POST', headers: json, body: clickBody(3, 'de') })
  t.equal(refused.status, 503)
  t.match(await refused.json(), { code: 'unavailable', error: /shutting down/ })
})

t.test('http - the lobby answers a page on another origin: CORS on GET, HEAD, errors and the preflight', async (t) => {
  const server = await testServer(t)
  const host = new HostPeer(server)
  const { key } = await host.prepare({ name: 'Quiz', public: true })
  const origin = { origin: 'https://game.example' }
  for (const path of ['/api/rooms', `/api/rooms/${key}`, `/api/rooms/${key.toLowerCase()}`]) {
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(server.url + path, { method, headers: origin })
      t.equal(res.status, 200, `${method} ${path}`)
      t.equal(res.headers.get('access-control-allow-origin'), '*', `${method} ${path}: readable from any origin`)
      await res.arrayBuffer()
    }
    const preflight = await fetch(server.url + path, {
      method: 'OPTIONS',
      headers: { ...origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'content-type' },
    })
    t.equal(preflight.status, 204, `preflight ${path}`)
    t.equal(preflight.headers.get('access-control-allow-origin'), '*')
    t.equal(preflight.headers.get('access-control-allow-methods'), 'GET, HEAD, OPTIONS')
    t.match(preflight.headers.get('access-control-allow-headers'), /content-type/i)
  }
  const missing = await fetch(`${server.url}/api/rooms/QQQQ`, { headers: origin })
  t.equal(missing.status, 404)
  t.equal(missing.headers.get('access-control-allow-origin'), '*', 'a page can read the 404 too')
  t.match(missing.headers.get('access-control-expose-headers'), /Retry-After/, 'and Retry-After on a 429')
  t.match(await missing.json(), { code: 'no_such_room' })
  const listed = (await (await fetch(`${server.url}/api/rooms`)).json()) as { rooms: { key: string }[] }
  t.same(listed.rooms.map((r) => r.key), [key])
  const health = await fetch(`${server.url}/healthz`, { headers: origin })
  t.equal(health.headers.get('access-control-allow-origin'), null, 'operations routes are not for pages')
})
