/**
 * The side-by-side benchmark: the same party workload against a bare ws relay, Colyseus,
 * Socket.IO and partyline, each server a child process on core 0 and each generator a child
 * process on core 1, runs interleaved A B C D A B C D. Prints every run, then per scenario a
 * summary of medians with ratios to the bare ws relay. See README.md.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { sleep } from '../../src/flood/bounded.js'
import { machineBusySeconds } from '../../src/flood/proc-sample.js'
import { BENCH_DIR, ROOT_DIR, buildBench } from './build.js'
import { runGenerator } from './generator-process.js'
import type { GeneratorJob } from './job.js'
import { formatPerf, perfReport, recordPerf } from './perf-profile.js'
import { formatSelfTime, topSelfTime } from './profile-top.js'
import { scenarios, type Scenario, type ScenarioId } from './scenarios.js'
import { partylineUnavailable, startServer } from './server-process.js'
import { isSystemName, SYSTEM_NAMES, type SystemName } from './systems/index.js'
import { rampSummary, rampTable, runTable, summaryTable, type RunRecord } from './table.js'

const SERVER_CORE = 0
const GENERATOR_CORE = 1
/** Other processes using less than this many cores count as a quiet machine. */
const QUIET_CORES = 0.25

const USAGE = `usage: npm run bench -- [options]
  --quick               scenario a only, short windows
  --rounds <n>          rounds of A B C D (default 2)
  --scenarios <list>    any of a,b,c,d (default all)
  --systems <list>      any of ${SYSTEM_NAMES.join(',')} (default all; the first is the baseline)
  --window <seconds>    measured window of scenarios a, c, d
  --cpu-prof            write a V8 CPU profile (node --cpu-prof) of the profiled servers per run
                        and print their top self-time functions within the measured windows
  --perf                record the profiled servers with Linux perf during the first measured
                        window of each run (node --perf-basic-prof) and print the top symbols
  --profile <list>      the systems --cpu-prof and --perf apply to (default partyline)
  --quiet-wait <s>      before each run, wait up to this long for other processes to go
                        below 0.25 cores busy (default 8; 0 = never wait)
  --nice <n>            run servers and generators at this niceness (e.g. -5 to take priority
                        over other work on a shared machine; negative needs root; default 0)`

