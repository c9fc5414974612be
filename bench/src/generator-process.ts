import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { BENCH_DIR } from './build.js'
import { RESULT_PREFIX, WINDOW_PREFIX, type GeneratorJob, type StepResult } from './job.js'
import { pinnedNode } from './server-process.js'

/**
 * Runs one generator process pinned to `placement.core` and returns the results it printed. Bounded: it is
 * killed after `timeoutMs`; whatever it printed before still counts.
 */
export function runGenerator(
  job: GeneratorJob,
  placement: { core: number; nice: number },
  timeoutMs: number,
  onWindow: (windowMs: number) => void = () => {},
): Promise<GeneratorOutcome> {
  return new Promise((resolve) => {
    const [command, args] = pinnedNode(placement.core, placement.nice, [join(BENCH_DIR, 'build/generate.js'), JSON.stringify(job)])
    const child = spawn(command, args, {
      cwd: BENCH_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (stdout.slice(stdout.lastIndexOf('\n') + 1) + chunk).split('\n').slice(0, -1)
      for (const line of lines) if (line.startsWith(WINDOW_PREFIX)) onWindow(Number(line.slice(WINDOW_PREFIX.length)))
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      const steps = stdout
        .split('\n')
        .filter((line) => line.startsWith(RESULT_PREFIX))
        .map((line) => JSON.parse(line.slice(RESULT_PREFIX.length)) as StepResult)
      const problem = timedOut
        ? `generator killed after ${timeoutMs} ms`
        : code !== 0
          ? `generator exited ${code}: ${stderr.trim().split('\n').slice(-6).join('\n')}`
          : undefined
      resolve({ steps, ...(problem ? { error: problem } : {}), ...(stderr.trim() && !problem ? { warnings: stderr.trim() } : {}) })
    })
  })
}

export interface GeneratorOutcome {
  readonly steps: StepResult[]
  readonly error?: string
  readonly warnings?: string
}
