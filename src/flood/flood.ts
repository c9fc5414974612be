import { monitorEventLoopDelay } from 'node:perf_hooks'
import { forEachBounded, sleep, waitUntil, withTimeout } from './bounded.js'
import {
  GENERATOR_BOUND_CPU_SHARE,
  type DirectionFigures,
  type FloodReport,
  type ServerFigures,
} from './flood-report.js'
import { LatencyHistogram } from './latency-histogram.js'
import type { HostLink, PartySystem, PlayerLink } from './party-system.js'
import { readStamp, stampFrame, PAYLOAD_HEADER_BYTES } from './payload.js'
import { machineBusySeconds, sampleProcess, type ProcSample } from './proc-sample.js'
import { SendSchedule, type PacedSender } from './send-schedule.js'

/** The party to play: `rooms` rooms of one host and `players` players. */
export interface FloodPlan {
  readonly rooms: number
  readonly players: number
  /** Broadcasts per second from each host. */
  readonly hostHz: number
  /** Frames per second from each player to its host. */
  readonly playerHz: number
  readonly hostBytes: number
  readonly playerBytes: number
}

export interface FloodOptions {
  /** The server's pid on this machine, to read its CPU, memory and syscalls from /proc. */
  readonly serverPid?: number
  /** Rooms connecting at once (each with its players). */
  readonly connectConcurrency?: number
  /** Bound on each room's or player's connection. */
  readonly connectTimeoutMs?: number
  /** A link whose send buffer holds more than this skips its sends (counted). */
  readonly maxBufferedBytes?: number
}

export interface MeasureOptions {
  readonly windowMs: number
  /** How long after the window frames sent in it may still arrive; later ones are lost. */
  readonly drainMs: number
}

/** Sampling period of the event-loop delay monitor; Node's histogram includes it. */
const LOOP_DELAY_RESOLUTION_MS = 5

const DEFAULTS = { connectConcurrency: 50, connectTimeoutMs: 15_000, maxBufferedBytes: 4 * 1024 * 1024 }

/** Counters for frames sent inside one window [t0, t1). */
class Tally {
  t1 = Number.POSITIVE_INFINITY
  downExpected = 0
  downDelivered = 0
  downReordered = 0
  upExpected = 0
  upDelivered = 0
  upReordered = 0
  readonly down = new LatencyHistogram()
  readonly up = new LatencyHistogram()
  constructor(readonly t0: number) {}
  covers(sentAt: number): boolean {
    return sentAt >= this.t0 && sentAt < this.t1
  }
}

interface PlayerSlot {
  link: PlayerLink | undefined
  /** Highest host sequence number seen by this player. */
  maxHostSeq: number
  seq: number
}

interface RoomSlot {
  readonly index: number
  link: HostLink | undefined
  readonly players: PlayerSlot[]
  /** Highest sequence number the host saw from each player. */
  readonly maxPlayerSeq: Float64Array
  openPlayers: number
  seq: number
}

/**
 * A load generator that plays a party game against any `PartySystem`: every host broadcasts
 * stamped frames to its players at `hostHz`, every player sends stamped frames to its host at
 * `playerHz`, and each measured window reports throughput, loss, reordering and latency both
 * ways, plus the server's CPU, memory and write syscalls when its pid is known.
 *
 * @example
 * const flood = new Flood(new PartylineSystem('ws://127.0.0.1:8081'), plan, { serverPid })
 * await flood.connect()
 * flood.start()
 * await sleep(2000) // warm-up
 * console.log(formatReport(await flood.measure({ windowMs: 10_000, drainMs: 1000 })))
 * await flood.close()
 */
export class Flood {
  readonly #system: PartySystem
  readonly #plan: FloodPlan
  readonly #options: Required<Omit<FloodOptions, 'serverPid'>> & { serverPid?: number }
  readonly #rooms: RoomSlot[] = []
  readonly #schedule = new SendSchedule()
  readonly #loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS })
  #hostHz: number
  #playerHz: number
  #tally: Tally | undefined
  #serverBaseline: ProcSample | undefined
  #marginalRssPerConnection = Number.NaN
  #closing = false
  #disconnects = 0
  #backpressured = 0
  #malformed = 0

