import { request } from 'node:http'
import t from 'tap'
import {
  decodeClickResponse, decodeOwnershipState, encodeBatchRequest, encodeClickRequest, type Ownership,
} from '../../../src/games/clickplanet/messages.js'
import { defaultMapPath } from '../../../src/games/clickplanet/map.js'
import { startHarness } from './harness.js'
import { batch, click, dataOf, leaderboard, ownerships, postBytes, REFERENCE_HEADERS } from './helpers.js'

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

t.test('http - the reference client\'s BatchRequest, byte for byte', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  await click(h.base, 3, 'fr')
  await click(h.base, 2886, 'de')
  // Built from the contract's field numbers (1 start_tile_id, 2 end_tile_id, both varints),
  // not from the .proto: a wrong field number there fails here.
  const windows: [number, number, number[]][] = [
    [0, 9999, [0x10, 0x8f, 0x4e]], // start 0 is the proto3 default: not written
    [10_000, 19_999, [0x08, 0x90, 0x4e, 0x10, 0x9f, 0x9c, 0x01]],
    [1, 2886, [0x08, 0x01, 0x10, 0xc6, 0x16]],
  ]
  for (const [start, end, bytes] of windows) {
    t.same([...encodeBatchRequest({ startTileId: start, endTileId: end })], bytes, `window ${start}-${end} encodes as the contract says`)
  }
  const send = (bytes: number[]): Promise<Response> => fetch(`${h.base}/api/ownerships-by-batch`, {
    method: 'POST', headers: REFERENCE_HEADERS, body: `{"data":[${bytes.join(',')}]}`,
  })
  t.same((await decodeAnswer(await send(windows[0]![2]))).map((o) => [o.tileId, o.countryId]), [[3, 'fr'], [2886, 'de']])
  t.same(await decodeAnswer(await send(windows[1]![2])), [])
  t.same((await decodeAnswer(await send(windows[2]![2]))).map((o) => o.tileId), [3, 2886])
})

async function decodeAnswer(res: Response): Promise<Ownership[]> {
  if (res.status !== 200) throw new Error(`HTTP ${res.status} ${await res.text()}`)
  return decodeOwnershipState(await dataOf(res))
}

t.test('http - base64 bodies are accepted too: standard or URL-safe, padded or not', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const post = (path: string, data: string): Promise<Response> =>
    fetch(`${h.base}${path}`, { method: 'POST', headers: REFERENCE_HEADERS, body: JSON.stringify({ data }) })
  const b64 = Buffer.from(encodeClickRequest({ tileId: 5, countryId: 'jp' })).toString('base64')
  t.equal((await post('/api/click', b64)).status, 200)
  const batchB64 = Buffer.from(encodeBatchRequest({ startTileId: 0, endTileId: 100 })).toString('base64')
  const res2 = await post('/v2/rpc/ownerships-by-batch', batchB64)
  t.equal(res2.status, 200)
  t.ok((await dataOf(res2)).length > 0)
  // [8,1,16,10] is "CAEQCg==": without its padding too
  const short = Buffer.from(encodeBatchRequest({ startTileId: 1, endTileId: 10 })).toString('base64')
  t.equal(short, 'CAEQCg==')
  t.same((await decodeAnswer(await post('/api/ownerships-by-batch', 'CAEQCg'))).map((o) => o.tileId), [5], 'unpadded')
  // end 2^31-1 puts 0xff bytes in the message: "/" in base64, "_" in base64url
  for (const start of [0, 1]) {
    const bytes = Buffer.from(encodeBatchRequest({ startTileId: start, endTileId: 2 ** 31 - 1 }))
    const url = bytes.toString('base64url') + (start === 1 ? '=' : '')
    t.match(url, /_/)
    t.same((await decodeAnswer(await post('/api/ownerships-by-batch', url))).map((o) => o.tileId), [5], `base64url ${url}`)
    t.same((await decodeAnswer(await post('/api/ownerships-by-batch', bytes.toString('base64')))).map((o) => o.tileId), [5])
  }
  t.equal(h.planet.stats.clicksAccepted, 1)
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
  t.equal(other.status, 204, 'paths that are not ClickPlanet\'s are left to the server: the lobby answers its own preflight')
  t.match(other.headers.get('access-control-allow-methods'), /^GET, HEAD, OPTIONS$/, 'for reading only')
})

