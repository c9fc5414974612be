/**
 * The Redis store against a real redis-server that is down at start, killed, and restarted
 * empty or from its append-only file: what fails (with which error), what readiness says,
 * and that it recovers by itself.
 */
import t from 'tap'
import { Readiness } from '../../src/readiness.js'
import { StoreUnavailable, type RoomRecord } from '../../src/store/store.js'
import { RedisStore } from '../../src/store/store-redis.js'
import { RedisServer } from '../helpers/redis-server.js'
import { freePort, waitFor } from '../helpers/spawned-server.js'

const record = (key: string, node: string): RoomRecord => ({
  key, node, name: 'Quiz', public: true, maxPlayers: 8, acceptConns: true, tokenHash: 'ef'.repeat(32), nextId: 2, players: [{ id: 1, sid: 's1' }], kickedSids: [],
})

const unavailable = { name: 'StoreUnavailable', message: /^store unavailable: redis:\/\/127\.0\.0\.1:\d+\/?: / }

t.test('redis store - started while Redis is down: commands fail at once, readiness says so, it connects by itself', async (t) => {
  const port = await freePort()
  const readiness = new Readiness()
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, health: readiness.component('redis') })
  t.teardown(() => store.close())
  await t.rejects(store.claimCode('DOWN', 'n1'), unavailable)
  await waitFor(() => /^unreachable \(redis:\/\/127\.0\.0\.1:\d+\/?\): .*ECONNREFUSED.*; retrying$/.test(readiness.report()['redis'] ?? ''), 'readiness to say why')
  // nothing is queued for later: a thousand commands while down all fail
  const results = await Promise.allSettled(Array.from({ length: 1000 }, (_, i) => store.saveRoom(record(`Q${i}`, 'n1'))))
  t.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof StoreUnavailable), 'every command rejected with StoreUnavailable')

  const server = await RedisServer.start({ port })
  t.teardown(() => server.stop())
  await waitFor(() => store.connected, 'the store to connect by itself')
  t.equal(readiness.report()['redis'], 'ok')
  t.ok(await store.claimCode('DOWN', 'n1'), 'commands work')
  t.equal(await store.loadRoom('Q0'), undefined, 'nothing written while down was replayed')
})

t.test('redis store - redis-server killed and restarted empty: clear errors while down, recovery by itself, rooms written back', async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.stop())
  const readiness = new Readiness()
  const store = new RedisStore({ url: server.url, health: readiness.component('redis') })
  t.teardown(() => store.close())
  const own = (await store.claimCode('KILL', 'n1'))!
  await store.saveRoom(record('KILL', 'n1'), own)
  await store.saveSnapshot('clickplanet', { position: 5, bytes: new Uint8Array([1, 2, 3]) })
  t.equal(readiness.ready, true)

  await server.kill()
  await waitFor(() => !store.connected, 'the store to notice')
  await t.rejects(store.loadRoom('KILL'), unavailable, 'a read fails with a clear error')
  await t.rejects(store.saveRoom(record('KILL', 'n1'), own), unavailable, 'a write too')
  await t.rejects(store.loadSnapshot('clickplanet'), unavailable)
  await waitFor(() => /^unreachable/.test(readiness.report()['redis'] ?? ''), 'readiness to say so')

  await server.restart({ empty: true })
  await waitFor(() => store.connected, 'the store to reconnect by itself')
  t.equal(store.reconnects, 1)
  t.equal(readiness.report()['redis'], 'ok')
  t.equal(await store.owner('KILL'), undefined, 'an empty Redis lost the directory')
  t.equal(await store.loadSnapshot('clickplanet'), undefined, 'and the snapshot')
  await store.restoreRoom(record('KILL', 'n1'), own)
  t.same(await store.owner('KILL'), own, 'the owner writes its room back under its epoch')
  const next = await store.claimCode('NEXT', 'n2')
  t.ok(next && next.epoch > own.epoch, 'epochs stay above every restored one')
})

t.test('redis store - with an append-only file, kill -9 and restart keep the directory, records and snapshots', async (t) => {
  const server = await RedisServer.start({ appendonly: true })
  t.teardown(() => server.stop())
  const store = new RedisStore({ url: server.url })
  t.teardown(() => store.close())
  const own = (await store.claimCode('KEEP', 'n1'))!
  await store.saveRoom(record('KEEP', 'n1'), own)
  await store.saveSnapshot('clickplanet', { position: 9, bytes: new Uint8Array([4, 5]) })
  await server.kill()
  await server.restart()
  await waitFor(() => store.connected, 'reconnected')
  t.same(await store.owner('KEEP'), own)
  t.same(await store.loadRoom('KEEP'), record('KEEP', 'n1'))
  t.same(await store.loadSnapshot('clickplanet'), { position: 9, bytes: new Uint8Array([4, 5]) })
})

t.test('redis store - close while Redis is down returns at once', async (t) => {
  const store = new RedisStore({ url: `redis://127.0.0.1:${await freePort()}` })
  await store.close()
  await t.rejects(store.owner('X'), { name: 'StoreUnavailable', message: /closed/ })
})

t.test('redis store - a Redis that hangs (SIGSTOP): commands fail after the command timeout, readiness says so, then it recovers', async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.stop())
  const readiness = new Readiness()
  const store = new RedisStore({ url: server.url, commandTimeoutMs: 300, health: readiness.component('redis') })
  t.teardown(() => store.close())
  const own = (await store.claimCode('HANG', 'n1'))!
  server.pause()
  await t.rejects(store.owner('HANG'), { name: 'StoreUnavailable', message: /timed out/ })
  t.match(readiness.report()['redis'], /^not answering \(redis:\/\/127\.0\.0\.1:\d+\): .*timed out/)
  server.resume()
  await waitFor(async () => (await store.owner('HANG').catch(() => undefined))?.epoch === own.epoch, 'answers again')
  t.equal(readiness.report()['redis'], 'ok')
})
