import { lossRatio, type FloodReport } from '../../src/flood/flood-report.js'
import type { StepResult } from './job.js'
import type { SystemName } from './systems/index.js'

/** One system's outcome in one round of one scenario. */
export interface RunRecord {
  readonly system: SystemName
  readonly round: number
  readonly steps: readonly StepResult[]
  readonly error?: string
}

interface Column<T> {
  readonly head: string
  readonly cell: (row: T) => string
  readonly left?: boolean
}

/** A Markdown table with padded cells, readable in a terminal and pasteable in a README. */
export function markdown<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => c.cell(row)))
  const widths = columns.map((c, i) => Math.max(c.head.length, ...cells.map((r) => r[i]!.length)))
  const line = (values: readonly string[]): string =>
    `| ${values.map((v, i) => (columns[i]!.left ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (columns[i]!.left ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(columns.map((c) => c.head)), rule, ...cells.map(line)].join('\n')
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const num = (x: number | undefined, digits = 0): string =>
  x === undefined || !Number.isFinite(x) ? '–' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ms = (x: number | undefined): string => (x === undefined ? '–' : num(x, x < 10 ? 2 : 1))
/** Bytes as KiB; undefined for a figure not measured (NaN, or null once it went through JSON). */
const kib = (bytes: number | null | undefined): number | undefined => (typeof bytes === 'number' && Number.isFinite(bytes) ? bytes / 1024 : undefined)
const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${Math.round(x * 100)}%`)
const mib = (x: number | undefined): string => (x === undefined ? '–' : num(x / 1024 / 1024, 1))
const ratio = (x: number, base: number): string => (Number.isFinite(x) && Number.isFinite(base) && base > 0 ? `${(x / base).toFixed(2)}×` : '–')

function note(r: FloodReport): string {
  const notes: string[] = []
  if (r.generator.bound) notes.push('GENERATOR-BOUND')
  if (r.generator.lateSends > 0.01 * r.generator.scheduledSends) notes.push(`${r.generator.lateSends} late sends`)
  if (r.disconnects > 0) notes.push(`${r.disconnects} disconnects`)
  if (r.machine.otherCores > 0.2) notes.push('noisy')
  return notes.join(', ')
}

/** Rows for scenarios with one window per run (a, c, d). */
export function runTable(records: readonly RunRecord[]): string {
  type Row = { system: string; round: number; r?: FloodReport; error?: string }
  const rows: Row[] = records.map((rec) => {
    const r = rec.steps[0]?.report
    return { system: rec.system, round: rec.round, ...(r ? { r } : {}), ...(rec.error ? { error: rec.error.split('\n')[0]! } : {}) }
  })
  return markdown(rows, [
    { head: 'system', cell: (x) => x.system, left: true },
    { head: 'rnd', cell: (x) => String(x.round) },
    { head: 'down f/s', cell: (x) => num(x.r?.down.deliveredPerSecond) },
    { head: 'up f/s', cell: (x) => num(x.r?.up.deliveredPerSecond) },
    { head: 'lost', cell: (x) => (x.r ? `${x.r.all.lost} (${(lossRatio(x.r.all) * 100).toFixed(2)}%)` : '–') },
    { head: 'reord', cell: (x) => num(x.r?.all.reordered) },
    { head: 'p50 ms', cell: (x) => ms(x.r?.all.p50Ms) },
    { head: 'p90 ms', cell: (x) => ms(x.r?.all.p90Ms) },
    { head: 'p99 ms', cell: (x) => ms(x.r?.all.p99Ms) },
    { head: 'max ms', cell: (x) => ms(x.r?.all.maxMs) },
    { head: 'srv µs/frame', cell: (x) => num(x.r?.server?.usPerFrame, 1) },
    { head: 'srv CPU', cell: (x) => pct(x.r?.server?.cpuShare) },
    { head: 'kernel', cell: (x) => pct(x.r?.server?.kernelShare) },
    { head: 'peak RSS MiB', cell: (x) => mib(x.r?.server?.peakRssBytes) },
    { head: 'KiB/conn', cell: (x) => num(x.r?.server ? x.r.server.rssPerConnectionBytes / 1024 : undefined, 1) },
    { head: 'marginal KiB/conn', cell: (x) => num(kib(x.r?.server?.marginalRssPerConnectionBytes), 1) },
    { head: 'writes/frame', cell: (x) => num(x.r?.server?.writeSyscallsPerFrame, 2) },
    { head: 'gen CPU', cell: (x) => pct(x.r?.generator.cpuShare) },
    { head: 'others', cell: (x) => num(x.r?.machine.otherCores, 2) },
    { head: 'note', cell: (x) => x.error ?? (x.r ? note(x.r) : ''), left: true },
  ])
}

