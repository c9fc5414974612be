import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { MemoryStore } from '../../src/store/store-memory.js'
import { storeContract } from './store-contract.js'
import { storeClusterContract } from './store-cluster-contract.js'

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
