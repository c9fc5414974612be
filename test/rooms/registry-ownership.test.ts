/**
 * The registry keeps its rooms' directory entries and records in the Store: claimed with an
 * ownership, written fenced (whole once, then what changed), released at the end; a room
 * another node took over is dropped here (1012); a room the store lost is written back.
 */
import t from 'tap'
import pino from 'pino'
import { CloseCode } from '../../src/errors.js'
import type { Host } from '../../src/rooms/host.js'
import type { PlayerPort } from '../../src/rooms/player-port.js'
import { RoomRegistry, recordPatch } from '../../src/rooms/registry.js'
import { MemoryStore } from '../../src/store/store-memory.js'
import type { RoomPatch, RoomRecord } from '../../src/store/store.js'
import { until } from '../helpers/server.js'
import { quietHost } from './quiet-host.js'

/** Resolves once `check()` resolves true; fails after 5 s. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A quiet host that notes being told the server restarts (its room moved away). */
const restartNotingHost = (): Host & { restarted: boolean } => ({
  ...quietHost(),
  restarted: false,
  restarting() {
    this.restarted = true
  },
})

class Port implements PlayerPort {
  readonly address = '127.0.0.1'
  closed: number | undefined
  id: number | undefined
  send(): void {}
  close(code: CloseCode): void {
    this.closed = code
  }
  refuse(code: CloseCode): void {
    this.closed = code
  }
  joined(id: number): void {
    this.id = id
  }
}

/** A MemoryStore that records the room writes it is asked for. */
class WatchedStore extends MemoryStore {
  readonly writes: string[] = []
  override async saveRoom(record: RoomRecord, fence?: { node: string; epoch: number }): Promise<void> {
    this.writes.push(`save ${record.players.length}`)
    return super.saveRoom(record, fence)
  }
  override async updateRoom(code: string, patch: RoomPatch, fence?: { node: string; epoch: number }): Promise<void> {
    this.writes.push(`update ${JSON.stringify(patch)}`)
    return super.updateRoom(code, patch, fence)
  }
}

function registry(store: MemoryStore, node = 'n1') {
  return new RoomRegistry({
    store,
    node,
    logger: pino({ level: 'silent' }),
    codeCooldownMs: 60_000,
    limits: { hostGraceMs: 1000, playerGraceMs: 1000, keptFrames: 10, keptBytes: 1000 },
  })
}

t.test('registry - a room is claimed with an ownership; a join writes one player; the end releases the code', async (t) => {
  const store = new WatchedStore()
  const reg = registry(store)
  const outcome = await reg.create(restartNotingHost(), { name: 'Quiz', public: true, maxPlayers: 4 })
  if (!outcome.ok) throw new Error('not created')
  const { room } = outcome
  const own = reg.ownership(room.key)
  t.same(await store.owner(room.key), own, 'the directory holds this node and its epoch')
  await until(() => store.writes.length === 1, 'the first record')
  t.same(store.writes, ['save 0'])
  room.post({ type: 'player-connect', port: new Port(), sid: 'a'.repeat(16), name: undefined })
  await until(() => store.writes.length === 2, 'the join written')
  t.same(JSON.parse(store.writes[1]!.slice('update '.length)), { set: { nextId: 2 }, players: [{ id: 1, sid: 'a'.repeat(16) }] }, 'the join: next id and one player')
  const record = await store.loadRoom(room.key)
  t.same(record?.players, [{ id: 1, sid: 'a'.repeat(16) }])
  t.equal(record?.nextId, 2)
  await room.operate({ kind: 'stop' })
  await until(() => reg.ownership(room.key) === undefined, 'released')
  await until(() => store.writes.length === 2, 'no more writes')
  t.equal(await store.owner(room.key), undefined, 'directory entry gone')
  t.equal(await store.loadRoom(room.key), undefined, 'record gone')
  t.equal(await store.claimCode(room.key, 'n2'), undefined, 'the code cools down')
})

t.test('registry - a room adopted by another node is dropped here at its next write: connections closed with 1012', async (t) => {
  const store = new MemoryStore()
  const reg = registry(store)
  const host = restartNotingHost()
  const outcome = await reg.create(host, { name: '', public: false, maxPlayers: 4 })
  if (!outcome.ok) throw new Error('not created')
  const { room } = outcome
  const own = reg.ownership(room.key)!
  await eventually(async () => (await store.loadRoom(room.key)) !== undefined, 'record')
  t.ok(await store.adoptRoom(room.key, own, 'n2'), 'n2 adopts it')
  const port = new Port()
  room.post({ type: 'player-connect', port, sid: undefined })
  await until(() => port.closed !== undefined, 'the player closed')
  t.equal(port.closed, CloseCode.ServiceRestart)
  t.ok(host.restarted, 'the host is closed with 1012 too')
  t.equal(reg.get(room.key), undefined, 'gone here')
  t.equal((await store.owner(room.key))?.node, 'n2', 'the new owner keeps it')
  t.equal((await store.loadRoom(room.key))?.node, 'n2', 'and its record')
})

t.test('registry - a room the store lost is written back by verify()', async (t) => {
  let store = new MemoryStore()
  const shared = { store }
  const reg = new RoomRegistry({
    store: new Proxy({} as MemoryStore, { get: (_o, k) => { const v = (shared.store as unknown as Record<string | symbol, unknown>)[k]; return typeof v === 'function' ? v.bind(shared.store) : v } }),
    node: 'n1',
    logger: pino({ level: 'silent' }),
    codeCooldownMs: 60_000,
    limits: { hostGraceMs: 1000, playerGraceMs: 1000, keptFrames: 10, keptBytes: 1000 },
  })
  const outcome = await reg.create(restartNotingHost(), { name: 'Kept', public: false, maxPlayers: 4 })
  if (!outcome.ok) throw new Error('not created')
  outcome.room.post({ type: 'player-connect', port: new Port(), sid: undefined })
  await eventually(async () => (await store.loadRoom(outcome.room.key))?.players.length === 1, 'record with the player')
  store = shared.store = new MemoryStore() // the store restarted empty
  await reg.verify()
  const back = await store.loadRoom(outcome.room.key)
  t.equal(back?.name, 'Kept')
  t.same(back?.players, [{ id: 1 }])
  t.same(await store.owner(outcome.room.key), reg.ownership(outcome.room.key), 'its entry with the same ownership')
})

t.test('registry - recordPatch says only what changed', async (t) => {
  const base: RoomRecord = { key: 'ABCD', node: 'n', name: '', public: false, maxPlayers: 4, acceptConns: true, tokenHash: 'x', nextId: 3, players: [{ id: 1 }, { id: 2, sid: 's' }], kickedSids: [] }
  t.equal(recordPatch(base, { ...base }), undefined)
  t.same(recordPatch(base, { ...base, acceptConns: false }), { set: { acceptConns: false } })
  t.same(recordPatch(base, { ...base, players: [{ id: 2, sid: 's' }], kickedSids: ['k'] }), { set: { kickedSids: ['k'] }, removePlayers: [1] })
})
