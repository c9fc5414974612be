/**
 * The pages and the SDK over HTTP: a plain GET gets a page, a WebSocket upgrade on the
 * same path joins the room as before, the API keeps priority, nothing escapes the built
 * directories, and the SDK file served to pages runs in Node as it is.
 */
import t from 'tap'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { WebSocket } from 'ws'
import { builtWeb } from '../helpers/browser.js'
import { HostPeer, PlayerPeer, httpGet, testServer } from '../helpers/server.js'

t.test('web routes - each page path answers its page, HTML with a same-origin policy', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, {}, { web })
  for (const [path, marker] of [
    ['/', 'front-door.js'],
    ['/demo', 'demo-tv.js'],
    ['/demo/', 'demo-tv.js'],
    ['/demo/race', 'race-tv.js'],
    ['/planet', 'planet.js'],
    ['/KQZT', 'phone.js'],
    ['/kqzt', 'phone.js'],
  ] as const) {
    const res = await httpGet(server, path)
    t.equal(res.status, 200, path)
    t.match(res.headers.get('content-type'), /^text\/html/, `${path} is HTML`)
    t.match(res.text, marker, `${path} is the right page`)
    t.match(res.headers.get('content-security-policy'), /default-src 'self'/, `${path}: nothing from elsewhere`)
  }
  const js = await httpGet(server, '/assets/phone.js')
  t.match(js.headers.get('content-type'), /^text\/javascript/)
  const again = await fetch(`${server.url}/assets/phone.js`, { headers: { 'if-none-match': js.headers.get('etag')! } })
  t.equal(again.status, 304, 'an unchanged file is not sent twice')
  const head = await fetch(`${server.url}/demo`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(await head.text(), '')
})

t.test('web routes - the API keeps priority, other methods and unknown files are not pages, nothing escapes', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, {}, { web })
  t.same((await httpGet(server, '/api/rooms')).body, { rooms: [] }, '/api/rooms is still the lobby')
  t.equal((await httpGet(server, '/healthz')).status, 200)
  t.match((await httpGet(server, '/metrics')).text, /partyline_rooms/)
  for (const path of ['/assets/nope.js', '/assets/..%2Fdemo.html', '/assets/../demo.html', '/sdk/other.js', '/ABCDE', '/admin', '/demo/nope']) {
    t.equal((await httpGet(server, path)).status, 404, `${path}: 404`)
  }
  const post = await fetch(`${server.url}/demo`, { method: 'POST', body: 'x' })
  t.equal(post.status, 404, 'a page answers GET only')
})

t.test('web routes - a WebSocket upgrade on /<CODE> joins the room exactly as before', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, {}, { web })
  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const page = await httpGet(server, `/${key}`)
  t.match(page.text, 'phone.js', 'GET: the phone page')
  const player = new PlayerPeer(server, key.toLowerCase())
  await player.opened
  t.equal((await host.message('player_joined')).player, 1, 'upgrade: a player')
  player.send('hi')
  await host.message('state')
  t.same((await host.message('from_str')).data, 'hi')
})

t.test('web routes - a page whose file is missing is answered in words, not with a crash', async (t) => {
  const server = await testServer(t, {}, { web: { webDir: '/nonexistent/partyline-web', sdkDir: '/nonexistent/partyline-sdk' } })
  const res = await httpGet(server, '/demo')
  t.equal(res.status, 404)
  t.match(res.text, /No file demo\.html/)
})

t.test('sdk - /sdk/partyline.js is one ES module that Node runs as it is: a room, a player, a message', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, {}, { web })
  const res = await httpGet(server, '/sdk/partyline.js')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/javascript/)
  t.notMatch(res.text, /(?:^|[;}\n])\s*import\s*(?:[{*\w][^;]*?from\s*)?["']|\bimport\(/, 'no import of anything else')
  const sdk = (await import(pathToFileURL(join(web.sdkDir, 'partyline.js')).href)) as typeof import('../../clients/js/index.js')
  const host = await sdk.createRoom(server.ws, { maxPlayers: 2, WebSocket })
  const joined = host.once('player_joined')
  const phone = await sdk.joinRoom(server.ws, host.code, { WebSocket, name: 'Node' })
  await joined
  const heard = host.once('from_str')
  phone.send('same code in Node')
  t.equal((await heard)[1], 'same code in Node')
  await t.rejects(sdk.joinRoom(server.ws, 'ZZZZ', { WebSocket }), { code: 4004, reason: 'no such room' })
  host.stop()
  await phone.closed
})
