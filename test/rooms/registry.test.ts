/**
 * The room registry's code space: creations per minute on the node, and a cooldown that gives
 * way under pressure so it never locks everyone out. A smaller alphabet (6 letters: 1,296
 * codes) and a moved clock stand for the real 279,841 codes and minutes.
 */
import t from 'tap'
import pino from 'pino'
import { CALM, FLOOR_MS } from '../../src/rooms/code-cooldown.js'
import { RoomRegistry, type RegistryOptions } from '../../src/rooms/registry.js'
import { randomCode } from '../../src/rooms/room-code.js'
import { MemoryStore } from '../../src/store/store-memory.js'

import { quietHost } from './quiet-host.js'

function registry(over: Partial<RegistryOptions> = {}) {
  let now = 1_000_000
  const clock = () => now
  const store = new MemoryStore(clock)
  const reg = new RoomRegistry({
    store,
    node: 'test',
    logger: pino({ level: 'silent' }),
    codeCooldownMs: 600_000,
    limits: { hostGraceMs: 1000, playerGraceMs: 1000, keptFrames: 10, keptBytes: 1000 },
    drawCode: () => randomCode('ABCDEF'),
    now: clock,
    ...over,
  })
  return { reg, store, advance: (ms: number) => void (now += ms), clock }
}

/** Lets the registry's write-behind (delete the record, release the code) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('registry - rooms created and dropped faster than codes cool never lock creation out; no code comes back sooner than the floor', async (t) => {
  const { reg, advance, clock } = registry()
  // Four rooms a second: 1,296 codes with a 10-minute cooldown run out after 5½ minutes.
  const ROOMS = 4000
  let refused = 0
  const freedAt = new Map<string, number>()
  let soonest = Infinity
  for (let i = 0; i < ROOMS; i++) {
    advance(250)
    const outcome = await reg.create(quietHost(), { name: '', public: false, maxPlayers: 2 })
    if (!outcome.ok) {
      t.equal(outcome.code, 'unavailable')
      refused++
      continue
    }
    const { room } = outcome
    const last = freedAt.get(room.key)
    if (last !== undefined) soonest = Math.min(soonest, clock() - last)
    await room.operate({ kind: 'stop' })
    freedAt.set(room.key, clock())
    await settle()
  }
  t.equal(refused, 0, `${refused} of ${ROOMS} creations found no code`)
  t.ok(soonest >= FLOOR_MS, `a freed code came back after ${soonest / 1000} s at the soonest (floor ${FLOOR_MS / 1000} s)`)
  t.ok(reg.codeSpace.occupancy > CALM && reg.codeSpace.cooldownMs < 600_000, `under pressure: occupancy ${reg.codeSpace.occupancy.toFixed(2)}, cooldown ${reg.codeSpace.cooldownMs / 1000} s`)
})

t.test('registry - a calm code space keeps the configured cooldown', async (t) => {
  const { reg, advance } = registry({ drawCode: () => randomCode() })
  for (let i = 0; i < 200; i++) {
    advance(5_000)
    const outcome = await reg.create(quietHost(), { name: '', public: false, maxPlayers: 2 })
    t.ok(outcome.ok)
    if (outcome.ok) await outcome.room.operate({ kind: 'stop' })
    await settle()
  }
  t.equal(reg.codeSpace.cooldownMs, 600_000, `occupancy ${reg.codeSpace.occupancy.toFixed(4)}: the full cooldown`)
})

t.test('registry - past roomsPerMinuteTotal creation is refused rate_limited until the minute has passed', async (t) => {
  const { reg, advance } = registry({ roomsPerMinuteTotal: 3, drawCode: () => randomCode() })
  for (let i = 0; i < 3; i++) t.ok((await reg.create(quietHost(), { name: '', public: false, maxPlayers: 2 })).ok, `room ${i + 1}`)
  const refused = await reg.create(quietHost(), { name: '', public: false, maxPlayers: 2 })
  t.same(refused, { ok: false, code: 'rate_limited', reason: 'prepare: too many rooms are being created on this server; retry in a minute' })
  t.equal(reg.size, 3)
  advance(59_999)
  t.notOk((await reg.create(quietHost(), { name: '', public: false, maxPlayers: 2 })).ok, 'still within the minute')
  advance(1)
  t.ok((await reg.create(quietHost(), { name: '', public: false, maxPlayers: 2 })).ok, 'a new minute')
})
