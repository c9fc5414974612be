import t from 'tap'
import { MemoryBus } from '../../src/bus/bus-memory.js'
import { busContract } from './bus-contract.js'

busContract(t, () => new MemoryBus())
