import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'

/**
 * Linux `perf` sampling of a server during a measured window. Unlike V8's `--cpu-prof` (which
 * on Node 20 books most of the work done in I/O callbacks as "(idle)"), perf sees every CPU
 * cycle the process spends, kernel included; with `node --perf-basic-prof` it names JS
 * functions too (`JS:*name file:line`).
 */
export function recordPerf(pid: number, seconds: number, output: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '999', '-p', String(pid), '-o', output, '--', 'sleep', String(seconds)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)))
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 10) * 1000)
    child.once('error', (error) => {
      clearTimeout(timer)
      resolve(`perf could not run: ${error.message}`)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code === 0 ? undefined : `perf record exited ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`)
    })
  })
}

export interface PerfRow {
  readonly share: number
  readonly dso: string
  readonly symbol: string
}

/** Self time by symbol, highest first (`perf report --no-children --sort dso,sym`). */
export async function perfReport(file: string): Promise<PerfRow[]> {
  const { stdout } = await promisify(execFile)('perf', ['report', '-i', file, '--no-children', '--sort', 'dso,sym', '--stdio'], {
    maxBuffer: 64 * 1024 * 1024,
  })
  const rows: PerfRow[] = []
  for (const line of stdout.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(\S.*?)\s{2,}\[[.k]\]\s+(.*)$/.exec(line)
    if (m) rows.push({ share: Number(m[1]) / 100, dso: m[2]!.trim(), symbol: m[3]!.trim() })
  }
  return rows
}

/** A readable summary: where the time goes by kind, the top symbols, and the top in `ownCode`. */
export function formatPerf(title: string, rows: readonly PerfRow[], ownCode: string | undefined): string {
  const kind = (r: PerfRow): string =>
    r.dso.includes('kernel') ? 'kernel' : r.dso.startsWith('[JIT]') ? 'JavaScript (JIT)' : r.dso === 'node' ? 'node binary (V8, libuv, builtins)' : r.dso
  const byKind = new Map<string, number>()
  for (const r of rows) byKind.set(kind(r), (byKind.get(kind(r)) ?? 0) + r.share)
  const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)}%`
  const lines = [title, '  by kind: ' + [...byKind].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k} ${pct(v).trim()}`).join(', ')]
  lines.push('  top symbols:')
  for (const r of rows.slice(0, 20)) lines.push(`    ${pct(r.share)}  ${r.symbol}  (${r.dso})`)
  if (ownCode !== undefined) {
    const own = rows.filter((r) => r.symbol.includes(ownCode))
    const total = own.reduce((n, r) => n + r.share, 0)
    lines.push(`  in ${ownCode} (JIT-compiled functions; ${pct(total).trim()} in all):`)
    for (const r of own.slice(0, 20)) lines.push(`    ${pct(r.share)}  ${r.symbol.replace(/^JS:\*?/, '').replace(/file:\/\/\/?\S*?\/work\/main\//, '')}`)
  }
  return lines.join('\n')
}
