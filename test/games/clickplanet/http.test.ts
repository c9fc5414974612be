import { request } from 'node:http'
import t from 'tap'
import {
  decodeClickResponse, encodeBatchRequest, encodeClickRequest,
} from '../../../src/games/clickplanet/messages.js'
import { startHarness } from './harness.js'
import { batch, dataOf, leaderboard, ownerships, postBytes, REFERENCE_HEADERS } from './helpers.js'

t.test('http - the reference client\'s requests, under both prefixes', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  for (const prefix of ['/api', '/v2/rpc']) {
    const bytes = encodeClickRequest({ tileId: 1, countryId: 'fr' })
    if (prefix === '/api') t.same(JSON.stringify({ data: Array.from(bytes) }), '{"data":[8,1,18,2,102,114]}')
    const res = await postBytes(`${h.base}${prefix}/click`, bytes)
    t.equal(res.status, 200, `${prefix}/click`)
    t.equal(res.headers.get('access-control-allow-origin'), '*')
    t.match(res.headers.get('content-type'), /^application\/json/)
    const answer = decodeClickResponse(await dataOf(res))
    t.ok(answer.clickId.length > 0, 'click_id set')
    const nowNs = BigInt(Date.now()) * 1_000_000n
    t.ok(answer.timestampNs > nowNs - 60_000_000_000n && answer.timestampNs <= nowNs + 60_000_000_000n, 'timestamp_ns is Unix ns')
  }
  const ids = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const again = await postBytes(`${h.base}/api/click`, encodeClickRequest({ tileId: 2, countryId: 'fr' }))
    ids.add(decodeClickResponse(await dataOf(again)).clickId)
  }
  t.equal(ids.size, 20, 'click ids are unique')
  for (const prefix of ['/api', '/v2/rpc']) {
    t.same((await ownerships(h.base, prefix)).map((o) => [o.tileId, o.countryId]), [[1, 'fr'], [2, 'fr']], `${prefix}/ownerships`)
    t.same(await leaderboard(h.base, prefix), [{ countryId: 'fr', score: 2 }], `${prefix}/leaderboard`)
    t.same((await batch(h.base, 2, 10_001, prefix)).map((o) => o.tileId), [2], `${prefix}/ownerships-by-batch`)
    t.same(await batch(h.base, 5, 4, prefix), [], 'start past end: empty')
  }
})

t.test('http - base64 bodies are accepted too', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const b64 = Buffer.from(encodeClickRequest({ tileId: 5, countryId: 'jp' })).toString('base64')
  const res = await fetch(`${h.base}/api/click`, { method: 'POST', headers: REFERENCE_HEADERS, body: JSON.stringify({ data: b64 }) })
  t.equal(res.status, 200)
  const batchB64 = Buffer.from(encodeBatchRequest({ startTileId: 0, endTileId: 100 })).toString('base64')
  const res2 = await fetch(`${h.base}/v2/rpc/ownerships-by-batch`, { method: 'POST', headers: REFERENCE_HEADERS, body: JSON.stringify({ data: batchB64 }) })
  t.equal(res2.status, 200)
  t.ok((await dataOf(res2)).length > 0)
})

