/**
 * The Room actor without sockets: a recording Host and recording player ports.
 */
import t from 'tap'
import { CloseCode } from '../../src/errors.js'
import type { Host, HostControl, RoomStateView } from '../../src/rooms/host.js'
import type { PlayerPort } from '../../src/rooms/player-port.js'
import { Room, TEARDOWN_SLICE, type RoomLimits } from '../../src/rooms/room.js'
import { EVERY_TURN_UP_TO, PLAYERS_PER_CHANGE } from '../../src/rooms/pacing.js'
import { until } from '../helpers/server.js'

/** Lets the event loop turn once: the room sends its coalesced `state` at the end of a turn. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

type Event = [string, ...unknown[]]

class RecordingHost implements Host {
  events: Event[] = []
  token = ''
  control: HostControl | undefined
  attached(info: { key: string; token: string; dropped?: number }, control: HostControl): void {
    this.token = info.token
    this.control = control
    this.events.push(['attached', info.key, info.dropped])
  }
  /** Every state in full, apart from the events (most tests compare ids and accept_conns). */
  states: RoomStateView[] = []
  state(s: RoomStateView): void {
    this.states.push(s)
    this.events.push(['state', [...s.players], s.accept_conns])
  }
  playerJoined(p: number, name?: string): void {
    this.events.push(name === undefined ? ['joined', p] : ['joined', p, name])
  }
  playerLeft(p: number): void {
    this.events.push(['left', p])
  }
  playerAway(p: number): void {
    this.events.push(['away', p])
  }
  playerBack(p: number, replaced: boolean): void {
    this.events.push(replaced ? ['back', p, 'replaced'] : ['back', p])
  }
  /** The sender address of each frame, in order (kept apart: most tests compare events). */
  addresses: (string | undefined)[] = []
  fromPlayer(p: number, d: Uint8Array | string, address?: string): void {
    this.events.push(['from', p, typeof d === 'string' ? d : [...d]])
    this.addresses.push(address)
  }
  error(code: string): void {
    this.events.push(['error', code])
  }
  stopped(): void {
    this.events.push(['stopped'])
  }
  restarting(): void {
    this.events.push(['restarting'])
  }
  replaced(): void {
    this.events.push(['replaced'])
  }
  take(): Event[] {
    const e = this.events
    this.events = []
    return e
  }
}

class RecordingPort implements PlayerPort {
  constructor(readonly address = '192.0.2.1') {}
  sent: (string | number[])[] = []
  closedWith: number | undefined
  refused = false
  send(d: Uint8Array | string): void {
    this.sent.push(typeof d === 'string' ? d : [...d])
  }
  close(code: CloseCode): void {
    this.closedWith = code
  }
  refuse(code: CloseCode): void {
    this.refused = true
    this.closedWith = code
  }
}

const limits: RoomLimits = { hostGraceMs: 30, playerGraceMs: 30, keptFrames: 3, keptBytes: 1000 }

function newRoom(over: { maxPlayers?: number; limits?: Partial<RoomLimits>; preset?: boolean; now?: () => number } = {}) {
  const ended: number[] = []
  let recordWrites = 0
  const room = new Room({
    key: 'ABCD',
    name: 'Quiz',
    public: false,
    maxPlayers: over.maxPlayers ?? 4,
    preset: over.preset ?? false,
    limits: { ...limits, ...over.limits },
    onEnded: (_r, code) => ended.push(code),
    onChanged: () => void recordWrites++,
    ...(over.now ? { now: over.now } : {}),
  })
  const host = new RecordingHost()
  room.open(host)
  host.take()
  const join = (sid?: string, address?: string, name?: string) => {
    const port = new RecordingPort(address)
    room.post({ type: 'player-connect', port, sid, name })
    return port
  }
  return { room, host, join, ended, control: host.control!, recordWrites: () => recordWrites }
}

t.test('room - joins emit player_joined at once and one state per turn after them; ids are never reused', async (t) => {
  const { room, host, join } = newRoom()
  const a = join()
  join()
  t.same(host.take(), [['joined', 1], ['joined', 2]], 'joins are told at once')
  await turn()
  t.same(host.take(), [['state', [1, 2], true]], 'one state at the end of the turn shows both')
  room.post({ type: 'player-disconnect', port: a })
  join()
  await turn()
  t.same(host.take(), [['left', 1], ['joined', 3], ['state', [2, 3], true]])
  await turn()
  t.same(host.take(), [], 'nothing more without a change')
})