  constructor(system: PartySystem, plan: FloodPlan, options: FloodOptions = {}) {
    if (plan.hostBytes < PAYLOAD_HEADER_BYTES || plan.playerBytes < PAYLOAD_HEADER_BYTES) {
      throw new RangeError(`frames must be at least ${PAYLOAD_HEADER_BYTES} bytes`)
    }
    this.#system = system
    this.#plan = plan
    this.#options = { ...DEFAULTS, ...options }
    this.#hostHz = plan.hostHz
    this.#playerHz = plan.playerHz
  }

  get connections(): number {
    return this.#rooms.reduce((n, r) => n + (r.link ? 1 : 0) + r.openPlayers, 0)
  }

  /** Opens every room, then its players; rejects on the first refusal or timeout. */
  async connect(): Promise<void> {
    const { serverPid } = this.#options
    if (serverPid !== undefined) this.#serverBaseline = sampleProcess(serverPid)
    const { rooms, players } = this.#plan
    for (let r = 0; r < rooms; r++) {
      this.#rooms.push({
        index: r,
        link: undefined,
        players: Array.from({ length: players }, () => ({ link: undefined, maxHostSeq: -1, seq: 0 })),
        maxPlayerSeq: new Float64Array(players).fill(-1),
        openPlayers: 0,
        seq: 0,
      })
    }
    // Half the rooms, a sample, the other half, a sample: the slope between the two is what one
    // more connection costs, free of what the process grows by anyway (heap sizing, code).
    const half = Math.floor(rooms / 2)
    await this.#connectRooms(0, half)
    const atHalf = serverPid === undefined || half === 0 ? undefined : { sample: sampleProcess(serverPid), connections: this.connections }
    await this.#connectRooms(half, rooms)
    if (atHalf && serverPid !== undefined) {
      const connected = sampleProcess(serverPid)
      const added = this.connections - atHalf.connections
      this.#marginalRssPerConnection = added > 0 ? (connected.rssBytes - atHalf.sample.rssBytes) / added : Number.NaN
    }
    for (const room of this.#rooms) this.#addSenders(room)
  }

  async #connectRooms(from: number, to: number): Promise<void> {
    const { connectConcurrency, connectTimeoutMs } = this.#options
    const players = this.#plan.players
    await forEachBounded(to - from, connectConcurrency, async (i) => {
      const r = from + i
      const room = this.#rooms[r]!
      room.link = await withTimeout(
        this.#system.openRoom(
          { maxPlayers: players },
          {
            onPlayerFrame: (data) => this.#onPlayerFrame(room, data),
            onClose: () => this.#onHostClosed(room),
          },
        ),
        connectTimeoutMs,
        `${this.#system.name}: opening room ${r}`,
      )
      await Promise.all(
        room.players.map(async (slot, p) => {
          slot.link = await withTimeout(
            this.#system.joinRoom(room.link!, {
              onHostFrame: (data) => this.#onHostFrame(slot, data),
              onClose: () => this.#onPlayerClosed(room, slot),
            }),
            connectTimeoutMs,
            `${this.#system.name}: player ${p} joining room ${r}`,
          )
          room.openPlayers += 1
        }),
      )
    })
  }

  /** Starts sending at the plan's rates (or the last `setRates`). */
  start(): void {
    this.#loopDelay.enable()
    this.#schedule.start()
  }

  /** Changes both rates; every sender restarts at a random phase. */
  setRates(hostHz: number, playerHz: number): void {
    if (!(hostHz > 0 && playerHz > 0)) throw new RangeError('rates must be positive')
    this.#hostHz = hostHz
    this.#playerHz = playerHz
    this.#schedule.start()
  }

  /** Counts frames sent during the next `windowMs`, waits `drainMs` for stragglers, reports. */
  async measure(options: MeasureOptions): Promise<FloodReport> {
    const pid = this.#options.serverPid
    const tally = new Tally(performance.now())
    this.#tally = tally
    const monotonicStartUs = monotonicUs()
    const server0 = pid === undefined ? undefined : sampleProcess(pid)
    const cpu0 = process.cpuUsage()
    const machine0 = machineBusySeconds()
    const late0 = this.#schedule.lateSends
    const held0 = this.#backpressured
    const disconnects0 = this.#disconnects
    this.#loopDelay.reset()
    await sleep(options.windowMs)
    tally.t1 = performance.now()
    const monotonicEndUs = monotonicUs()
    const server1 = pid === undefined ? undefined : sampleProcess(pid)
    const cpu = process.cpuUsage(cpu0)
    const machineBusy = machineBusySeconds() - machine0
    const loopDelayP99Ms = Math.max(0, this.#loopDelay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS)
    const lateSends = this.#schedule.lateSends - late0
    const backpressured = this.#backpressured - held0
    await sleep(options.drainMs)
    this.#tally = undefined

    const seconds = (tally.t1 - tally.t0) / 1000
    const down = figures(tally.downExpected, tally.downDelivered, tally.downReordered, tally.down, seconds)
    const up = figures(tally.upExpected, tally.upDelivered, tally.upReordered, tally.up, seconds)
    const both = new LatencyHistogram()
    both.merge(tally.down)
    both.merge(tally.up)
    const all = figures(
      tally.downExpected + tally.upExpected,
      tally.downDelivered + tally.upDelivered,
      tally.downReordered + tally.upReordered,
      both,
      seconds,
    )
    const cpuShare = (cpu.user + cpu.system) / 1e6 / seconds
    const serverCpu = server0 && server1 ? server1.cpuSeconds - server0.cpuSeconds : 0
    const scheduled = (this.#plan.rooms * this.#hostHz + this.#plan.rooms * this.#plan.players * this.#playerHz) * seconds
    return {
      system: this.#system.name,
      rooms: this.#plan.rooms,
      players: this.#plan.players,
      connections: this.connections,
      hostHz: this.#hostHz,
      playerHz: this.#playerHz,
      hostBytes: this.#plan.hostBytes,
      playerBytes: this.#plan.playerBytes,
      windowSeconds: seconds,
      monotonicWindowUs: { start: monotonicStartUs, end: monotonicEndUs },
      down,
      up,
      all,
      generator: {
        cpuShare,
        loopDelayP99Ms,
        lateSends,
        backpressured,
        scheduledSends: Math.round(scheduled),
        bound: cpuShare >= GENERATOR_BOUND_CPU_SHARE,
      },
      ...(server0 && server1 ? { server: this.#serverFigures(server0, server1, all.delivered) } : {}),
      machine: {
        busyCores: machineBusy / seconds,
        otherCores: Math.max(0, machineBusy - serverCpu - cpuShare * seconds) / seconds,
      },
      disconnects: this.#disconnects - disconnects0,
    }
  }

  /** Stops sending and closes every link; waits (bounded) for the closes to land. */
  async close(): Promise<void> {
    this.#closing = true
    this.#schedule.stop()
    this.#loopDelay.disable()
    for (const room of this.#rooms) {
      for (const slot of room.players) slot.link?.close()
    }
    await waitUntil(() => this.#rooms.every((r) => r.openPlayers === 0), 3000)
    for (const room of this.#rooms) room.link?.close()
    await waitUntil(() => this.#rooms.every((r) => r.link === undefined), 3000)
  }

  /** Frames whose first bytes did not parse as a stamp (a system mangled them). */
  get malformed(): number {
    return this.#malformed
  }

  #addSenders(room: RoomSlot): void {
    const flood = this
    const plan = this.#plan
    const maxBuffered = this.#options.maxBufferedBytes
    this.#schedule.add({
      due: 0,
      get periodMs() {
        return 1000 / flood.#hostHz
      },
      fire(now) {
        const link = room.link
        if (link === undefined) return
        if (link.bufferedBytes() > maxBuffered) {
          flood.#backpressured += 1
          return
        }
        link.broadcast(stampFrame(plan.hostBytes, room.index, room.seq++, now))
        const tally = flood.#tally
        if (tally !== undefined && tally.covers(now)) tally.downExpected += room.openPlayers
      },
    } satisfies PacedSender)
    room.players.forEach((slot, p) => {
      const sender = room.index * plan.players + p
      this.#schedule.add({
        due: 0,
        get periodMs() {
          return 1000 / flood.#playerHz
        },
        fire(now) {
          const link = slot.link
          if (link === undefined || room.link === undefined) return
          if (link.bufferedBytes() > maxBuffered) {
            flood.#backpressured += 1
            return
          }
          link.send(stampFrame(plan.playerBytes, sender, slot.seq++, now))
          const tally = flood.#tally
          if (tally !== undefined && tally.covers(now)) tally.upExpected += 1
        },
      } satisfies PacedSender)
    })
  }

  #onHostFrame(slot: PlayerSlot, data: Uint8Array): void {
    const now = performance.now()
    const stamp = readStamp(data)
    if (stamp === undefined) {
      this.#malformed += 1
      return
    }
    const reordered = stamp.seq <= slot.maxHostSeq
    if (!reordered) slot.maxHostSeq = stamp.seq
    const tally = this.#tally
    if (tally === undefined || !tally.covers(stamp.sentAt)) return
    tally.downDelivered += 1
    if (reordered) tally.downReordered += 1
    tally.down.record((now - stamp.sentAt) * 1000)
  }

  #onPlayerFrame(room: RoomSlot, data: Uint8Array): void {
    const now = performance.now()
    const stamp = readStamp(data)
    const local = stamp === undefined ? -1 : stamp.sender - room.index * this.#plan.players
    if (stamp === undefined || local < 0 || local >= this.#plan.players) {
      this.#malformed += 1
      return
    }
    const reordered = stamp.seq <= room.maxPlayerSeq[local]!
    if (!reordered) room.maxPlayerSeq[local] = stamp.seq
    const tally = this.#tally
    if (tally === undefined || !tally.covers(stamp.sentAt)) return
    tally.upDelivered += 1
    if (reordered) tally.upReordered += 1
    tally.up.record((now - stamp.sentAt) * 1000)
  }

  #onHostClosed(room: RoomSlot): void {
    if (room.link === undefined) return
    room.link = undefined
    if (!this.#closing) this.#disconnects += 1
  }

  #onPlayerClosed(room: RoomSlot, slot: PlayerSlot): void {
    if (slot.link === undefined) return
    slot.link = undefined
    room.openPlayers -= 1
    if (!this.#closing) this.#disconnects += 1
  }

  #serverFigures(s0: ProcSample, s1: ProcSample, delivered: number): ServerFigures {
    const seconds = (s1.at - s0.at) / 1000
    const cpu = s1.cpuSeconds - s0.cpuSeconds
    const baseline = this.#serverBaseline ?? s0
    const connections = Math.max(1, this.connections)
    return {
      cpuShare: cpu / seconds,
      usPerFrame: delivered > 0 ? (cpu * 1e6) / delivered : Number.NaN,
      kernelShare: cpu > 0 ? (s1.kernelSeconds - s0.kernelSeconds) / cpu : Number.NaN,
      rssBytes: s1.rssBytes,
      peakRssBytes: s1.peakRssBytes,
      rssPerConnectionBytes: (s1.rssBytes - baseline.rssBytes) / connections,
      marginalRssPerConnectionBytes: this.#marginalRssPerConnection,
      writeSyscallsPerFrame: delivered > 0 ? (s1.writeSyscalls - s0.writeSyscalls) / delivered : Number.NaN,
    }
  }
}

/** CLOCK_MONOTONIC in µs: the clock of V8 CPU profiles (`startTime`), shared by all processes. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n)
}

function figures(
  expected: number,
  delivered: number,
  reordered: number,
  histogram: LatencyHistogram,
  seconds: number,
): DirectionFigures {
  return {
    expected,
    delivered,
    deliveredPerSecond: delivered / seconds,
    lost: Math.max(0, expected - delivered),
    reordered,
    p50Ms: histogram.quantileUs(0.5) / 1000,
    p90Ms: histogram.quantileUs(0.9) / 1000,
    p99Ms: histogram.quantileUs(0.99) / 1000,
    maxMs: histogram.maxUs / 1000,
  }
}
