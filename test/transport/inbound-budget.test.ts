/**
 * A peer that sends more frames a second than its role may is read no more until the ticks
 * since (100 ms each) have paid for them: its frames wait in TCP, none is dropped, nothing is
 * closed, and the other members of its room are read meanwhile. (Frames already read when the
 * budget runs out, at most one socket read's worth, still go through, as debt paid before
 * the next read: the frames here are 4 KB, 16 to a 64 KiB read.)
 */
import t from 'tap'
import { burst, metricValue, roomWithPlayers, scrape, testServer, until } from '../helpers/server.js'

t.test('inbound - a flooding player is slowed, not cut: every frame arrives in order, and its neighbour is heard meanwhile', async (t) => {
  // Ticks of 100 ms; 100 frames a second = 10 frames a tick.
  const server = await testServer(t, { playerFramesPerSecond: 100 })
  const { host, players, ids } = await roomWithPlayers(server, 2)
  const [flooder, neighbour] = players as [(typeof players)[0], (typeof players)[0]]
  const N = 200
  burst(flooder, () => {
    for (let i = 0; i < N; i++) flooder.send(`f${i}`.padEnd(4000, '.'))
  })
  await until(() => server.metrics.inboundHeld > 0, 'the flooder to be held')
  neighbour.send('hello')
  const fromFlooder: string[] = []
  for (;;) {
    const m = await host.message(undefined, 10_000)
    if (m.cmd !== 'from_str') continue
    if (m.from === ids[1]) break
    fromFlooder.push(String(m.data).replace(/\.+$/, ''))
  }
  t.ok(fromFlooder.length < N, `the neighbour was heard while the flooder was held back (${fromFlooder.length} of ${N} frames in)`)
  while (fromFlooder.length < N) {
    const m = await host.message('from_str', 10_000)
    fromFlooder.push(String(m.data).replace(/\.+$/, ''))
  }
  t.same(fromFlooder, Array.from({ length: N }, (_, i) => `f${i}`), 'every frame, in order')
  t.equal(flooder.closed, undefined, 'the flooder is not closed')
  t.ok(metricValue(await scrape(server), 'partyline_inbound_held_total') >= 2, 'held over several ticks')
})
