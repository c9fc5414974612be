import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { MemoryStore } from '../../src/store/store-memory.js'
import { storeContract } from './store-contract.js'
import { storeClusterContract } from './store-cluster-contract.js'
import { fillDisk, smallDisk } from '../games/clickplanet/persistence-helpers.js'

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'store-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('memory store', async (t) => {
  storeContract(t, () => {
    let now = 1_000_000
    return { store: new MemoryStore(() => now), advance: async (ms) => void (now += ms) }
  })
})

t.test('memory store - cluster contract (nodes sharing one store in one process)', async (t) => {
  storeClusterContract(t, (expiry) => {
    let now = 1_000_000
    const store = new MemoryStore({ now: () => now, ...expiry })
    return { store, advance: async (ms) => void (now += ms), peer: () => store }
  })
})

t.test('memory store with a data directory', async (t) => {
  const dir = await tempDir(t)
  let n = 0
  storeContract(t, () => {
    let now = 1_000_000
    const dataDir = join(dir, String(++n))
    return {
      store: new MemoryStore({ now: () => now, dataDir }),
      advance: async (ms) => void (now += ms),
      reopen: () => new MemoryStore({ dataDir }),
    }
  })
})

t.test('memory store - snapshots go to files under the data directory, replaced atomically', async (t) => {
  const dataDir = await tempDir(t)
  const store = new MemoryStore({ dataDir })
  await store.saveSnapshot('clickplanet', { position: 5, bytes: Uint8Array.from([1, 2, 3]) })
  t.same(await readdir(join(dataDir, 'snapshots')), ['clickplanet.snap'], 'one file, no temp file left')
  // A crash in the middle of the next save leaves a temp file beside the old snapshot.
  await writeFile(join(dataDir, 'snapshots', 'clickplanet.snap.123.1.tmp'), 'half a snapshot')
  t.same(await new MemoryStore({ dataDir }).loadSnapshot('clickplanet'), { position: 5, bytes: Uint8Array.from([1, 2, 3]) })
  await store.close()
})

t.test('memory store - a damaged snapshot file is refused, not returned', async (t) => {
  const dataDir = await tempDir(t)
  const store = new MemoryStore({ dataDir })
  await store.saveSnapshot('s', { position: 5, bytes: Uint8Array.from({ length: 100 }, (_, i) => i) })
  const path = join(dataDir, 'snapshots', 's.snap')
  const file = await readFile(path)
  file[file.length - 1]! ^= 0xff
  await writeFile(path, file)
  await t.rejects(store.loadSnapshot('s'), /checksum/)
  await writeFile(path, file.subarray(0, file.length - 10))
  await t.rejects(store.loadSnapshot('s'), /size/)
  await writeFile(path, 'nope')
  await t.rejects(store.loadSnapshot('s'), /not a snapshot/)
  await store.close()
})

t.test('memory store - a snapshot that does not fit on the disk (a real 1 MiB tmpfs): the save rejects, the previous snapshot stays whole, no temp file is left', async (t) => {
  const disk = await smallDisk(t, 1 << 20)
  if (disk === undefined) {
    t.plan(0, 'cannot mount a tmpfs here (needs root)')
    return
  }
  const old = Uint8Array.from({ length: 100_000 }, (_, i) => i & 0xff)
  const before = new MemoryStore({ dataDir: disk })
  await before.saveSnapshot('s', { position: 7, bytes: old })
  // A process that died mid-save left a temp file: the next process's first save removes it.
  await writeFile(join(disk, 'snapshots', 's.snap.99999.1.tmp'), 'half a snapshot')
  await before.close()
  const store = new MemoryStore({ dataDir: disk })
  t.teardown(() => store.close())
  await store.saveSnapshot('s', { position: 8, bytes: old })
  t.same(await readdir(join(disk, 'snapshots')), ['s.snap'], 'the stale temp file is gone')

  const filler = await fillDisk(disk, 64 * 1024)
  const big = new Uint8Array(300_000).fill(7)
  await t.rejects(store.saveSnapshot('s', { position: 9, bytes: big }), /ENOSPC|short/, 'the save says it failed')
  t.same(await readdir(join(disk, 'snapshots')), ['s.snap'], 'no temp file is left')
  const kept = await new MemoryStore({ dataDir: disk }).loadSnapshot('s')
  t.equal(kept?.position, 8, 'the previous snapshot is in place')
  t.ok(kept && Buffer.from(kept.bytes).equals(Buffer.from(old)), 'whole')

  await rm(filler)
  await store.saveSnapshot('s', { position: 10, bytes: big })
  t.equal((await store.loadSnapshot('s'))?.position, 10, 'and saves work again once there is room')
})