t.test('room - a pending state goes out before anything else the host hears: a frame, an error', async (t) => {
  const { room, host, join, control } = newRoom()
  const a = join()
  room.post({ type: 'player-frame', port: a, data: 'hi' })
  t.same(host.take(), [['joined', 1], ['state', [1], true], ['from', 1, 'hi']], 'the state shows the sender before its frame')
  control.start()
  control.kick(9)
  t.same(host.take(), [['state', [1], false], ['error', 'unknown_player']])
  room.post({ type: 'show-state', host })
  await turn()
  t.same(host.take(), [], 'shown once')
})

t.test('room - full refuses 4009, started refuses 4003, started and full refuses 4003; each a refused join', async (t) => {
  const { host, join, control } = newRoom({ maxPlayers: 1 })
  join()
  const full = join()
  t.equal(full.closedWith, CloseCode.RoomFull)
  t.ok(full.refused, 'refused, not merely closed')
  control.start()
  await turn()
  t.same(host.take().at(-1), ['state', [1], false])
  const late = join()
  t.equal(late.closedWith, CloseCode.RoomStarted)
  t.ok(late.refused)
})

t.test('room - kick closes 4001 and the sid stays refused; an unknown id is an error', async (t) => {
  const { host, join, control } = newRoom()
  const p = join('sid-aaaaaaaaaaaaaaaa')
  await turn()
  host.take()
  control.kick(9)
  t.same(host.take(), [['error', 'unknown_player']])
  control.kick(1)
  t.equal(p.closedWith, CloseCode.Kicked)
  t.notOk(p.refused, 'a kick is not a refused join')
  await turn()
  t.same(host.take(), [['left', 1], ['state', [], true]])
  const again = join('sid-aaaaaaaaaaaaaaaa')
  t.equal(again.closedWith, CloseCode.Kicked)
  t.ok(again.refused, 'the kicked sid coming back is a refused join')
})

t.test('room - send goes once to each target; absent `to` broadcasts; unknown ids are skipped', async (t) => {
  const { join, control } = newRoom()
  const a = join()
  const b = join()
  control.send(new Uint8Array([1]), [2, 99])
  control.send('all')
  t.same(a.sent, ['all'])
  t.same(b.sent, [[1], 'all'])
})

t.test('room - a `to` naming a player many times sends it one frame', async (t) => {
  const { room, join, control } = newRoom()
  const a = join()
  const b = join()
  control.send('once', [...new Array<number>(10_000).fill(2), 1, 2, 1])
  control.send('again', [2, 2])
  t.same(a.sent, ['once'])
  t.same(b.sent, ['once', 'again'])
  t.same(room.figures().toPlayers, { frames: 3, bytes: 13 }, 'three deliveries counted')
})

t.test('room - stop closes players 4002, tells the host, ends once', async (t) => {
  const { host, join, control, ended, room } = newRoom()
  const p = join()
  await turn()
  host.take()
  control.stop()
  control.stop()
  t.equal(p.closedWith, CloseCode.RoomStopped)
  t.same(host.take(), [['stopped']])
  t.same(ended, [CloseCode.RoomStopped])
  t.ok(room.ended)
})

t.test('room - a host callback that posts is queued, not re-entered: events keep their order', async (t) => {
  const { room, host, join } = newRoom()
  const control = host.control!
  const p = join()
  // On the next frame, the host kicks the sender from inside its callback.
  host.fromPlayer = (player, d) => {
    host.events.push(['from', player, d])
    control.kick(player)
    host.events.push(['after-kick-posted'])
  }
  await turn()
  host.take()
  room.post({ type: 'player-frame', port: p, data: 'x' })
  await turn()
  t.same(host.take(), [['from', 1, 'x'], ['after-kick-posted'], ['left', 1], ['state', [], true]])
})

