import { setImmediate as tick } from 'node:timers/promises'
import t from 'tap'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import type { RoomControl } from '../../../src/rooms/host.js'
import { startHarness } from './harness.js'
import { click, Listener, ownerships, waitFor } from './helpers.js'

t.test('stream - the first claim has an empty previous owner; a click on a held tile sends nothing', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const a = await Listener.open(`${h.wsBase}/ws/listen`)
  const b = await Listener.open(`${h.wsBase}/v2/ws/listen`)
  t.teardown(() => { a.close(); b.close() })
  await click(h.base, 10, 'fr')
  await click(h.base, 10, 'fr') // already held: no update
  await click(h.base, 10, 'de')
  await click(h.base, 11, 'de', '/v2/rpc')
  for (const l of [a, b]) {
    t.same(await l.waitCount(3), [
      { tileId: 10, countryId: 'fr', previousCountryId: '' },
      { tileId: 10, countryId: 'de', previousCountryId: 'fr' },
      { tileId: 11, countryId: 'de', previousCountryId: '' },
    ])
  }
  a.ws.send('client frames are ignored')
  a.ws.send(Buffer.from([1, 2, 3]))
  await click(h.base, 12, 'it')
  t.equal((await a.waitCount(4))[3]!.tileId, 12, 'still listening after client frames')
})

t.test('stream - concurrent clicks converge: the stream and /ownerships agree', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const listeners = await Promise.all([0, 1, 2].map(() => Listener.open(`${h.wsBase}/ws/listen`)))
  t.teardown(() => listeners.forEach((l) => l.close()))
  const countries = ['fr', 'de', 'es', 'it', 'pl']
  await Promise.all(countries.map(async (cc, w) => {
    for (let i = 0; i < 60; i++) await click(h.base, (i * 7 + w) % 40, cc)
  }))
  const final = await ownerships(h.base)
  const sent = h.planet.stats.listenerFramesSent / listeners.length
  for (const l of listeners) {
    const updates = await l.waitCount(sent)
    const owner = new Map<number, string>()
    for (const u of updates) {
      if ((owner.get(u.tileId) ?? '') !== u.previousCountryId) t.fail(`tile ${u.tileId}: previous ${u.previousCountryId}, stream said ${owner.get(u.tileId)}`)
      owner.set(u.tileId, u.countryId)
    }
    t.same([...owner].sort((x, y) => x[0] - y[0]), final.map((o) => [o.tileId, o.countryId]), 'replaying the stream gives /ownerships')
  }
})

t.test('stream - a listener that does not read is closed with 1013 (reset, 1006, if its close frame cannot reach the kernel in time); the others get everything', async (t) => {
  const h = await startHarness({ maxBuffered: 64 * 1024 })
  t.teardown(() => h.close())
  const slow = await Listener.open(`${h.wsBase}/ws/listen`)
  const fast = await Listener.open(`${h.wsBase}/ws/listen`)
  t.teardown(() => { slow.close(); fast.close() })
  slow.ws.pause()
  // Drive many owner changes fast through the PLANET room (same command path as HTTP).
  const control: RoomControl = { key: 'k', start() {}, kick() {}, stop() {}, send() {} }
  const host = h.planet.preset.host(control)
  const frames = [encodeClickRequest({ tileId: 1, countryId: 'fr' }), encodeClickRequest({ tileId: 1, countryId: 'de' })]
  let sent = 0
  for (let round = 0; round < 400 && h.planet.stats.listenersDropped === 0; round++) {
    for (let i = 0; i < 5000; i++) host.fromPlayer(1, frames[sent++ % 2]!)
    await tick()
  }
  t.equal(h.planet.stats.listenersDropped, 1, `dropped after ${sent} updates`)
  t.equal(h.planet.stats.listeners, 1)
  // Its backlog filled the kernel's buffers and PARTYLINE_MAX_BUFFERED more: the close frame
  // waits behind it. The server releases the socket when the close frame has reached the
  // kernel, or resets it after 500 ms if it has not (counted as a cut close): then the
  // listener, reading again, sees 1006, else what it was sent and 1013. (Reading again soon:
  // the kernel keeps a released connection to a peer that reads nothing for a while only.)
  // Wait until the server is done with the slow socket (released or reset).
  const server = await waitFor('the slow listener\'s socket to be released', async () => {
    const text = await fetch(`${h.base}/metrics`).then((r) => r.text())
    return /^partyline_connections\{role="listener"\} 1$/m.test(text) ? text : undefined
  })
  const cut = /^partyline_closes_cut_total (\d+)/m.exec(server)?.[1]
  slow.ws.resume()
  const code = await slow.waitClose()
  if (cut === '1') t.equal(code, 1006, 'reset before its close frame reached the kernel: 1006')
  else {
    // Released with its close frame in the kernel's send queue: the listener reads the
    // backlog, then 1013. The kernel may still abort such an orphaned connection (closed by
    // its process, data unsent, the peer reading nothing) before the peer reads again, e.g.
    // under TCP memory pressure; the peer then sees 1006. Seen once, with two test suites at
    // once on two cores. Nothing else is right.
    t.ok(code === 1013 || code === 1006, `its close frame reached the kernel: 1013 (or 1006 if the kernel aborted the orphan first), got ${code}`)
  }
  await fast.waitCount(sent, 60_000)
  t.equal(fast.updates.length, sent, 'the reading listener got every update')
})
