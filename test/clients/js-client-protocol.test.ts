/**
 * The WMBP flows driven through clients/js only, against a real server: what a game and its
 * phones see when they use the client rather than raw sockets.
 */
import t from 'tap'
import { WebSocket } from 'ws'
import {
  CloseCode,
  ErrorCode,
  type ConnectOptions,
  type HostClient,
  type JoinOptions,
  type PartylineError,
  type PlayerClient,
} from '../../clients/js/index.js'
import { newSid, testServer, until } from '../helpers/server.js'
import { trackedSdk } from '../helpers/sdk-clients.js'

const { createRoom, joinRoom } = trackedSdk(t)

const opts: ConnectOptions = { WebSocket }
const formats = ['cbor', 'json'] as const

/** `promise`, or a failure naming `what` after `ms`: every wait here is bounded. */
async function within<T>(promise: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Everything a phone receives, in order (several frames can arrive in one tick). */
function inbox(phone: PlayerClient): (Uint8Array | string)[] {
  const got: (Uint8Array | string)[] = []
  phone.on('message', (data) => got.push(typeof data === 'string' ? data : Uint8Array.from(data)))
  return got
}

/** Everything players send the host, in order, bytes and text alike. */
function hostInbox(host: HostClient): [number, Uint8Array | string][] {
  const got: [number, Uint8Array | string][] = []
  host.on('from', (player, data) => got.push([player, Uint8Array.from(data)]))
  host.on('from_str', (player, data) => got.push([player, data]))
  return got
}

/** A phone joins; resolves once the host has been told (`player_joined`, then `state`). */
async function join(server: { ws: string }, host: HostClient, o: JoinOptions = {}): Promise<{ phone: PlayerClient; id: number }> {
  const joined = host.once('player_joined')
  const state = host.once('state')
  const phone = await within(joinRoom(server.ws, host.code, { ...opts, ...o }), 'the join')
  const [id] = await within(joined, 'player_joined')
  await within(state, 'the state after the join')
  return { phone, id }
}

for (const format of formats) {
  t.test(`client protocol - players join with and without a sid; the host sees each join and the state (${format})`, async (t) => {
    const server = await testServer(t)
    const host = await createRoom(server.ws, { ...opts, maxPlayers: 4, name: 'Quiz', format })
    t.strictSame(host.state, { name: 'Quiz', players: [], roster: [], maxPlayers: 4, acceptConns: true })
    const a = await join(server, host, { sid: false })
    const b = await join(server, host, { sid: newSid() })
    t.ok(a.id > 0 && b.id > 0 && a.id !== b.id, 'distinct positive ids')
    t.equal(a.phone.sid, undefined, 'joined without a sid')
    t.strictSame(host.state, {
      name: 'Quiz',
      players: [a.id, b.id],
      roster: [
        { id: a.id, away: false },
        { id: b.id, away: false },
      ],
      maxPlayers: 4,
      acceptConns: true,
    })
    t.equal(a.phone.code, host.code)
    host.stop()
  })

  t.test(`client protocol - a broadcast reaches every player; a send with ids only those (${format})`, async (t) => {
    const server = await testServer(t)
    const host = await createRoom(server.ws, { ...opts, maxPlayers: 3, format })
    const players = [await join(server, host), await join(server, host), await join(server, host)]
    const inboxes = players.map(({ phone }) => inbox(phone))
    const [a, b, c] = players.map(({ id }) => id) as [number, number, number]

    host.sendText('everyone')
    host.send(new Uint8Array([1, 2, 3]))
    host.sendText('a and c', [a, c])
    host.send(new Uint8Array([9]), [b])
    host.sendText('nobody', [])
    host.sendText('end')
    await until(() => inboxes.every((got) => got.at(-1) === 'end'), 'the end marker at every player')

    t.same(inboxes[0], ['everyone', new Uint8Array([1, 2, 3]), 'a and c', 'end'], 'player a')
    t.same(inboxes[1], ['everyone', new Uint8Array([1, 2, 3]), new Uint8Array([9]), 'end'], 'player b')
    t.same(inboxes[2], ['everyone', new Uint8Array([1, 2, 3]), 'a and c', 'end'], 'player c')
    t.type(inboxes[1]![2], Uint8Array, 'bytes arrive as bytes')
    t.type(inboxes[0]![0], 'string', 'text arrives as text')
    host.stop()
  })

  t.test(`client protocol - text and bytes from players reach the host as from_str and from, in order (${format})`, async (t) => {
    const server = await testServer(t)
    const host = await createRoom(server.ws, { ...opts, maxPlayers: 2, format })
    const got = hostInbox(host)
    const a = await join(server, host)
    const b = await join(server, host)
    a.phone.send('hello')
    a.phone.send(new Uint8Array([0, 255, 128]))
    b.phone.send(new Uint8Array([]))
    b.phone.send('')
    a.phone.send('bye')
    await until(() => got.length >= 5, 'five frames at the host')
    const fromA = got.filter(([id]) => id === a.id).map(([, data]) => data)
    const fromB = got.filter(([id]) => id === b.id).map(([, data]) => data)
    t.same(fromA, ['hello', new Uint8Array([0, 255, 128]), 'bye'], 'player a, in order, types kept')
    t.same(fromB, [new Uint8Array([]), ''], 'player b: empty bytes and empty text are frames too')
    t.type(fromB[0], Uint8Array)
    t.equal(got.length, 5)
    host.stop()
  })
}

t.test('client protocol - a kicked player is closed with 4001; the host sees player_left and the state without it', async (t) => {
  const server = await testServer(t)
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 2 })
  const a = await join(server, host)
  const b = await join(server, host)
  const closeEvent = a.phone.once('close')
  const left = host.once('player_left')
  const state = host.once('state')
  host.kick(a.id)
  t.equal((await within(closeEvent, 'the kicked player to close'))[0], CloseCode.Kicked, 'close event: 4001')
  t.equal((await a.phone.closed).code, CloseCode.Kicked, 'closed: 4001')
  t.same(await within(left, 'player_left'), [a.id])
  t.same((await within(state, 'the state after the kick'))[0].players, [b.id])
  host.stop()
})