t.test('room - host away: frames kept in order within bounds, dropped counted, handed over on resume', async (t) => {
  const { room, host, join } = newRoom({ limits: { hostGraceMs: 10_000 } })
  const p = join()
  room.post({ type: 'host-detached', host })
  for (const d of ['1', '2', '3', '4', '5']) room.post({ type: 'player-frame', port: p, data: d })
  const q = join()
  room.post({ type: 'player-disconnect', port: q })
  const next = new RecordingHost()
  const refused: string[] = []
  room.post({ type: 'host-resume', host: next, token: 'wrong', onRefused: (r) => refused.push(r) })
  t.same(refused, ['bad_token'])
  room.post({ type: 'host-resume', host: next, token: host.token, onRefused: (r) => refused.push(r) })
  t.same(next.take(), [['attached', 'ABCD', 2], ['state', [1], true], ['from', 1, '1'], ['from', 1, '2'], ['from', 1, '3']])
  await turn()
  t.same(next.take(), [], 'the resume state was the whole news: nothing after it')
  t.not(next.token, host.token, 'a fresh token')
  room.post({ type: 'host-resume', host: new RecordingHost(), token: host.token, onRefused: (r) => refused.push(r) })
  t.same(refused, ['bad_token', 'bad_token'], 'the old token stopped working')
})

t.test('room - the host grace period ends the room with 4010', async (t) => {
  const { room, host, join, ended } = newRoom()
  const p = join()
  room.post({ type: 'host-detached', host })
  await until(() => ended.length > 0, 'room end')
  t.equal(p.closedWith, CloseCode.HostGone)
  t.same(ended, [CloseCode.HostGone])
})

t.test('room - a sid keeps its place through a disconnect (player_away), comes back (player_back), then leaves after the grace', async (t) => {
  const { room, host, join, control } = newRoom({ maxPlayers: 1 })
  const first = join('phone-0123456789abcdef', undefined, 'Ann')
  await turn()
  host.take()
  room.post({ type: 'player-disconnect', port: first })
  control.start()
  await turn()
  t.same(host.take(), [['away', 1], ['state', [1], false]], 'away, then a state that shows it')
  t.same(host.states.at(-1)?.roster, [{ id: 1, name: 'Ann', away: true }])
  control.send('while away')
  const again = join('phone-0123456789abcdef')
  t.equal(again.closedWith, undefined, 'back in, though started and full')
  await turn()
  t.same(host.take(), [['back', 1], ['state', [1], false]], 'back, neither leave nor join')
  t.same(host.states.at(-1)?.roster, [{ id: 1, name: 'Ann', away: false }], 'the name kept')
  room.post({ type: 'player-frame', port: again, data: 'hi' })
  t.same(host.take(), [['from', 1, 'hi']], 'same id')
  t.same(first.sent, [], 'frames sent while away were dropped')
  const third = join('phone-0123456789abcdef')
  t.equal(again.closedWith, CloseCode.Replaced, 'the older connection is replaced')
  await turn()
  t.same(host.take(), [['back', 1, 'replaced']], 'the host is told of the takeover; the roster did not change')
  room.post({ type: 'player-disconnect', port: again })
  t.same(host.take(), [], 'the replaced connection closing changes nothing')
  room.post({ type: 'player-disconnect', port: third })
  await until(() => host.events.some((e) => e[0] === 'left'), 'player_left after grace')
  await turn()
  t.same(host.take(), [['away', 1], ['state', [1], false], ['left', 1], ['state', [], false]])
})

t.test('room - shutdown closes players 1012 and tells the host it restarts', async (t) => {
  const { room, host, join, ended } = newRoom()
  const p = join()
  await turn()
  host.take()
  room.post({ type: 'shutdown' })
  t.equal(p.closedWith, CloseCode.ServiceRestart)
  t.same(host.take(), [['restarting']])
  t.same(ended, [CloseCode.ServiceRestart])
})

t.test('room - the host hears each frame with the address of its sender, kept frames included', async (t) => {
  const { room, host, join } = newRoom({ limits: { hostGraceMs: 10_000 } })
  const a = join(undefined, '198.51.100.7')
  const b = join(undefined, '198.51.100.8')
  room.post({ type: 'player-frame', port: a, data: 'x' })
  room.post({ type: 'player-frame', port: b, data: 'y' })
  t.same(host.addresses, ['198.51.100.7', '198.51.100.8'])
  room.post({ type: 'host-detached', host })
  room.post({ type: 'player-frame', port: b, data: 'kept' })
  const next = new RecordingHost()
  room.post({ type: 'host-resume', host: next, token: host.token, onRefused: () => t.fail('refused') })
  t.same(next.addresses, ['198.51.100.8'], 'a kept frame keeps its address')
})

