/**
 * A room raised to thousands of players, on a real server with real sockets: what its joins
 * and leaves cost must not grow with its size. Counted in bytes and records, never in time.
 */
import t from 'tap'
import type { RoomRecord } from '../../src/store/store.js'
import { MemoryStore } from '../../src/store/store-memory.js'
import { decoder, HostPeer, PlayerPeer, testServer, until, type Msg } from '../helpers/server.js'

const PLAYERS = 2500
/** Phones opened at once: enough to crowd the server, few enough for a small machine. */
const BATCH = 250

/** The real embedded store, counting what the room registry writes to it. */
class CountingStore extends MemoryStore {
  saves = 0
  playersWritten = 0
  override async saveRoom(record: RoomRecord): Promise<void> {
    this.saves++
    this.playersWritten += record.players.length
    return super.saveRoom(record)
  }
}

/** Bytes of `state` the host got since `from`, and the last state among them. */
function states(host: HostPeer, from: number): { bytes: number; count: number; last: Msg | undefined } {
  let bytes = 0
  let count = 0
  let last: Msg | undefined
  for (const frame of host.frames.slice(from)) {
    const m = decoder.decode(frame as Buffer) as Msg
    if (m.cmd !== 'state') continue
    bytes += (frame as Buffer).byteLength
    count++
    last = m
  }
  return { bytes, count, last }
}

const count = (host: HostPeer, from: number, cmd: string): number =>
  host.frames.slice(from).filter((f) => (decoder.decode(f as Buffer) as Msg).cmd === cmd).length

t.test(`room scale - ${PLAYERS} joins and ${PLAYERS} leaves cost the host O(changes) bytes of state and the store O(changes) record entries`, async (t) => {
  const store = new CountingStore()
  const server = await testServer(t, { maxPlayers: PLAYERS, playerGraceMs: 0, playersPerAddress: PLAYERS + 1 }, { store })
  const host = new HostPeer(server)
  const { key } = await host.prepare({ max_players: PLAYERS })
  const players: PlayerPeer[] = []
  const before = host.frames.length
  for (let i = 0; i < PLAYERS; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, PLAYERS - i) }, () => new PlayerPeer(server, key))
    await Promise.all(batch.map((p) => p.opened))
    players.push(...batch)
  }
  await until(() => states(host, before).last?.players instanceof Array && (states(host, before).last!.players as number[]).length === PLAYERS, 'a state with every player', 30_000)
  const joins = states(host, before)
  t.equal(count(host, before, 'player_joined'), PLAYERS, 'every join told')
  // A state per join would send sum(k) entries of ~16 bytes: ~50 MB for 2,500 joins.
  const perJoin = joins.bytes / PLAYERS
  t.ok(perJoin < 1024, `${joins.bytes} bytes of state in ${joins.count} states for ${PLAYERS} joins: ${perJoin.toFixed(0)} per join`)
  const writesAfterJoins = { saves: store.saves, entries: store.playersWritten }
  t.ok(writesAfterJoins.entries < 64 * PLAYERS, `${writesAfterJoins.entries} player entries in ${writesAfterJoins.saves} record writes for ${PLAYERS} joins`)

  const mark = host.frames.length
  for (const p of players) p.ws.terminate()
  await until(() => count(host, mark, 'player_left') === PLAYERS, 'every leave told', 30_000)
  await until(() => (states(host, mark).last?.players as number[] | undefined)?.length === 0, 'a state with nobody', 10_000)
  const leaves = states(host, mark)
  t.ok(leaves.bytes / PLAYERS < 1024, `${leaves.bytes} bytes of state in ${leaves.count} states for ${PLAYERS} leaves`)
  const leaveEntries = store.playersWritten - writesAfterJoins.entries
  t.ok(leaveEntries < 64 * PLAYERS, `${leaveEntries} player entries in ${store.saves - writesAfterJoins.saves} record writes for ${PLAYERS} leaves`)

  host.command({ cmd: 'to_str', data: 'still here' })
  const late = new PlayerPeer(server, key)
  await late.opened
  await until(() => count(host, mark, 'player_joined') === 1, 'the room still takes players')
})

t.test(`room scale - stopping a room of ${PLAYERS} closes every player with 4002 while another room keeps relaying`, async (t) => {
  const server = await testServer(t, { maxPlayers: PLAYERS, playersPerAddress: PLAYERS + 1 })
  const host = new HostPeer(server)
  const { key } = await host.prepare({ max_players: PLAYERS })
  const players: PlayerPeer[] = []
  for (let i = 0; i < PLAYERS; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, PLAYERS - i) }, () => new PlayerPeer(server, key))
    await Promise.all(batch.map((p) => p.opened))
    players.push(...batch)
  }
  const other = new HostPeer(server)
  const { key: otherKey } = await other.prepare()
  const phone = new PlayerPeer(server, otherKey)
  await phone.opened
  await other.message('player_joined')
  await other.message('state')
  host.command({ cmd: 'stop' })
  other.command({ cmd: 'to_str', data: 'during the teardown' })
  t.equal(await phone.next(), 'during the teardown', 'the other room relays')
  await until(() => players.every((p) => p.closed !== undefined), 'every player closed', 30_000)
  t.ok(players.every((p) => p.closed?.code === 4002), 'all with 4002')
  t.equal(host.closed?.code ?? (await host.closedWith()).code, 1000)
})