/** Medians over rounds per system, with ratios to the first system (the bare ws relay). */
export function summaryTable(records: readonly RunRecord[], systems: readonly SystemName[]): string {
  const med = (system: SystemName, pick: (r: FloodReport) => number | undefined): number =>
    median(
      records
        .filter((rec) => rec.system === system && rec.steps[0])
        .map((rec) => pick(rec.steps[0]!.report) ?? Number.NaN),
    )
  const base = systems[0]!
  const baseUs = med(base, (r) => r.server?.usPerFrame)
  const baseP99 = med(base, (r) => r.all.p99Ms)
  return markdown(systems, [
    { head: 'system (median of rounds)', cell: (s) => s, left: true },
    { head: 'srv µs/frame', cell: (s) => num(med(s, (r) => r.server?.usPerFrame), 1) },
    { head: `× ${base}`, cell: (s) => ratio(med(s, (r) => r.server?.usPerFrame), baseUs) },
    { head: 'p99 ms', cell: (s) => ms(med(s, (r) => r.all.p99Ms)) },
    { head: `× ${base} `, cell: (s) => ratio(med(s, (r) => r.all.p99Ms), baseP99) },
    { head: 'kernel', cell: (s) => pct(med(s, (r) => r.server?.kernelShare)) },
    { head: 'delivered f/s', cell: (s) => num(med(s, (r) => r.all.deliveredPerSecond)) },
    { head: 'loss', cell: (s) => `${(med(s, (r) => lossRatio(r.all)) * 100).toFixed(2)}%` },
    { head: 'peak RSS MiB', cell: (s) => mib(med(s, (r) => r.server?.peakRssBytes)) },
    { head: 'KiB/conn', cell: (s) => num(med(s, (r) => (r.server ? r.server.rssPerConnectionBytes / 1024 : undefined)), 1) },
    { head: 'marginal KiB/conn', cell: (s) => num(med(s, (r) => kib(r.server?.marginalRssPerConnectionBytes)), 1) },
    { head: 'writes/frame', cell: (s) => num(med(s, (r) => r.server?.writeSyscallsPerFrame), 2) },
    { head: 'gen CPU', cell: (s) => pct(med(s, (r) => r.generator.cpuShare)) },
  ])
}

/** The saturation ramp: the highest sustained step of each run, and what stopped it. */
export function rampTable(records: readonly RunRecord[]): string {
  return markdown(records, [
    { head: 'system', cell: (x) => x.system, left: true },
    { head: 'rnd', cell: (x) => String(x.round) },
    { head: 'max sustained f/s', cell: (x) => num(best(x)?.report.all.deliveredPerSecond) },
    { head: "at rate ×", cell: (x) => num(best(x)?.multiplier, 1) },
    { head: 'p99 ms', cell: (x) => ms(best(x)?.report.all.p99Ms) },
    { head: 'srv CPU', cell: (x) => pct(best(x)?.report.server?.cpuShare) },
    { head: 'srv µs/frame', cell: (x) => num(best(x)?.report.server?.usPerFrame, 1) },
    { head: 'gen CPU', cell: (x) => pct(best(x)?.report.generator.cpuShare) },
    { head: 'stopped by', cell: (x) => x.error?.split('\n')[0] ?? stopText(x), left: true },
  ])
}

export function rampSummary(records: readonly RunRecord[], systems: readonly SystemName[]): string {
  const med = (system: SystemName, pick: (s: StepResult) => number | undefined): number =>
    median(records.filter((r) => r.system === system).map((r) => { const b = best(r); return b ? pick(b) ?? Number.NaN : Number.NaN }))
  const base = systems[0]!
  const baseRate = med(base, (s) => s.report.all.deliveredPerSecond)
  return markdown(systems, [
    { head: 'system (median of rounds)', cell: (s) => s, left: true },
    { head: 'max sustained f/s', cell: (s) => num(med(s, (b) => b.report.all.deliveredPerSecond)) },
    { head: `× ${base}`, cell: (s) => ratio(med(s, (b) => b.report.all.deliveredPerSecond), baseRate) },
    { head: 'srv CPU there', cell: (s) => pct(med(s, (b) => b.report.server?.cpuShare)) },
    { head: 'srv µs/frame there', cell: (s) => num(med(s, (b) => b.report.server?.usPerFrame), 1) },
    { head: '1-core ceiling f/s (1e6/µs)', cell: (s) => num(1e6 / med(s, (b) => b.report.server?.usPerFrame)) },
    {
      head: 'limited by',
      cell: (s) => [...new Set(records.filter((r) => r.system === s).map((r) => r.error ? 'error' : r.steps.at(-1)?.stop ?? '?'))].join(', '),
      left: true,
    },
  ])
}

function best(rec: RunRecord): StepResult | undefined {
  return rec.steps.filter((s) => s.sustained).at(-1)
}

function stopText(rec: RunRecord): string {
  const last = rec.steps.at(-1)
  if (!last?.stop) return ''
  const r = last.report
  const at = `at ×${last.multiplier}: ${num(r.all.deliveredPerSecond)} f/s, p99 ${ms(r.all.p99Ms)} ms, loss ${(lossRatio(r.all) * 100).toFixed(2)}%, gen CPU ${pct(r.generator.cpuShare)}`
  switch (last.stop) {
    case 'generator':
      return `generator at its limit (${at})`
    case 'last step':
      return 'highest step passed'
    default:
      return `${last.stop} (${at})`
  }
}
