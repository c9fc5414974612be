/** The figures of one measured window, as the flood and the benchmark print them. */

/** One direction: host → players (`down`) or players → host (`up`). */
export interface DirectionFigures {
  /** Deliveries owed for frames sent in the window (a broadcast to 8 players owes 8). */
  readonly expected: number
  /** Of those, deliveries that arrived (within the drain time after the window). */
  readonly delivered: number
  readonly deliveredPerSecond: number
  readonly lost: number
  /** Frames that arrived after a later frame of the same sender. */
  readonly reordered: number
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

export interface ServerFigures {
  /** CPU time over the window divided by wall time (1 = one core busy). */
  readonly cpuShare: number
  /** Server CPU time per delivered frame, in µs: the figure least moved by a noisy machine. */
  readonly usPerFrame: number
  /** Share of that CPU spent in the kernel (system calls, TCP): what a relay cannot avoid. */
  readonly kernelShare: number
  readonly rssBytes: number
  readonly peakRssBytes: number
  /** (RSS with everyone connected − RSS before the first connection) / connections. */
  readonly rssPerConnectionBytes: number
  /**
   * RSS growth per connection from half the rooms connected to all of them, sampled as the
   * connections open (before traffic): the cost of one more connection, without the growth
   * a process shows anyway (heap sizing, compiled code). NaN when not measured.
   */
  readonly marginalRssPerConnectionBytes: number
  /** Write-family syscalls per delivered frame; NaN when /proc/<pid>/io is unreadable. */
  readonly writeSyscallsPerFrame: number
}

export interface GeneratorFigures {
  /** The load generator's CPU over the window (1 = one core busy). */
  readonly cpuShare: number
  readonly loopDelayP99Ms: number
  /** Sends the schedule called for in the window (every host and player at its rate). */
  readonly scheduledSends: number
  /** Sends skipped because the generator fell behind its schedule (overloaded or starved). */
  readonly lateSends: number
  /** Sends skipped because the connection's send buffer was over the limit. */
  readonly backpressured: number
  /** The generator used nearly a whole core: it, not the server, probably limited this run. */
  readonly bound: boolean
}

/** The whole machine over the window, to tell a noisy run from a slow system. */
export interface MachineFigures {
  /** Cores' worth of CPU busy on the machine (all processes, steal included). */
  readonly busyCores: number
  /** Of that, what neither the generator nor the measured server used: other tenants. */
  readonly otherCores: number
}

export interface FloodReport {
  readonly system: string
  readonly rooms: number
  readonly players: number
  readonly connections: number
  readonly hostHz: number
  readonly playerHz: number
  readonly hostBytes: number
  readonly playerBytes: number
  readonly windowSeconds: number
  /**
   * The window on CLOCK_MONOTONIC in µs, the clock V8 stamps `--cpu-prof` samples with, so a
   * server's profile can be cut to the measured window.
   */
  readonly monotonicWindowUs: { readonly start: number; readonly end: number }
  readonly down: DirectionFigures
  readonly up: DirectionFigures
  /** Both directions together. */
  readonly all: DirectionFigures
  readonly generator: GeneratorFigures
  readonly server?: ServerFigures
  readonly machine: MachineFigures
  /** Links that closed during the run without being asked to. */
  readonly disconnects: number
}

/** A generator above this share of one core is treated as the bottleneck. */
export const GENERATOR_BOUND_CPU_SHARE = 0.9

export function lossRatio(d: DirectionFigures): number {
  return d.expected === 0 ? 0 : d.lost / d.expected
}

/** A human-readable block for the `partyline flood` command. */
export function formatReport(r: FloodReport): string {
  const lines = [
    `${r.system}: ${r.rooms} rooms × ${r.players} players (${r.connections} connections), ` +
      `host ${r.hostHz} Hz × ${r.hostBytes} B, players ${r.playerHz} Hz × ${r.playerBytes} B, ` +
      `${r.windowSeconds.toFixed(1)} s window`,
    direction('host → players', r.down),
    direction('players → host', r.up),
    direction('both', r.all),
    `  generator: CPU ${percent(r.generator.cpuShare)} of a core, loop delay p99 ${r.generator.loopDelayP99Ms.toFixed(1)} ms, ` +
      `late sends ${r.generator.lateSends}, held back ${r.generator.backpressured}` +
      (r.generator.bound ? '  ** generator-bound: figures understate the server **' : ''),
  ]
  if (r.server) {
    const s = r.server
    lines.push(
      `  server: CPU ${percent(s.cpuShare)} of a core (${percent(s.kernelShare)} of it in the kernel), ${s.usPerFrame.toFixed(2)} µs per delivered frame, ` +
        `${s.writeSyscallsPerFrame.toFixed(2)} write syscalls per frame, ` +
        `RSS ${mib(s.rssBytes)} (peak ${mib(s.peakRssBytes)}), ${(s.rssPerConnectionBytes / 1024).toFixed(1)} KiB per connection ` +
          `(${(s.marginalRssPerConnectionBytes / 1024).toFixed(1)} KiB for each connection past the first half)`,
    )
  } else {
    lines.push('  server: not measured (give --pid of the server process on this machine)')
  }
  lines.push(
    `  machine: ${r.machine.busyCores.toFixed(2)} cores busy, ${r.machine.otherCores.toFixed(2)} of them neither the generator` +
      (r.server ? ' nor the server' : ''),
  )
  if (r.disconnects > 0) lines.push(`  disconnects: ${r.disconnects}`)
  return lines.join('\n')
}

function direction(label: string, d: DirectionFigures): string {
  return (
    `  ${label.padEnd(15)} ${Math.round(d.deliveredPerSecond).toString().padStart(8)} frames/s, ` +
    `lost ${d.lost} (${percent(lossRatio(d), 3)}), reordered ${d.reordered}, ` +
    `latency p50 ${ms(d.p50Ms)} p90 ${ms(d.p90Ms)} p99 ${ms(d.p99Ms)} max ${ms(d.maxMs)}`
  )
}

function percent(x: number, digits = 0): string {
  return `${(x * 100).toFixed(digits)}%`
}

function ms(x: number): string {
  return `${x.toFixed(x < 10 ? 2 : 1)} ms`
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