t.test('client protocol - after start a late joiner is refused with 4003; players already in stay', async (t) => {
  const server = await testServer(t)
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 4 })
  const early = await join(server, host)
  const state = host.once('state')
  host.start()
  t.strictSame((await within(state, 'the state after start'))[0], { name: '', players: [early.id], roster: [{ id: early.id, away: false }], maxPlayers: 4, acceptConns: false })
  await t.rejects(within(joinRoom(server.ws, host.code, opts), 'the late joiner to be refused'), { code: CloseCode.RoomStarted, reason: 'the room no longer accepts players' }, 'the join rejects: 4003')

  const got = hostInbox(host)
  early.phone.send('still in')
  await until(() => got.length > 0, 'the early player to be heard')
  t.same(got, [[early.id, 'still in']])
  t.same(host.state?.players, [early.id], 'the refused player never joined')
  host.stop()
})

t.test('client protocol - a full room refuses with 4009', async (t) => {
  const server = await testServer(t)
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 1 })
  await join(server, host)
  await t.rejects(within(joinRoom(server.ws, host.code, opts), 'the extra player to be refused'), { code: CloseCode.RoomFull, reason: 'the room is full' })
  host.stop()
})

t.test('client protocol - stop closes every player with 4002; the host gets stop, then close 1000', async (t) => {
  const server = await testServer(t)
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 2 })
  const players = [await join(server, host), await join(server, host, { sid: newSid() })]
  const stopped = host.once('stop')
  const hostClosed = host.once('close')
  host.stop()
  for (const { phone } of players) t.equal((await within(phone.closed, 'a player to close')).code, CloseCode.RoomStopped)
  await within(stopped, 'stop')
  t.equal((await within(hostClosed, 'the host connection to close'))[0], CloseCode.Normal)
  await t.rejects(within(joinRoom(server.ws, host.code, opts), 'a join after the end'), { code: CloseCode.NoSuchRoom }, 'the room is gone')
})

t.test('client protocol - a player that reconnects with its sid keeps its id; the host sees no second join', async (t) => {
  const server = await testServer(t)
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 2 })
  const sid = newSid(32)
  const first = await join(server, host, { sid })
  const joins: number[] = []
  const leaves: number[] = []
  host.on('player_joined', (id) => joins.push(id))
  host.on('player_left', (id) => leaves.push(id))
  const got = hostInbox(host)

  first.phone.close()
  await within(first.phone.closed, 'the first connection to end')
  const again = await within(joinRoom(server.ws, host.code, { ...opts, sid }), 'the reconnect')
  again.send('back')
  await until(() => got.length > 0, 'a frame from the reconnected player')
  t.same(got, [[first.id, 'back']], 'same id as before')

  // The same sid again while that connection is open: the newer one wins, the older is told.
  const third = await within(joinRoom(server.ws, host.code, { ...opts, sid }), 'the second reconnect')
  t.equal((await within(again.closed, 'the replaced connection to close')).code, CloseCode.Replaced)
  third.send('third')
  await until(() => got.length > 1, 'a frame from the newest connection')
  t.same(got[1], [first.id, 'third'])
  t.same(joins, [], 'no player_joined for a reconnect')
  t.same(leaves, [], 'no player_left while the place is held')
  t.same(host.state?.players, [first.id])
  host.stop()
})

t.test('client protocol - host errors carry a code and a reason and leave the connection open', async (t) => {
  const server = await testServer(t)
  const host = await createRoom(server.ws, { ...opts, maxPlayers: 2 })
  const errors: PartylineError[] = []
  host.on('error', (e) => errors.push(e))
  host.kick(9999)
  await until(() => errors.length > 0, 'the error')
  t.equal(errors[0]!.code, ErrorCode.UnknownPlayer)
  t.equal(errors[0]!.code, 'unknown_player')
  t.type(errors[0]!.reason, 'string')
  t.ok(errors[0]!.reason.length > 0, 'a reason for people')
  t.equal(errors[0]!.message, errors[0]!.reason)

  // Still the room's host: a player joins and is heard.
  const { phone, id } = await join(server, host)
  const heard = host.once('from_str')
  phone.send('ok')
  t.same(await within(heard, 'the player'), [id, 'ok'])
  t.equal(errors.length, 1, 'no other error')

  const refused = await within(
    createRoom(server.ws, { ...opts, maxPlayers: 0 }).then(
      () => undefined,
      (e: PartylineError) => e,
    ),
    'the refused room',
  )
  t.equal(refused?.code, ErrorCode.InvalidField)
  t.ok((refused?.reason ?? '').length > 0, 'with a reason')
  host.stop()
})