function parse(): {
  quick: boolean
  rounds: number
  scenarioIds: ScenarioId[]
  systems: SystemName[]
  windowSeconds?: number
  profiled: Set<SystemName>
  cpuProf: boolean
  perf: boolean
  quietWaitMs: number
  nice: number
} {
  let values
  try {
    values = parseArgs({
      strict: true,
      options: {
        quick: { type: 'boolean', default: false },
        rounds: { type: 'string', default: '2' },
        scenarios: { type: 'string', default: 'a,b,c,d' },
        systems: { type: 'string', default: SYSTEM_NAMES.join(',') },
        window: { type: 'string' },
        'cpu-prof': { type: 'boolean', default: false },
        perf: { type: 'boolean', default: false },
        profile: { type: 'string', default: 'partyline' },
        'quiet-wait': { type: 'string', default: '8' },
        nice: { type: 'string', default: '0' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`)
    process.exit(2)
  }
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const fail = (message: string): never => {
    console.error(`bench: ${message}\n${USAGE}`)
    process.exit(2)
  }
  const rounds = Number(values.rounds)
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) fail(`--rounds must be 1 to 10 (got '${values.rounds}')`)
  const scenarioIds = values.scenarios.split(',').map((s) => s.trim())
  for (const id of scenarioIds) if (!['a', 'b', 'c', 'd'].includes(id)) fail(`--scenarios: unknown scenario '${id}'`)
  const systems = values.systems.split(',').map((s) => s.trim())
  for (const s of systems) if (!isSystemName(s)) fail(`--systems: unknown system '${s}'`)
  const windowSeconds = values.window === undefined ? undefined : Number(values.window)
  if (windowSeconds !== undefined && !(windowSeconds > 0 && windowSeconds <= 120)) fail(`--window must be 1 to 120 seconds (got '${values.window}')`)
  const quietWait = Number(values['quiet-wait'])
  if (!(quietWait >= 0 && quietWait <= 300)) fail(`--quiet-wait must be 0 to 300 seconds (got '${values['quiet-wait']}')`)
  const nice = Number(values.nice)
  if (!Number.isInteger(nice) || nice < -20 || nice > 19) fail(`--nice must be an integer from -20 to 19 (got '${values.nice}')`)
  const profiledNames = values.profile.split(',').map((s) => s.trim())
  for (const s of profiledNames) if (!isSystemName(s)) fail(`--profile: unknown system '${s}'`)
  const profiled = new Set<SystemName>(values['cpu-prof'] || values.perf ? (profiledNames as SystemName[]) : [])
  return {
    quick: values.quick,
    rounds,
    scenarioIds: values.quick ? ['a'] : (scenarioIds as ScenarioId[]),
    systems: systems as SystemName[],
    ...(windowSeconds === undefined ? {} : { windowSeconds }),
    profiled,
    cpuProf: values['cpu-prof'],
    perf: values.perf,
    quietWaitMs: quietWait * 1000,
    nice,
  }
}

function machine(): string {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU'
  let nproc = String(availableParallelism())
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim()
  } catch {
    // keep Node's count
  }
  return `nproc ${nproc}, ${cpu}, Node ${process.version}, ${new Date().toISOString()}`
}

function profileFileName(system: SystemName, scenario: ScenarioId, round: number): string {
  return `${system.replace('.', '')}-${scenario}-r${round}.cpuprofile`
}

function timeoutFor(s: Scenario): number {
  const steps = s.ramp?.multipliers.length ?? 1
  return 90_000 + s.warmupMs + steps * (s.warmupMs + s.windowMs + s.drainMs) + 10_000
}

/**
 * Waits (bounded) until the machine is quiet: nothing of ours runs between runs, so what is
 * busy is other people's work. Returns the cores they used in the last second.
 */
async function waitForQuiet(maxMs: number): Promise<number> {
  const deadline = performance.now() + maxMs
  let busy = Number.NaN
  do {
    const before = machineBusySeconds()
    await sleep(1000)
    busy = machineBusySeconds() - before
  } while (busy > QUIET_CORES && performance.now() < deadline)
  return busy
}

interface Profiling {
  readonly cpuProfileDir?: string
  /** perf.data path: record the first measured window with perf. */
  readonly perfFile?: string
}

async function runOne(scenario: Scenario, system: SystemName, round: number, profiling: Profiling): Promise<RunRecord> {
  if (options.quietWaitMs > 0) {
    const others = await waitForQuiet(options.quietWaitMs)
    if (others > QUIET_CORES) console.error(`  machine still busy (${others.toFixed(2)} cores used by others); running anyway`)
  }
  let server
  try {
    server = await startServer(system, {
      core: SERVER_CORE,
      nice: options.nice,
      ...(profiling.cpuProfileDir
        ? { cpuProfileDir: profiling.cpuProfileDir, cpuProfileName: profileFileName(system, scenario.id, round) }
        : {}),
      ...(profiling.perfFile ? { perfMap: true } : {}),
    })
  } catch (error) {
    return { system, round, steps: [], error: (error as Error).message }
  }
  let perf: Promise<string | undefined> | undefined
  try {
    const { id: _id, title: _title, ...workload } = scenario
    const job: GeneratorJob = { ...workload, system, url: server.url, serverPid: server.pid }
    const pid = server.pid
    const onWindow = (windowMs: number): void => {
      if (profiling.perfFile && perf === undefined) perf = recordPerf(pid, Math.max(1, Math.floor(windowMs / 1000)), profiling.perfFile)
    }
    const outcome = await runGenerator(job, { core: GENERATOR_CORE, nice: options.nice }, timeoutFor(scenario), onWindow)
    if (outcome.warnings) console.error(outcome.warnings.replace(/^/gm, `  [${scenario.id} r${round}] `))
    const perfProblem = perf ? await perf : undefined
    if (perfProblem) console.error(`  [${scenario.id} r${round}] ${perfProblem}`)
    const serverErr = outcome.error ? server.stderrTail() : ''
    return {
      system,
      round,
      steps: outcome.steps,
      ...(outcome.error ? { error: `${outcome.error}${serverErr ? `\nserver stderr: ${serverErr}` : ''}` } : {}),
    }
  } finally {
    await perf
    await server.stop()
    // node --perf-basic-prof leaves /tmp/perf-<pid>.map behind (and a V8 log in its working
    // directory); perf report needs the map, so both are removed after the report (below).
    if (profiling.perfFile) {
      perfMaps.push(`/tmp/perf-${server.pid}.map`)
      for (const dir of [ROOT_DIR, BENCH_DIR]) {
        for (const f of readdirSync(dir)) if (f.startsWith('isolate-') && f.endsWith(`-${server.pid}-v8.log`)) perfMaps.push(join(dir, f))
      }
    }
  }
}

function progress(scenario: Scenario, rec: RunRecord): string {
  const last = rec.steps.at(-1)
  if (!last) return `[${scenario.id} r${rec.round}] ${rec.system}: FAILED ${rec.error ?? ''}`
  const r = last.report
  const steps = rec.steps.length > 1 ? ` (${rec.steps.length} steps, last ×${last.multiplier}, ${last.stop ?? ''})` : ''
  return (
    `[${scenario.id} r${rec.round}] ${rec.system}: ${Math.round(r.all.deliveredPerSecond)} f/s, p99 ${r.all.p99Ms.toFixed(2)} ms, ` +
    `srv ${r.server?.usPerFrame.toFixed(1) ?? '?'} µs/frame, gen CPU ${Math.round(r.generator.cpuShare * 100)}%${steps}` +
    (rec.error ? ` — ${rec.error.split('\n')[0]}` : '')
  )
}

const options = parse()
const started = performance.now()
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const resultsDir = join(BENCH_DIR, 'results')
mkdirSync(resultsDir, { recursive: true })
const profileRoot = join(resultsDir, `profiles-${stamp}`)

await buildBench()
let systems = options.systems
const missing = systems.includes('partyline') ? partylineUnavailable() : undefined
if (missing) {
  console.error(`bench: partyline not run: ${missing}`)
  systems = systems.filter((s) => s !== 'partyline')
}

const header = [
  `partyline bench — ${machine()}`,
  `command: npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  `server pinned to core ${SERVER_CORE} (taskset), generator to core ${GENERATOR_CORE}${options.nice ? `, both at nice ${options.nice}` : ''}; ` +
    `${options.rounds} rounds interleaved; systems: ${systems.join(', ')}` +
    (missing ? ` (partyline not run: ${missing})` : ''),
]
console.log(header.join('\n'))

const all: Record<string, RunRecord[]> = {}
/** Profile file name → the run it profiled. */
const profiledRuns = new Map<string, RunRecord>()
/** perf maps written by profiled servers, removed at the end. */
const perfMaps: string[] = []
const output: string[] = [header.join('\n')]
for (const scenario of scenarios({ quick: options.quick, ...(options.windowSeconds ? { windowSeconds: options.windowSeconds } : {}) })) {
  if (!options.scenarioIds.includes(scenario.id)) continue
  console.log(`\n## (${scenario.id}) ${scenario.title}`)
  const records: RunRecord[] = []
  for (let round = 1; round <= options.rounds; round++) {
    for (const system of systems) {
      const profiled = options.profiled.has(system)
      const perfFile = join(profileRoot, profileFileName(system, scenario.id, round).replace('.cpuprofile', '.perf.data'))
      if (profiled) mkdirSync(profileRoot, { recursive: true })
      const rec = await runOne(scenario, system, round, {
        ...(profiled && options.cpuProf ? { cpuProfileDir: profileRoot } : {}),
        ...(profiled && options.perf ? { perfFile } : {}),
      })
      records.push(rec)
      if (profiled) profiledRuns.set(profileFileName(system, scenario.id, round), rec)
      console.error(progress(scenario, rec))
    }
  }
  all[scenario.id] = records
  const tables = scenario.ramp
    ? `${rampTable(records)}\n\n${rampSummary(records, systems)}`
    : `${runTable(records)}\n\n${summaryTable(records, systems)}`
  const block = `\n## (${scenario.id}) ${scenario.title}\n\n${tables}`
  output.push(block)
  console.log(`\n${tables}`)
}

if (options.profiled.size > 0) {
  let files: string[] = []
  try {
    files = readdirSync(profileRoot).filter((f) => f.endsWith('.cpuprofile')).sort()
  } catch {
    // no profile written
  }
  if (files.length === 0 && options.cpuProf) console.log('\nno CPU profile was written (did the server exit cleanly on SIGTERM?)')
  for (const file of files) {
    // Cut each profile to the measured windows of its run: start-up and connecting left out.
    const run = profiledRuns.get(file)
    const spans = run?.steps.map((s) => s.report.monotonicWindowUs) ?? []
    const cut = spans.length > 0 ? { spans } : {}
    const only = file.startsWith('partyline') ? '/src/' : undefined
    const text = formatSelfTime(
      `\nTop self time in ${file}, measured windows only${only ? ', partyline code only' : ''}`,
      topSelfTime(join(profileRoot, file), { limit: 15, ...cut, ...(only ? { only } : {}) }),
    )
    const overall = formatSelfTime(`Top self time in ${file}, measured windows only, everything`, topSelfTime(join(profileRoot, file), { limit: 15, ...cut }))
    console.log(`${text}\n${overall}`)
    output.push(`${text}\n${overall}`)
  }
}

if (options.perf) {
  for (const [name, run] of profiledRuns) {
    const file = join(profileRoot, name.replace('.cpuprofile', '.perf.data'))
    if (!existsSync(file)) continue
    try {
      const own = run.system === 'partyline' ? '/dist/src/' : undefined
      const text = formatPerf(`\nperf, first measured window of ${name.replace('.cpuprofile', '')}:`, await perfReport(file), own)
      console.log(text)
      output.push(text)
    } catch (error) {
      console.error(`perf report of ${file} failed: ${(error as Error).message}`)
    }
  }
}
for (const map of perfMaps) rmSync(map, { force: true })

const minutes = ((performance.now() - started) / 60_000).toFixed(1)
console.log(`\ntotal ${minutes} min; raw results in ${join('results', `run-${stamp}.json`)}`)
writeFileSync(join(resultsDir, `run-${stamp}.json`), JSON.stringify({ header, options: { ...options, profiled: [...options.profiled] }, results: all }, null, 1))
writeFileSync(join(resultsDir, `run-${stamp}.md`), `${output.join('\n')}\n\ntotal ${minutes} min\n`)
