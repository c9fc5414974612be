/**
 * The SDK comes back by itself: a player keeps its id and name through a dropped
 * connection, a host takes its room back, what was sent meanwhile arrives after the
 * reconnect (or is refused, never dropped), and the client gives up only when the room is
 * gone. Drops are real: a TCP proxy between the client and the server resets every
 * connection and refuses new ones for a while.
 */
import t, { type Test } from 'tap'
import { WebSocket } from 'ws'
import {
  ClientErrorCode,
  CloseCode,
  DEFAULT_RECONNECT,
  MIN_RECONNECT_DELAY_MS,
  reconnectDelay,
  reconnectPolicy,
  type HostClient,
  type PlayerClient,
  type ReconnectEvents,
  type StorageLike,
} from '../../clients/js/index.js'
import { testServer, until } from '../helpers/server.js'
import { trackedSdk } from '../helpers/sdk-clients.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

const { createRoom, joinRoom } = trackedSdk(t)
const opts = { WebSocket }

/** The bounds every delay of attempt `n` must lie within, from the contract, not the code. */
function bounds(n: number): [number, number] {
  return [250, Math.min(5000, 1000 * 2 ** (n - 1))]
}

t.test('backoff - the first try comes within a second, none sooner than 250 ms, the ceiling doubles up to 5 s', async (t) => {
  for (let n = 1; n <= 40; n++) {
    const [lo, hi] = bounds(n)
    for (const r of [0, 0.001, 0.5, 0.999, 1]) {
      const d = reconnectDelay(n, () => r)
      t.ok(d >= lo && d <= hi, `attempt ${n}, random ${r}: ${d} ms in [${lo}, ${hi}]`)
    }
  }
  t.equal(reconnectDelay(1, () => 0), 250, 'the floor')
  t.equal(reconnectDelay(1, () => 1), 1000, 'the first ceiling')
  t.equal(reconnectDelay(3, () => 1), 4000, 'doubled twice')
  t.equal(reconnectDelay(100, () => 1), 5000, 'capped')
  const spread = new Set(Array.from({ length: 50 }, () => reconnectDelay(4)))
  t.ok(spread.size > 10, 'jitter: phones that dropped together do not come back together')
})

t.test('backoff - no option makes a client retry faster than every 250 ms', async (t) => {
  const p = reconnectPolicy({ minDelayMs: 0, firstDelayMs: 10, maxDelayMs: 20 })
  t.equal(p.minDelayMs, MIN_RECONNECT_DELAY_MS)
  for (let n = 1; n < 10; n++) t.ok(reconnectDelay(n, () => 0, p) >= 250 && reconnectDelay(n, () => 1, p) >= 250, `attempt ${n}`)
  t.same(reconnectPolicy(), DEFAULT_RECONNECT)
})

/** A room on the server (host direct) and a phone that goes through the proxy. */
async function roomWithPhoneThroughProxy(t: Test, serverSettings = {}) {
  const server = await testServer(t, serverSettings)
  const proxy = await TcpProxy.start(server.port)
  t.teardown(() => proxy.close())
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 4 })
  const joined = host.once('player_joined')
  const phone = await joinRoom(proxy.ws, host.code, { ...opts, name: 'Ann' })
  const [id] = await joined
  return { server, proxy, host, phone, id }
}

/** Every event a client emits about its connection, in order. */
function connectionEvents(client: { on<K extends keyof ReconnectEvents>(event: K, handler: ReconnectEvents[K]): unknown }): unknown[][] {
  const events: unknown[][] = []
  client.on('reconnecting', (attempt, delay) => events.push(['reconnecting', attempt, delay]))
  client.on('reconnected', () => events.push(['reconnected']))
  client.on('lost', (code, reason) => events.push(['lost', code, reason]))
  client.on('close', (code) => events.push(['close', code]))
  return events
}

