import t from 'tap'
import { streamSequence } from '../../../src/games/clickplanet/stream-reader.js'

t.test('stream reader - the stream sequence is read from both forms of a JetStream reply subject', async (t) => {
  t.equal(streamSequence('$JS.ACK.CLICKS.c1.1.4711.12.1764000000000000000.99'), 4711, 'the 9-token form')
  t.equal(streamSequence('$JS.ACK._.acchash.CLICKS.c1.1.4711.12.1764000000000000000.99'), 4711, 'the 11-token form')
  t.equal(streamSequence('$JS.ACK.hub.acchash.CLICKS.c1.2.9007199254740991.12.1764000000000000000.0.rnd'), 9007199254740991, 'the 12-token form')
})

t.test('stream reader - a reply subject of another shape reads as -1 (nats.js then decides)', async (t) => {
  for (const s of ['', '_INBOX.abc', '$JS.ACK.CLICKS.c1.1.x.12.17.9', '$JS.ACK.CLICKS.c1.1..12.17.9', '$JS.ACK.a.b.c.d.e.f.g.h', '$JS.API.CLICKS.c1.1.5.12.17.9']) {
    t.equal(streamSequence(s), -1, JSON.stringify(s))
  }
})
