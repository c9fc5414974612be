/**
 * The functions with the most self time in a V8 `.cpuprofile` (as written by `node --cpu-prof`).
 * Usage: `npm run profile-top -- <file.cpuprofile> [--only <url substring>] [--limit <n>]`.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly startTime: number
  readonly endTime: number
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface SelfTime {
  readonly functionName: string
  /** `path:line` (1-based line of the running file, i.e. compiled JS for dist/). */
  readonly where: string
  readonly selfMs: number
  /** Share of the busy (non-idle) time. */
  readonly share: number
}

/** A span on CLOCK_MONOTONIC in µs (the clock of the profile's `startTime`). */
export interface Span {
  readonly start: number
  readonly end: number
}

/**
 * Self time per function. `only` keeps functions whose location contains it; `spans` keeps
 * samples taken inside them (e.g. the measured windows, leaving out start-up and connecting).
 */
export function topSelfTime(
  file: string,
  options: { only?: string; limit?: number; spans?: readonly Span[] } = {},
): { busyMs: number; rows: SelfTime[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<string, { functionName: string; where: string; us: number }>()
  let busyUs = 0
  let at = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0
    const node = byId.get(profile.samples[i]!)
    if (!node) continue
    if (options.spans && !options.spans.some((s) => at >= s.start && at < s.end)) continue
    // A sample stands for the interval until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') continue
    busyUs += us
    const where = url ? `${shortPath(url)}:${lineNumber + 1}` : ''
    const key = `${functionName}@${where}`
    const entry = self.get(key) ?? { functionName: functionName || '(anonymous)', where, us: 0 }
    entry.us += us
    self.set(key, entry)
  }
  const rows = [...self.values()]
    .filter((e) => options.only === undefined || e.where.includes(options.only))
    .sort((a, b) => b.us - a.us)
    .slice(0, options.limit ?? 20)
    .map((e) => ({ functionName: e.functionName, where: e.where, selfMs: e.us / 1000, share: busyUs > 0 ? e.us / busyUs : 0 }))
  return { busyMs: busyUs / 1000, rows }
}

export function formatSelfTime(title: string, top: { busyMs: number; rows: SelfTime[] }): string {
  const lines = [`${title} — busy ${top.busyMs.toFixed(0)} ms`]
  for (const r of top.rows) {
    lines.push(`  ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.functionName}  ${r.where}`)
  }
  return lines.join('\n')
}

function shortPath(url: string): string {
  return url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '~/').replace(/^.*\/work\/main\//, '')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { only: { type: 'string' }, limit: { type: 'string', default: '25' } },
  })
  for (const file of positionals) {
    const only = values.only
    console.log(formatSelfTime(file, topSelfTime(file, { ...(only ? { only } : {}), limit: Number(values.limit) })))
  }
}