t.test('reconnect - a phone whose connection drops comes back with the same id; what it sent meanwhile arrives after, in order', async (t) => {
  const { proxy, host, phone, id } = await roomWithPhoneThroughProxy(t)
  const events = connectionEvents(phone)
  const hostSaw: unknown[][] = []
  host.on('player_joined', (p) => hostSaw.push(['joined', p]))
  host.on('player_left', (p) => hostSaw.push(['left', p]))
  host.on('from_str', (p, d) => hostSaw.push(['from_str', p, d]))
  const acceptedBefore = proxy.accepted

  proxy.down()
  await until(() => events.some(([e]) => e === 'reconnecting'), 'the phone to notice the drop')
  t.equal(phone.connection, 'reconnecting')
  t.equal(phone.send('typed while away 1'), 'queued', 'a send while reconnecting is kept')
  t.equal(phone.send('typed while away 2'), 'queued')
  // Let at least two attempts fail against the refusing proxy.
  await until(() => proxy.accepted >= acceptedBefore + 2, 'two refused attempts', 10_000)
  proxy.restore()
  await until(() => events.some(([e]) => e === 'reconnected'), 'the phone to come back', 15_000)
  t.equal(phone.connection, 'connected')
  t.equal(phone.send('live again'), 'sent')
  await until(() => hostSaw.length >= 3, 'the three frames at the host')

  t.same(hostSaw, [
    ['from_str', id, 'typed while away 1'],
    ['from_str', id, 'typed while away 2'],
    ['from_str', id, 'live again'],
  ], 'the same player id, no leave and no second join, frames in order')
  const attempts = events.filter(([e]) => e === 'reconnecting')
  t.ok(attempts.length >= 2, `${attempts.length} attempts`)
  attempts.forEach(([, n, delay], i) => {
    t.equal(n, i + 1, 'attempts are numbered from 1')
    const [lo, hi] = bounds(n as number)
    t.ok((delay as number) >= lo && (delay as number) <= hi, `attempt ${n} waits ${delay} ms, within [${lo}, ${hi}]`)
  })
  t.same(events.at(-1), ['reconnected'])
})

t.test('reconnect - sends past the kept bound are refused with queue_full, never dropped silently', async (t) => {
  const server = await testServer(t)
  const proxy = await TcpProxy.start(server.port)
  t.teardown(() => proxy.close())
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 2 })
  const got: string[] = []
  host.on('from_str', (_, d) => got.push(d))
  const phone = await joinRoom(proxy.ws, host.code, { ...opts, reconnect: { maxQueued: 2 } })
  proxy.down()
  await until(() => phone.connection === 'reconnecting', 'the drop')
  phone.send('a')
  phone.send('b')
  t.throws(() => phone.send('c'), { code: ClientErrorCode.QueueFull }, 'the third is refused')
  proxy.restore()
  await until(() => got.length === 2, 'the kept two')
  t.same(got, ['a', 'b'])
})

t.test('reconnect - a host whose connection drops resumes the same room; its commands and the players\' frames meanwhile are delivered', async (t) => {
  const server = await testServer(t)
  const proxy = await TcpProxy.start(server.port)
  t.teardown(() => proxy.close())
  const host = await createRoom(proxy.ws, { ...opts, maxPlayers: 4 })
  const events = connectionEvents(host)
  const code = host.code
  const firstToken = host.token
  const joined = host.once('player_joined')
  const phone = await joinRoom(server.ws, code, opts)
  const [id] = await joined
  const phoneGot: unknown[] = []
  phone.on('message', (d) => phoneGot.push(d))
  const hostGot: unknown[][] = []
  host.on('from_str', (p, d) => hostGot.push([p, d]))

  proxy.down()
  await until(() => host.connection === 'reconnecting', 'the host to notice the drop')
  await until(() => server.registry.get(code)?.hostPresent === false, 'the room to see its host gone')
  phone.send('while the host was away')
  host.sendText('sent while reconnecting', [id])
  proxy.restore()
  await until(() => events.some(([e]) => e === 'reconnected'), 'the resume', 15_000)
  t.equal(host.code, code, 'the same room')
  t.not(host.token, firstToken, 'a fresh token')
  await until(() => hostGot.length === 1 && phoneGot.length === 1, 'both ways')
  t.same(hostGot, [[id, 'while the host was away']], 'the kept player frame')
  t.same(phoneGot, ['sent while reconnecting'], 'the command kept by the client')
  t.same(host.state?.players, [id], 'the player is still there')
  host.stop()
})