t.test('http - every bad request is a 400 with its reason, under both prefixes, and changes nothing', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const deep = `{"data":${'['.repeat(32_000)}${']'.repeat(32_000)}}`
  const cases: [string, string, Record<string, string>, RegExp][] = [
    ['not json', '{"data": [8,1', {}, /not JSON/],
    ['array body', '[1,2]', {}, /JSON object/],
    ['missing data', '{"date":[8,1]}', {}, /missing "data"/],
    ['null data', '{"data":null}', {}, /missing "data"/],
    ['data a number', '{"data":42}', {}, /array of integers 0-255 or a base64 string/],
    ['data an object', '{"data":{"0":8}}', {}, /"data" is an object/],
    ['non-integer byte', '{"data":[8,1.5]}', {}, /"data"\[1\] is not an integer/],
    ['string byte', '{"data":[8,"secret-1"]}', {}, /^"data"\[1\] is not an integer \(a string\)$/],
    ['nested 32,000 arrays deep', deep, {}, /^"data"\[0\] is not an integer \(an array\)$/],
    ['byte over 255', '{"data":[8,256]}', {}, /"data"\[1\] is 256, not a byte/],
    ['negative byte', '{"data":[-8,1]}', {}, /"data"\[0\] is -8/],
    ['not base64', '{"data":"!!not base64!!"}', {}, /not base64/],
    ['"hello" is not base64 (5 characters)', '{"data":"hello"}', {}, /not base64/],
    ['a base64 length ≡ 1 mod 4', '{"data":"CAESAmZyA"}', {}, /not base64/],
    ['base64 with whitespace', '{"data":" CAESAmZy"}', {}, /not base64/],
    ['mixed alphabets', '{"data":"CA+_AmZy"}', {}, /not base64/],
    ['padding in the middle', '{"data":"CA==AmZy"}', {}, /not base64/],
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
  for (const prefix of ['/api', '/v2/rpc']) {
    const url = `${h.base}${prefix}/click`
    for (const [name, body, headers, reason] of cases) {
      const res = await fetch(url, { method: 'POST', headers: { ...REFERENCE_HEADERS, ...headers }, body })
      t.equal(res.status, 400, `${prefix} ${name}`)
      t.equal(res.headers.get('access-control-allow-origin'), '*')
      const json = (await res.json()) as { error?: string }
      t.match(json.error, reason, `${prefix} ${name}: ${json.error}`)
    }
    for (const body of ['{"data":[8,1,18,2,102,114]}', '{"data":"hello"}', deep]) {
      const badBatch = await fetch(`${h.base}${prefix}/ownerships-by-batch`, { method: 'POST', headers: REFERENCE_HEADERS, body })
      t.equal(badBatch.status, 400, `${prefix}/ownerships-by-batch refuses ${body.slice(0, 20)}`)
      t.match(((await badBatch.json()) as { error: string }).error, /BatchRequest|not base64|not an integer/)
    }
    const get = await fetch(url)
    t.equal(get.status, 405)
    t.match(get.headers.get('allow'), /POST/)
    const post = await fetch(`${h.base}${prefix}/ownerships`, { method: 'POST', headers: REFERENCE_HEADERS, body: '{}' })
    t.equal(post.status, 405)
    await post.arrayBuffer()
  }
  t.same(await ownerships(h.base), [], 'nothing changed')
  t.equal(h.planet.stats.clicksAccepted, 0)
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
  let exposed: string | null = null
  for (let i = 0; i < 5; i++) {
    const res = await postBytes(`${h.base}/api/click`, encodeClickRequest({ tileId: i, countryId: 'fr' }))
    statuses.push(res.status)
    if (res.status === 429) {
      retryAfter = res.headers.get('retry-after')
      exposed = res.headers.get('access-control-expose-headers')
    }
    await res.arrayBuffer()
  }
  t.same(statuses.slice(0, 3), [200, 200, 200], 'the burst passes')
  t.equal(statuses[4], 429, 'then 429')
  t.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`)
  t.match(exposed, /Retry-After/i, 'a page may read Retry-After')
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
  for (const [cc, why] of [['va', 'ISO but no territory on the map'], ['zz', 'unassigned'], ['xk', 'user-assigned'], ['eu', 'reserved']]) {
    const res = await fetch(`${h.base}/api/map/countries/${cc}`)
    t.equal(res.status, 404, `${cc}: ${why}`)
    t.match(((await res.json()) as { error: string }).error, new RegExp(`no territory for ${cc}`))
  }
  for (const cc of ['FR', 'Fr', 'f', 'fra', '%C3%A9t', '12', 'f%20']) {
    const res = await fetch(`${h.base}/api/map/countries/${cc}`)
    t.equal(res.status, 400, `${cc} is not two lower-case letters`)
    t.match(((await res.json()) as { error: string }).error, /two lower-case letters/)
  }
  const bin = await fetch(`${h.base}/api/map/tiles`)
  t.equal(bin.headers.get('content-type'), 'application/octet-stream')
  t.ok(Buffer.from(await bin.arrayBuffer()).equals(h.planet.map.asset))
  const cached = await fetch(`${h.base}/api/map/tiles`, { headers: { 'if-none-match': bin.headers.get('etag') ?? '' } })
  t.equal(cached.status, 304)
})

t.test('http - leaderboard ties are ordered by country id', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const plan: [number, string][] = [[1, 'se'], [2, 'se'], [3, 'at'], [4, 'nz'], [5, 'at'], [6, 'nz'], [7, 'br'], [8, 'de'], [9, 'de'], [10, 'de']]
  for (const [tile, cc] of plan) await click(h.base, tile, cc)
  const expected = [
    { countryId: 'de', score: 3 },
    { countryId: 'at', score: 2 }, { countryId: 'nz', score: 2 }, { countryId: 'se', score: 2 },
    { countryId: 'br', score: 1 },
  ]
  for (const prefix of ['/api', '/v2/rpc']) t.same(await leaderboard(h.base, prefix), expected, prefix)
  await click(h.base, 8, 'br') // de 2, br 2: a four-way tie
  t.same(await leaderboard(h.base), [
    { countryId: 'at', score: 2 }, { countryId: 'br', score: 2 }, { countryId: 'de', score: 2 },
    { countryId: 'nz', score: 2 }, { countryId: 'se', score: 2 },
  ])
})

t.test('http - ownerships and leaderboard carry an ETag; If-None-Match answers 304 until the next change', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  await click(h.base, 1, 'fr')
  for (const path of ['/api/ownerships', '/v2/rpc/leaderboard']) {
    const first = await fetch(`${h.base}${path}`, { headers: REFERENCE_HEADERS })
    const etag = first.headers.get('etag')
    t.match(etag, /^"[0-9a-f]+-\d+"$/, `${path} ETag ${etag}`)
    t.match(first.headers.get('access-control-expose-headers'), /ETag/i)
    await first.arrayBuffer()
    const same = await fetch(`${h.base}${path}`, { headers: { ...REFERENCE_HEADERS, 'if-none-match': etag! } })
    t.equal(same.status, 304, `${path}: unchanged`)
    t.equal(same.headers.get('etag'), etag)
    t.equal(same.headers.get('access-control-allow-origin'), '*')
    await click(h.base, 1, 'fr') // changes nothing
    const still = await fetch(`${h.base}${path}`, { headers: { ...REFERENCE_HEADERS, 'if-none-match': `"x", ${etag}` } })
    t.equal(still.status, 304, `${path}: a click that changes nothing keeps the ETag`)
    await click(h.base, 2, path.includes('leader') ? 'de' : 'fr')
    const changed = await fetch(`${h.base}${path}`, { headers: { ...REFERENCE_HEADERS, 'if-none-match': etag! } })
    t.equal(changed.status, 200, `${path}: changed`)
    t.not(changed.headers.get('etag'), etag)
    t.ok((await dataOf(changed)).length > 0)
  }
})

t.test('http - read your writes: a click acknowledged before a read of the full map shows in it, rebuilds and all', async (t) => {
  // The default map: each rebuild of ownerships takes several event-loop turns.
  const h = await startHarness({ mapPath: defaultMapPath() })
  t.teardown(() => h.close())
  const CLIENTS = 4, ROUNDS = 12
  const stale: string[] = []
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    const mine = new Map<number, string>()
    for (let r = 0; r < ROUNDS; r++) {
      const tile = 1000 + r * CLIENTS + c // nobody else clicks it
      const cc = ['fr', 'de', 'jp'][(r + c) % 3]!
      await click(h.base, tile, cc)
      mine.set(tile, cc)
      const seen = new Map((await ownerships(h.base)).map((o) => [o.tileId, o.countryId]))
      for (const [tile, cc] of mine) if (seen.get(tile) !== cc) stale.push(`client ${c} round ${r}: tile ${tile} is ${seen.get(tile)}, not ${cc}`)
    }
  }))
  t.same(stale, [], `${CLIENTS * ROUNDS} reads, each after its own click`)
})
