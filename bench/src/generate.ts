/**
 * One load-generator process (the runner pins it to its own core): connects the plan's rooms
 * to one server, warms up, measures one window (or a ramp of windows), prints each result as a
 * `RESULT <json>` line, and exits. Usage: `node --import tsx src/generate.ts '<GeneratorJob json>'`.
 */
import { sleep } from '../../src/flood/bounded.js'
import { Flood } from '../../src/flood/flood.js'
import { lossRatio, type FloodReport } from '../../src/flood/flood-report.js'
import { RESULT_PREFIX, WINDOW_PREFIX, type GeneratorJob, type StepResult, type StopReason } from './job.js'
import { clientFor } from './systems/index.js'

const job = JSON.parse(process.argv[2] ?? '') as GeneratorJob
const flood = new Flood(clientFor(job.system, job.url), job.plan, {
  serverPid: job.serverPid,
  connectConcurrency: job.connectConcurrency,
})

function emit(result: StepResult): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
}

/** The limit this step broke, if any; the generator's own limit last (the step may still count). */
function stopReason(report: FloodReport, job: GeneratorJob): StopReason | undefined {
  const ramp = job.ramp
  if (ramp === undefined) return undefined
  if (report.disconnects > 0) return 'disconnects'
  if (report.all.p99Ms > ramp.p99LimitMs) return 'p99'
  if (lossRatio(report.all) > ramp.lossLimit) return 'loss'
  if (report.generator.bound) return 'generator'
  return undefined
}

/** How many times a ramp step that failed on a noisy machine is measured again. */
const NOISY_RETRIES = 2
/** Cores' worth of CPU used by other processes above which the machine counts as noisy. */
const NOISY_OTHER_CORES = 0.2

function noisyFailure(report: FloodReport, reason: StopReason | undefined): boolean {
  return (reason === 'p99' || reason === 'loss') && report.machine.otherCores > NOISY_OTHER_CORES
}

let code = 0
try {
  await flood.connect()
  flood.start()
  await sleep(job.warmupMs)
  const multipliers = job.ramp?.multipliers ?? [1]
  for (let i = 0; i < multipliers.length; i++) {
    const multiplier = multipliers[i]!
    if (i > 0) {
      flood.setRates(job.plan.hostHz * multiplier, job.plan.playerHz * multiplier)
      await sleep(job.warmupMs)
    }
    process.stdout.write(`${WINDOW_PREFIX}${job.windowMs}\n`)
    let report = await flood.measure({ windowMs: job.windowMs, drainMs: job.drainMs })
    let reason = stopReason(report, job)
    // A step that fails while other processes load the machine is measured again (bounded):
    // the ramp should find the system's limit, not a neighbour's burst.
    for (let retry = 0; retry < NOISY_RETRIES && noisyFailure(report, reason); retry++) {
      process.stderr.write(`generator (${job.system}): step ×${multiplier} failed (${reason}) with ${report.machine.otherCores.toFixed(2)} other cores busy; measuring again\n`)
      report = await flood.measure({ windowMs: job.windowMs, drainMs: job.drainMs })
      reason = stopReason(report, job)
    }
    const last = i === multipliers.length - 1
    const stop = reason ?? (last && job.ramp ? 'last step' : undefined)
    emit({ multiplier, report, sustained: reason === undefined || reason === 'generator', ...(stop ? { stop } : {}) })
    if (reason) break
  }
} catch (error) {
  process.stderr.write(`generator (${job.system}): ${(error as Error).stack ?? String(error)}\n`)
  code = 1
} finally {
  await flood.close()
}
if (flood.malformed > 0) process.stderr.write(`generator (${job.system}): ${flood.malformed} malformed frames\n`)
process.exit(code)