const gaveUp: [string, number, (ctx: { host: HostClient; phone: PlayerClient; proxy: TcpProxy; id: number }) => Promise<void> | void][] = [
  ['kicked', CloseCode.Kicked, ({ host, id }) => host.kick(id)],
  ['the room was stopped', CloseCode.RoomStopped, ({ host }) => host.stop()],
  [
    'the room ended while the phone was away',
    CloseCode.NoSuchRoom,
    async ({ host, phone, proxy }) => {
      proxy.down()
      await until(() => phone.connection === 'reconnecting', 'the drop')
      host.stop()
      await host.once('close')
      proxy.restore()
    },
  ],
  ['the host did not come back', CloseCode.HostGone, ({ host }) => host.close()],
]
for (const [what, code, end] of gaveUp) {
  t.test(`reconnect - a phone gives up with lost(${code}) when ${what}`, async (t) => {
    const { host, phone, proxy, id } = await roomWithPhoneThroughProxy(t, { hostGraceMs: 300 })
    const events = connectionEvents(phone)
    await end({ host, phone, proxy, id })
    const closed = await phone.closed
    t.equal(closed.code, code)
    t.equal(phone.connection, 'closed')
    const lost = events.find(([e]) => e === 'lost')
    t.same(lost?.slice(0, 2), ['lost', code], `lost with ${code}`)
    t.ok(typeof lost?.[2] === 'string' && (lost[2] as string).length > 0, `with a reason: ${String(lost?.[2])}`)
    t.same(events.at(-1), ['close', code], 'close comes last')
    t.throws(() => phone.send('after the end'), { code: ClientErrorCode.NotConnected }, 'a send after the end is refused')
  })
}

t.test('reconnect - a phone replaced by the same sid elsewhere stops (4011) rather than taking turns', async (t) => {
  const { server, host, phone } = await roomWithPhoneThroughProxy(t)
  const events = connectionEvents(phone)
  const other = await joinRoom(server.ws, host.code, { ...opts, sid: phone.sid! })
  t.equal((await phone.closed).code, CloseCode.Replaced)
  t.same(events.map(([e, c]) => [e, c]), [['lost', CloseCode.Replaced], ['close', CloseCode.Replaced]])
  t.equal(other.connection, 'connected')
})

t.test('reconnect - close() while reconnecting stops the attempts', async (t) => {
  const { proxy, phone } = await roomWithPhoneThroughProxy(t)
  const events = connectionEvents(phone)
  proxy.down()
  await until(() => phone.connection === 'reconnecting', 'the drop')
  phone.close()
  t.equal(phone.connection, 'closed')
  const accepted = proxy.accepted
  proxy.restore()
  // The longest first delay is 1 s: a second, fenced by a join that does go through, shows none came.
  const fence = await joinRoom(proxy.ws, 'ZZZZ', opts).catch((e: { code: number }) => e.code)
  t.equal(fence, CloseCode.NoSuchRoom)
  t.same(events.map(([e]) => e), ['reconnecting', 'close'], 'no lost: the client asked for it')
  t.ok(proxy.accepted <= accepted + 1, 'no attempt after close() (only the fence connected)')
})

/** A Web Storage stand-in: a Map behind the same three methods. */
function memoryStorage(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>()
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) }
}

t.test('storage - a page that reloads comes back as the same player, and a reloaded TV takes its room back', async (t) => {
  const server = await testServer(t, { hostGraceMs: 5000 })
  const tv = memoryStorage()
  const phoneStorage = memoryStorage()
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 4, storage: tv })
  t.equal(host.resumed, false, 'a new room')
  t.ok(tv.map.get('partyline.host'), 'the code and token are kept')
  const joined = host.once('player_joined')
  const phone = await joinRoom(server.ws, host.code, { ...opts, storage: phoneStorage })
  const [id] = await joined
  t.equal(phoneStorage.map.get(`partyline.sid.${host.code}`), phone.sid, 'the sid is kept per room')

  // The phone reloads: the old page is gone, a new one joins with what storage kept.
  phone.close()
  const again = await joinRoom(server.ws, host.code, { ...opts, storage: phoneStorage })
  t.equal(again.sid, phone.sid, 'the same sid')
  const heard = host.once('from_str')
  again.send('me again')
  t.same(await heard, [id, 'me again'], 'the same player id')

  // The TV reloads.
  host.close()
  await until(() => server.registry.get(host.code)?.hostPresent === false, 'the room to see its host gone')
  const tvAgain = await createRoom(server.ws, { ...opts, maxPlayers: 4, storage: tv })
  t.equal(tvAgain.resumed, true, 'resumed, not created')
  t.equal(tvAgain.code, host.code, 'the same room')
  t.same(tvAgain.state?.players, [id], 'players still there')

  // A room that ended is not resumed: a new one is made on the same connection.
  tvAgain.stop()
  await tvAgain.once('close')
  const fresh = await createRoom(server.ws, { ...opts, maxPlayers: 4, storage: tv })
  t.equal(fresh.resumed, false)
  t.not(fresh.code, host.code)
  fresh.stop()
})
