/**
 * A peer that stops reading is closed with 1013 even when what it is sent is tiny: the
 * kernel's buffers take megabytes of small frames, so the server's own send buffer never
 * passes `PARTYLINE_MAX_BUFFERED`; a probe ping that stays unanswered for
 * `PARTYLINE_SEND_STALL_MS` tells. The peer that reads again sees the 1013 after what it
 * was sent; peers that keep reading are never cut.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { WebSocket } from 'ws'
import { encodeClickRequest } from '../../src/games/clickplanet/messages.js'
import type { RoomControl } from '../../src/rooms/host.js'
import { SMALL_MAP } from '../games/clickplanet/harness.js'
import { metricValue, resumeReading, roomWithPlayers, scrape, stopReading, testServer, until } from '../helpers/server.js'

const STALL_MS = 300

t.test('send stall - a listener that stops reading is closed with 1013 though its updates are tiny; it sees the 1013 when it reads again', async (t) => {
  const server = await testServer(t, { clickplanet: true, map: SMALL_MAP, clickRate: 0, sendStallMs: STALL_MS })
  const planet = server.clickplanet!
  const open = (): Promise<{ ws: WebSocket; frames: number; code: number | undefined }> =>
    new Promise((resolve, reject) => {
      const peer = { ws: new WebSocket(`${server.ws}/ws/listen`), frames: 0, code: undefined as number | undefined }
      peer.ws.on('message', () => peer.frames++)
      peer.ws.on('close', (code) => (peer.code = code))
      peer.ws.once('open', () => resolve(peer))
      peer.ws.once('error', reject)
    })
  const reader = await open()
  const stalled = await open()
  t.teardown(() => {
    reader.ws.terminate()
    stalled.ws.terminate()
  })
  ;(stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause()

  // A trickle of owner changes through the PLANET room: ~22-byte updates, a few a tick.
  const control: RoomControl = { key: 'k', start() {}, kick() {}, stop() {}, send() {} }
  const host = planet.preset.host(control)
  const clicks = [encodeClickRequest({ tileId: 1, countryId: 'fr' }), encodeClickRequest({ tileId: 1, countryId: 'de' })]
  let sent = 0
  const deadline = Date.now() + 20 * STALL_MS
  while (planet.stats.listenersDropped === 0 && sent < 2000 && Date.now() < deadline) {
    host.fromPlayer(1, clicks[sent++ % 2]!)
    await sleep(5)
  }
  t.equal(planet.stats.listenersDropped, 1, `the stalled listener was dropped after ${sent} updates`)
  t.ok(sent * 24 < 1024 * 1024, `well before its bytes could reach PARTYLINE_MAX_BUFFERED (${sent} updates)`)
  const metrics = await scrape(server)
  t.equal(metricValue(metrics, 'partyline_drops_total', { reason: 'send-stall' }), 1)
  t.equal(metricValue(metrics, 'partyline_closes_total', { code: '1013' }), 1)
  const s = planet.stats
  await until(() => s.clicksAccepted + s.clicksInvalid + s.clicksRateLimited + s.clicksFailed === sent, 'every click to be handled')
  t.equal(s.clicksAccepted, sent, 'every click was accepted (each one changes the owner)')
  await until(() => reader.frames === sent, 'every update at the reading listener')
  t.equal(reader.code, undefined, 'the reading listener is still open')

  ;(stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume()
  await until(() => stalled.code !== undefined, 'the stalled listener to see its close')
  t.equal(stalled.code, 1013, 'it reads what it was sent, then 1013')
  t.ok(stalled.frames < sent, `it got the ${stalled.frames} updates sent before the close`)
})

t.test('send stall - a host that stops reading is closed with 1013 and sees it when it reads again; its room waits for it', async (t) => {
  const server = await testServer(t, { sendStallMs: STALL_MS })
  const { host, players } = await roomWithPlayers(server, 1)
  const player = players[0]!
  stopReading(host)
  let sent = 0
  const dropped = (): boolean => (server.metrics.closes.get(1013) ?? 0) > 0
  const deadline = Date.now() + 20 * STALL_MS
  while (!dropped() && sent < 2000 && Date.now() < deadline) {
    player.send(`move ${sent++}`)
    await sleep(5)
  }
  t.ok(dropped(), `the host was dropped after ${sent} tiny frames`)
  resumeReading(host)
  t.equal((await host.closedWith()).code, 1013, 'the host sees 1013')
  t.equal(player.closed, undefined, 'the player stays: the room waits for its host to resume')
})

t.test('send stall - peers that keep reading are never cut, however long the stream', async (t) => {
  const server = await testServer(t, { sendStallMs: 100 })
  const { host, players } = await roomWithPlayers(server, 3)
  const until2 = Date.now() + 1500
  let sent = 0
  while (Date.now() < until2 && sent < 3000) {
    host.command({ cmd: 'to', data: Buffer.alloc(sent % 7 === 0 ? 40_000 : 30, sent & 0xff) })
    sent++
    if (sent % 10 === 0) await sleep(5)
  }
  for (const p of players) await until(() => p.frames.length === sent, 'every frame at every player', 10_000)
  t.equal(metricValue(await scrape(server), 'partyline_drops_total', { reason: 'send-stall' }), 0)
  t.same(players.map((p) => p.closed), [undefined, undefined, undefined])
})