t.test('http - CORS preflight is answered 204 for any origin', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  for (const path of ['/api/click', '/v2/rpc/ownerships-by-batch', '/api/map/summary']) {
    const res = await fetch(`${h.base}${path}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    })
    t.equal(res.status, 204, path)
    t.equal(res.headers.get('access-control-allow-origin'), '*')
    t.match(res.headers.get('access-control-allow-methods'), /POST/)
    t.match(res.headers.get('access-control-allow-headers'), /Content-Type/i)
  }
  const other = await fetch(`${h.base}/api/rooms`, { method: 'OPTIONS' })
  t.equal(other.status, 405, 'paths that are not ClickPlanet\'s are left to the server (the lobby answers GET only)')
})

t.test('http - every bad request is a 400 with its reason, and changes nothing', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const url = `${h.base}/api/click`
  const cases: [string, string, Record<string, string>, RegExp][] = [
    ['not json', '{"data": [8,1', {}, /not JSON/],
    ['array body', '[1,2]', {}, /JSON object/],
    ['missing data', '{"date":[8,1]}', {}, /missing "data"/],
    ['null data', '{"data":null}', {}, /missing "data"/],
    ['data a number', '{"data":42}', {}, /array of integers 0-255 or a base64 string/],
    ['non-integer byte', '{"data":[8,1.5]}', {}, /"data"\[1\] is not an integer/],
    ['string byte', '{"data":[8,"1"]}', {}, /"data"\[1\] is not an integer/],
    ['byte over 255', '{"data":[8,256]}', {}, /"data"\[1\] is 256, not a byte/],
    ['negative byte', '{"data":[-8,1]}', {}, /"data"\[0\] is -8/],
    ['not base64', '{"data":"!!not base64!!"}', {}, /not base64/],
    ['undecodable protobuf', '{"data":[8]}', {}, /not a ClickRequest/],
    ['wrong wire type', '{"data":[10,2,102,114]}', {}, /not a ClickRequest/],
    ['tile out of range', JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: 1_000_000, countryId: 'fr' })) }), {}, /tile_id 1000000 is out of range/],
    ['negative tile', JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: -1, countryId: 'fr' })) }), {}, /tile_id -1 is out of range/],
    ['unknown country', JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: 1, countryId: 'zz' })) }), {}, /"zz" is not a lower-case ISO/],
    ['upper-case country', JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: 1, countryId: 'FR' })) }), {}, /"FR" is not a lower-case ISO/],
    ['user-assigned code', JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: 1, countryId: 'xk' })) }), {}, /"xk"/],
    ['empty message', '{"data":[]}', {}, /country_id "" is not/],
    ['wrong content type', '{"data":[8,1,18,2,102,114]}', { 'content-type': 'text/plain' }, /Content-Type must be application\/json/],
    ['too many bytes for a request', JSON.stringify({ data: new Array(300).fill(0) }), {}, /more than any request message/],
  ]
  for (const [name, body, headers, reason] of cases) {
    const res = await fetch(url, { method: 'POST', headers: { ...REFERENCE_HEADERS, ...headers }, body })
    t.equal(res.status, 400, name)
    t.equal(res.headers.get('access-control-allow-origin'), '*')
    const json = (await res.json()) as { error?: string }
    t.match(json.error, reason, `${name}: ${json.error}`)
  }
  const badBatch = await fetch(`${h.base}/api/ownerships-by-batch`, { method: 'POST', headers: REFERENCE_HEADERS, body: '{"data":[8,1,18,2,102,114]}' })
  t.equal(badBatch.status, 400, 'a ClickRequest is not a BatchRequest')
  t.match(((await badBatch.json()) as { error: string }).error, /BatchRequest/)
  t.same(await ownerships(h.base), [], 'nothing changed')
  t.equal(h.planet.stats.clicksAccepted, 0)
  const get = await fetch(url)
  t.equal(get.status, 405)
  t.match(get.headers.get('allow'), /POST/)
})

t.test('http - a body over the limit is refused with 413', async (t) => {
  const h = await startHarness({ maxBodyBytes: 1024 })
  t.teardown(() => h.close())
  const big = JSON.stringify({ data: new Array(2000).fill(1) })
  const res = await fetch(`${h.base}/api/click`, { method: 'POST', headers: REFERENCE_HEADERS, body: big })
  t.equal(res.status, 413)
  t.match(((await res.json()) as { error: string }).error, /1024 byte limit/)
  // without a Content-Length: the limit is enforced while reading
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${h.base}/api/click`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (r) => {
      r.resume()
      resolve(r.statusCode ?? 0)
    })
    req.on('error', reject)
    req.write(big.slice(0, 800))
    req.write(big.slice(800))
    req.end()
  })
  t.equal(status, 413)
})

t.test('http - clicks are rate-limited per address when a rate is set', async (t) => {
  const h = await startHarness({ clickRate: 1, clickBurst: 3 })
  t.teardown(() => h.close())
  const statuses: number[] = []
  let retryAfter: string | null = null
  for (let i = 0; i < 5; i++) {
    const res = await postBytes(`${h.base}/api/click`, encodeClickRequest({ tileId: i, countryId: 'fr' }))
    statuses.push(res.status)
    if (res.status === 429) retryAfter = res.headers.get('retry-after')
    await res.arrayBuffer()
  }
  t.same(statuses.slice(0, 3), [200, 200, 200], 'the burst passes')
  t.equal(statuses[4], 429, 'then 429')
  t.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`)
  t.equal(h.planet.stats.clicksRateLimited >= 1, true)

  const free = await startHarness({ clickRate: 0, clickBurst: 1 })
  t.teardown(() => free.close())
  const many = await Promise.all(Array.from({ length: 200 }, (_, i) => postBytes(`${free.base}/api/click`, encodeClickRequest({ tileId: i, countryId: 'de' }))))
  t.same(new Set(many.map((r) => r.status)), new Set([200]), 'rate 0: no limit')
  await Promise.all(many.map((r) => r.arrayBuffer()))
})

t.test('http - map routes', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const summary = (await (await fetch(`${h.base}/api/map/summary`)).json()) as { tiles: number; noCountry: number; countries: { id: string; tiles: number }[] }
  t.equal(summary.tiles, h.planet.map.tileCount)
  t.equal(summary.countries.reduce((s, c) => s + c.tiles, 0) + summary.noCountry, summary.tiles)
  const fr = await fetch(`${h.base}/api/map/countries/fr`)
  t.equal(fr.status, 200)
  const { tiles } = (await fr.json()) as { tiles: number[] }
  t.same(tiles, Array.from(h.planet.map.tilesOf('fr')!))
  t.equal((await fetch(`${h.base}/api/map/countries/va`)).status, 404, 'ISO but no territory on the map')
  const bad = await fetch(`${h.base}/api/map/countries/zz`)
  t.equal(bad.status, 400)
  t.match(((await bad.json()) as { error: string }).error, /not a lower-case ISO/)
  const bin = await fetch(`${h.base}/api/map/tiles`)
  t.equal(bin.headers.get('content-type'), 'application/octet-stream')
  t.ok(Buffer.from(await bin.arrayBuffer()).equals(h.planet.map.asset))
  const cached = await fetch(`${h.base}/api/map/tiles`, { headers: { 'if-none-match': bin.headers.get('etag') ?? '' } })
  t.equal(cached.status, 304)
})
