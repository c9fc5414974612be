/**
 * The Room actor without sockets: a recording Host and recording player ports.
 */
import t from 'tap'
import { CloseCode } from '../../src/errors.js'
import type { Host, RoomStateView } from '../../src/rooms/host.js'
import type { PlayerPort } from '../../src/rooms/player-port.js'
import { Room, type RoomLimits } from '../../src/rooms/room.js'
import { until } from '../helpers/server.js'

type Event = [string, ...unknown[]]

class RecordingHost implements Host {
  events: Event[] = []
  token = ''
  attached(info: { key: string; token: string; dropped?: number }): void {
    this.token = info.token
    this.events.push(['attached', info.key, info.dropped])
  }
  state(s: RoomStateView): void {
    this.events.push(['state', [...s.players], s.accept_conns])
  }
  playerJoined(p: number): void {
    this.events.push(['joined', p])
  }
  playerLeft(p: number): void {
    this.events.push(['left', p])
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
  send(d: Uint8Array | string): void {
    this.sent.push(typeof d === 'string' ? d : [...d])
  }
  close(code: CloseCode): void {
    this.closedWith = code
  }
}

const limits: RoomLimits = { hostGraceMs: 30, playerGraceMs: 30, keptFrames: 3, keptBytes: 1000 }

function newRoom(over: { maxPlayers?: number; limits?: Partial<RoomLimits> } = {}) {
  const ended: number[] = []
  const room = new Room({
    key: 'ABCD',
    name: 'Quiz',
    public: false,
    maxPlayers: over.maxPlayers ?? 4,
    preset: false,
    limits: { ...limits, ...over.limits },
    onEnded: (_r, code) => ended.push(code),
  })
  const host = new RecordingHost()
  room.open(host)
  host.take()
  const join = (sid?: string, address?: string) => {
    const port = new RecordingPort(address)
    room.post({ type: 'player-connect', port, sid })
    return port
  }
  return { room, host, join, ended, control: room.controlFor(host) }
}

t.test('room - joins emit player_joined before the state that shows them; ids are never reused', async (t) => {
  const { room, host, join } = newRoom()
  const a = join()
  join()
  t.same(host.take(), [['joined', 1], ['state', [1], true], ['joined', 2], ['state', [1, 2], true]])
  room.post({ type: 'player-disconnect', port: a })
  join()
  t.same(host.take(), [['left', 1], ['state', [2], true], ['joined', 3], ['state', [2, 3], true]])
})

t.test('room - full refuses 4009, started refuses 4003, started and full refuses 4003', async (t) => {
  const { host, join, control } = newRoom({ maxPlayers: 1 })
  join()
  t.equal(join().closedWith, CloseCode.RoomFull)
  control.start()
  t.same(host.take().at(-1), ['state', [1], false])
  t.equal(join().closedWith, CloseCode.RoomStarted)
})

t.test('room - kick closes 4001 and the sid stays refused; an unknown id is an error', async (t) => {
  const { host, join, control } = newRoom()
  const p = join('sid-aaaaaaaaaaaaaaaa')
  host.take()
  control.kick(9)
  t.same(host.take(), [['error', 'unknown_player']])
  control.kick(1)
  t.equal(p.closedWith, CloseCode.Kicked)
  t.same(host.take(), [['left', 1], ['state', [], true]])
  t.equal(join('sid-aaaaaaaaaaaaaaaa').closedWith, CloseCode.Kicked)
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

t.test('room - stop closes players 4002, tells the host, ends once', async (t) => {
  const { host, join, control, ended, room } = newRoom()
  const p = join()
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
  const control = room.controlFor(host)
  const p = join()
  // On the next frame, the host kicks the sender from inside its callback.
  host.fromPlayer = (player, d) => {
    host.events.push(['from', player, d])
    control.kick(player)
    host.events.push(['after-kick-posted'])
  }
  host.take()
  room.post({ type: 'player-frame', port: p, data: 'x' })
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

t.test('room - a sid keeps its place through a disconnect, then leaves after the grace', async (t) => {
  const { room, host, join, control } = newRoom({ maxPlayers: 1 })
  const first = join('phone-0123456789abcdef')
  room.post({ type: 'player-disconnect', port: first })
  control.start()
  host.take()
  control.send('while away')
  const again = join('phone-0123456789abcdef')
  t.equal(again.closedWith, undefined, 'back in, though started and full')
  t.same(host.take(), [], 'the host saw neither leave nor join')
  room.post({ type: 'player-frame', port: again, data: 'hi' })
  t.same(host.take(), [['from', 1, 'hi']], 'same id')
  t.same(first.sent, [], 'frames sent while away were dropped')
  const third = join('phone-0123456789abcdef')
  t.equal(again.closedWith, CloseCode.Replaced, 'the older connection is replaced')
  room.post({ type: 'player-disconnect', port: again })
  t.same(host.take(), [], 'the replaced connection closing changes nothing')
  room.post({ type: 'player-disconnect', port: third })
  await until(() => host.events.length > 0, 'player_left after grace')
  t.same(host.take(), [['left', 1], ['state', [], false]])
})

t.test('room - shutdown closes players 1012 and tells the host it restarts', async (t) => {
  const { room, host, join, ended } = newRoom()
  const p = join()
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
