import type { FloodPlan } from '../../src/flood/flood.js'
import type { FloodReport } from '../../src/flood/flood-report.js'
import type { SystemName } from './systems/index.js'

/** The load of one run: the party to play and how long to measure it. */
export interface Workload {
  readonly plan: FloodPlan
  readonly connectConcurrency: number
  readonly warmupMs: number
  readonly windowMs: number
  readonly drainMs: number
  /** Saturation: one window per multiplier of both rates, stopping at the first failing step. */
  readonly ramp?: Ramp
}

/** What the runner asks one generator process to do against one running server. */
export interface GeneratorJob extends Workload {
  readonly system: SystemName
  readonly url: string
  readonly serverPid: number
}

export interface Ramp {
  readonly multipliers: readonly number[]
  readonly p99LimitMs: number
  readonly lossLimit: number
}

/** One window's outcome, as the generator prints it (`RESULT <json>` on stdout). */
export interface StepResult {
  readonly multiplier: number
  readonly report: FloodReport
  /** Within the ramp's limits (p99, loss, no disconnects); a generator-bound step may still be. */
  readonly sustained: boolean
  /** Why the ramp stopped after this step, if it did. */
  readonly stop?: StopReason
}

export type StopReason = 'p99' | 'loss' | 'generator' | 'disconnects' | 'last step'

export const RESULT_PREFIX = 'RESULT '
/** Printed by the generator as a measured window starts: `WINDOW <ms>`. */
export const WINDOW_PREFIX = 'WINDOW '
