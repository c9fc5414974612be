import { readFileSync } from 'node:fs'

/**
 * What Linux says about a process at one instant, from /proc/<pid>/{stat,status,io}.
 * CPU is utime + stime of all its threads (GC and libuv workers included).
 */
export interface ProcSample {
  /** `performance.now()` when the sample was taken. */
  readonly at: number
  readonly cpuSeconds: number
  /** Of `cpuSeconds`, the time spent in the kernel on the process's behalf (stime). */
  readonly kernelSeconds: number
  readonly rssBytes: number
  /** Peak resident set size so far (VmHWM). */
  readonly peakRssBytes: number
  /** Write-family system calls so far (`syscw`); NaN when /proc/<pid>/io is not readable. */
  readonly writeSyscalls: number
}

// USER_HZ, the unit of utime/stime in /proc/<pid>/stat, is 100 on every Linux ABI Node runs on.
const TICKS_PER_SECOND = 100

/** Reads the sample; throws if the process does not exist or /proc is unavailable. */
export function sampleProcess(pid: number): ProcSample {
  const at = performance.now()
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const userTicks = Number(fields[11]) // utime (field 14)
  const kernelTicks = Number(fields[12]) // stime (field 15)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return {
    at,
    cpuSeconds: (userTicks + kernelTicks) / TICKS_PER_SECOND,
    kernelSeconds: kernelTicks / TICKS_PER_SECOND,
    rssBytes: kibField(status, 'VmRSS') * 1024,
    peakRssBytes: kibField(status, 'VmHWM') * 1024,
    writeSyscalls: writeSyscallsOf(pid),
  }
}

/** CPU time the whole machine spent busy (all cores, steal included), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? ''
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}


function kibField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status)
  return match ? Number(match[1]) : Number.NaN
}

function writeSyscallsOf(pid: number): number {
  try {
    const match = /^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))
    return match ? Number(match[1]) : Number.NaN
  } catch {
    return Number.NaN
  }
}
