import t from 'tap'
import { MemoryStore } from '../../src/store/store-memory.js'
import { storeContract } from './store-contract.js'

storeContract(t, () => {
  let now = 1_000_000
  return { store: new MemoryStore(() => now), advance: async (ms) => void (now += ms) }
})
