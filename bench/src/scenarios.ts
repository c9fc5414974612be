import type { FloodPlan } from '../../src/flood/flood.js'
import type { Workload } from './job.js'

export type ScenarioId = 'a' | 'b' | 'c' | 'd'

export interface Scenario extends Workload {
  readonly id: ScenarioId
  readonly title: string
}

const PARTY: FloodPlan = { rooms: 100, players: 8, hostHz: 20, playerHz: 10, hostBytes: 64, playerBytes: 64 }

/** The four workloads of the benchmark; `windowSeconds` overrides the measured window of a, c, d. */
export function scenarios(options: { quick: boolean; windowSeconds?: number }): Scenario[] {
  const window = (ms: number): number => (options.windowSeconds ? options.windowSeconds * 1000 : ms)
  if (options.quick) {
    return [
      {
        id: 'a',
        title: 'party load (quick): 100 rooms × 8 players, host 20 Hz, players 10 Hz, 64 B',
        plan: PARTY,
        connectConcurrency: 50,
        warmupMs: 1500,
        windowMs: window(4000),
        drainMs: 500,
      },
    ]
  }
  return [
    {
      id: 'a',
      title: 'party load: 100 rooms × 8 players, host 20 Hz down, players 10 Hz up, 64 B',
      plan: PARTY,
      connectConcurrency: 50,
      warmupMs: 3000,
      windowMs: window(10_000),
      drainMs: 1000,
    },
    {
      id: 'b',
      title: 'saturation: scenario a with both rates × 1, 1.5, 2, … 8 until p99 > 100 ms or loss > 0.1 %',
      plan: PARTY,
      connectConcurrency: 50,
      warmupMs: 1000,
      windowMs: 3000,
      drainMs: 1000,
      ramp: { multipliers: [1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8], p99LimitMs: 100, lossLimit: 0.001 },
    },
    {
      id: 'c',
      title: 'connections: 625 rooms × 7 players = 5,000 connections, 1 Hz each way, 64 B',
      plan: { rooms: 625, players: 7, hostHz: 1, playerHz: 1, hostBytes: 64, playerBytes: 64 },
      connectConcurrency: 25,
      warmupMs: 2000,
      windowMs: window(5000),
      drainMs: 1000,
    },
    {
      id: 'd',
      title: 'big frames: 30 rooms × 8 players, host 16 KiB at 20 Hz, players 64 B at 10 Hz',
      plan: { rooms: 30, players: 8, hostHz: 20, playerHz: 10, hostBytes: 16 * 1024, playerBytes: 64 },
      connectConcurrency: 10,
      warmupMs: 2000,
      windowMs: window(8000),
      drainMs: 1000,
    },
  ]
}