t.test('room - names: player_joined carries the name, the roster and the record keep it, a returning sid may rename', async (t) => {
  const { room, host, join } = newRoom({ limits: { playerGraceMs: 10_000 } })
  const ann = join('phone-ann-0123456789', undefined, 'Ann')
  join(undefined, undefined, 'Bob 🎲')
  join()
  await turn()
  t.same(host.take(), [['joined', 1, 'Ann'], ['joined', 2, 'Bob 🎲'], ['joined', 3], ['state', [1, 2, 3], true]])
  t.same(host.states.at(-1)?.roster, [
    { id: 1, name: 'Ann', away: false },
    { id: 2, name: 'Bob 🎲', away: false },
    { id: 3, away: false },
  ])
  t.same(room.record().players, [{ id: 1, sid: 'phone-ann-0123456789', name: 'Ann' }, { id: 2, name: 'Bob 🎲' }, { id: 3 }])
  room.post({ type: 'player-disconnect', port: ann })
  join('phone-ann-0123456789', undefined, 'Annie')
  await turn()
  t.same(host.take(), [['away', 1], ['back', 1], ['state', [1, 2, 3], true]])
  t.same(host.states.at(-1)?.roster[0], { id: 1, name: 'Annie', away: false })
  t.equal(room.record().players[0]?.name, 'Annie')
})

t.test('room - a big room shows joins in O(1) amortized state: a state per PLAYERS_PER_CHANGE-th of the room, and record writes paced alike', async (t) => {
  const size = 4000
  const { host, join, recordWrites } = newRoom({ maxPlayers: size })
  let entries = 0
  const writesBefore = recordWrites()
  // One join per turn: the worst case for a per-turn coalescing alone.
  for (let i = 0; i < size; i++) {
    join()
    await turn()
  }
  await until(() => host.states.at(-1)?.players.length === size, 'a state that shows everyone (at the latest the deadline)')
  for (const s of host.states) entries += s.roster.length
  const perJoin = entries / size
  t.ok(perJoin <= 2 * (PLAYERS_PER_CHANGE + 1) + EVERY_TURN_UP_TO / 2, `${perJoin.toFixed(1)} roster entries sent per join (a state per join: ${size / 2})`)
  const writes = recordWrites() - writesBefore
  t.ok(writes <= EVERY_TURN_UP_TO + 2 * PLAYERS_PER_CHANGE * Math.log(size), `${writes} record writes for ${size} joins`)
  t.ok(host.states.length < size / 10, `${host.states.length} states for ${size} joins`)
})

t.test('room - a trickle into a big room is shown within the deadline', async (t) => {
  const { host, join } = newRoom({ maxPlayers: 1000 })
  for (let i = 0; i < 500; i++) join()
  await turn()
  host.take()
  join()
  await turn()
  t.same(host.take(), [['joined', 502 - 1]], 'one change in a room of 501 waits')
  await until(() => host.events.length > 0, 'the deadline state', 3000)
  t.same(host.take(), [['state', host.states.at(-1)?.players, true]])
  t.equal(host.states.at(-1)?.players.length, 501)
})

t.test('room - an ended room closes its players a slice per turn; the host hears at once', async (t) => {
  const n = 3 * TEARDOWN_SLICE + 10
  const { room, host, join, control, ended } = newRoom({ maxPlayers: n })
  const ports = Array.from({ length: n }, () => join())
  await turn()
  host.take()
  control.stop()
  const closed = () => ports.filter((p) => p.closedWith !== undefined).length
  t.same(host.take(), [['stopped']], 'the host is told at once')
  t.same(ended, [CloseCode.RoomStopped], 'ended at once')
  t.equal(closed(), TEARDOWN_SLICE, 'one slice closed in the turn of the stop')
  await turn()
  t.equal(closed(), 2 * TEARDOWN_SLICE, 'the next slice in the next turn')
  await until(() => closed() === n, 'every player closed')
  t.ok(ports.every((p) => p.closedWith === CloseCode.RoomStopped), 'all with 4002')
  const late = join()
  t.equal(late.closedWith, CloseCode.NoSuchRoom, 'a join of an ended room is refused 4004')
  t.ok(late.refused)
  t.equal(room.playerCount, 0)
})

t.test('room - operator actions go through the mailbox, with or without the host, and report how they went', async (t) => {
  const { room, host, join } = newRoom({ limits: { hostGraceMs: 10_000 } })
  const a = join()
  const b = join()
  await turn()
  host.take()
  t.same(await room.operate({ kind: 'kick', player: 9 }), { ok: false, code: 'unknown_player', reason: 'no player 9 in room ABCD' })
  t.same(await room.operate({ kind: 'kick', player: 1 }), { ok: true })
  t.equal(a.closedWith, CloseCode.Kicked)
  await turn()
  t.same(host.take(), [['left', 1], ['state', [2], true]], 'the host hears of an operator kick as of its own')
  room.post({ type: 'host-detached', host })
  t.same(await room.operate({ kind: 'start' }), { ok: true }, 'start while the host is away')
  t.equal(room.acceptConns, false)
  t.same(await room.operate({ kind: 'start' }), { ok: true }, 'start of a started room changes nothing')
  t.same(await room.operate({ kind: 'stop' }), { ok: true }, 'stop while the host is away')
  t.equal(b.closedWith, CloseCode.RoomStopped)
  t.ok(room.ended)
  t.same(await room.operate({ kind: 'kick', player: 2 }), { ok: false, code: 'no_such_room', reason: 'room ABCD has ended' })
  t.same(host.take(), [], 'the detached host heard nothing')
})

t.test('room - an operator action posted from inside a host callback waits its turn', async (t) => {
  const { room, host, join } = newRoom()
  const p = join()
  let outcome: Promise<unknown> | undefined
  host.fromPlayer = (player) => {
    host.events.push(['from', player])
    outcome = room.operate({ kind: 'kick', player })
    host.events.push(['after-operate'])
  }
  room.post({ type: 'player-frame', port: p, data: 'x' })
  t.same(await outcome, { ok: true })
  t.same(host.take(), [['joined', 1], ['state', [1], true], ['from', 1], ['after-operate'], ['left', 1]])
})

t.test('room - a preset room takes an operator kick but not start or stop', async (t) => {
  const { room, join } = newRoom({ preset: true })
  join()
  t.same(await room.operate({ kind: 'start' }), { ok: false, code: 'preset_room', reason: 'ABCD is a preset room: it is never started or stopped' })
  t.same(await room.operate({ kind: 'stop' }), { ok: false, code: 'preset_room', reason: 'ABCD is a preset room: it is never started or stopped' })
  t.same(await room.operate({ kind: 'kick', player: 1 }), { ok: true })
  t.notOk(room.ended)
})

t.test('room - figures: created-at, traffic each way, players with name and presence', async (t) => {
  const { room, join, control } = newRoom({ now: () => 1_700_000_000_000, limits: { playerGraceMs: 10_000 } })
  const a = join('phone-aaaaaaaaaaaaaaaa', undefined, 'Ann')
  const b = join()
  room.post({ type: 'player-frame', port: a, data: 'héllo' })
  room.post({ type: 'player-frame', port: b, data: new Uint8Array([1, 2, 3]) })
  control.send('to all')
  control.send(new Uint8Array(10), [1])
  room.post({ type: 'player-disconnect', port: a })
  t.same(room.figures(), {
    createdAt: 1_700_000_000_000,
    fromPlayers: { frames: 2, bytes: 6 + 3 },
    toPlayers: { frames: 3, bytes: 2 * 6 + 10 },
    players: [{ id: 1, name: 'Ann', away: true }, { id: 2, away: false }],
  })
  t.equal(room.node, '', 'no node given')
  const copy = room.figures()
  ;(copy.fromPlayers as { frames: number }).frames = 99
  t.equal(room.figures().fromPlayers.frames, 2, 'a copy: the room cannot be changed through it')
})
