import { parseArgs } from 'node:util'
import { sleep } from './bounded.js'
import { Flood, type FloodPlan } from './flood.js'
import { formatReport } from './flood-report.js'
import { PAYLOAD_HEADER_BYTES } from './payload.js'
import { PartylineSystem } from './partyline-system.js'
import { resolveServerPid } from './server-pid.js'

const USAGE = `usage: partyline flood [options]
Plays a party game against a partyline server and prints throughput, loss, reordering and
latency both ways; with --pid (a server on this machine) also its CPU per frame, memory and
write syscalls.

  --url <ws url>        server to flood (default ws://127.0.0.1:8081)
  --rooms <n>           rooms, each with one host (default 10)
  --players <n>         players per room (default 8)
  --host-hz <n>         broadcasts per second from each host (default 20)
  --player-hz <n>       frames per second from each player (default 10)
  --bytes <n>           frame size, both ways, at least ${PAYLOAD_HEADER_BYTES} (default 64)
  --host-bytes <n>      host frame size, if different from --bytes
  --seconds <n>         measured window (default 10)
  --warmup <n>          seconds of traffic before the window (default 2)
  --pid <n>             the server's pid, to read /proc/<pid>
  --json                print the report as JSON
  -h, --help            this text`

/**
 * `partyline flood`: returns the exit code (0 done, 1 the run failed, 2 bad usage).
 * Every wait is bounded: connecting by a per-connection timeout, the run by its flags.
 */
export async function runFlood(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string', default: 'ws://127.0.0.1:8081' },
        rooms: { type: 'string', default: '10' },
        players: { type: 'string', default: '8' },
        'host-hz': { type: 'string', default: '20' },
        'player-hz': { type: 'string', default: '10' },
        bytes: { type: 'string', default: '64' },
        'host-bytes': { type: 'string' },
        seconds: { type: 'string', default: '10' },
        warmup: { type: 'string', default: '2' },
        pid: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    process.stderr.write(`partyline flood: ${(error as Error).message}\n${USAGE}\n`)
    return 2
  }
  const v = parsed.values
  if (v.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  let plan: FloodPlan
  let seconds: number
  let warmup: number
  let pid: number | undefined
  try {
    const bytes = integer('--bytes', v.bytes, PAYLOAD_HEADER_BYTES)
    plan = {
      rooms: integer('--rooms', v.rooms, 1),
      players: integer('--players', v.players, 1),
      hostHz: positive('--host-hz', v['host-hz']),
      playerHz: positive('--player-hz', v['player-hz']),
      playerBytes: bytes,
      hostBytes: v['host-bytes'] === undefined ? bytes : integer('--host-bytes', v['host-bytes'], PAYLOAD_HEADER_BYTES),
    }
    seconds = positive('--seconds', v.seconds)
    warmup = nonNegative('--warmup', v.warmup)
    pid = v.pid === undefined ? undefined : integer('--pid', v.pid, 1)
    if (!/^wss?:\/\//.test(v.url)) throw new UsageError(`--url must start with ws:// or wss:// (got '${v.url}')`)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`partyline flood: ${error.message}\n`)
    return 2
  }
  if (pid !== undefined) {
    const server = resolveServerPid(pid)
    if ('error' in server) {
      process.stderr.write(`partyline flood: ${server.error}\n`)
      return 2
    }
    if (server.followedFrom !== undefined) process.stderr.write(`partyline flood: --pid ${pid} is not the server itself; measuring its partyline server process ${server.pid}\n`)
    pid = server.pid
  }

  const flood = new Flood(new PartylineSystem(v.url), plan, pid === undefined ? {} : { serverPid: pid })
  try {
    await flood.connect()
    flood.start()
    await sleep(warmup * 1000)
    const report = await flood.measure({ windowMs: seconds * 1000, drainMs: 1000 })
    process.stdout.write(v.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`)
    return 0
  } catch (error) {
    const message = (error as Error).message
    process.stderr.write(`partyline flood: ${message}\n`)
    if (/rate_limited|too many rooms/.test(message)) {
      process.stderr.write(
        `partyline flood: the server refuses more than PARTYLINE_ROOMS_PER_MINUTE (--rooms-per-minute, default 30) new rooms a minute from one address, ` +
          `and this run opens ${plan.rooms}. Start the server with PARTYLINE_ROOMS_PER_MINUTE=${Math.max(plan.rooms * 2, 60)} (e.g. \`PARTYLINE_ROOMS_PER_MINUTE=${Math.max(plan.rooms * 2, 60)} npm start\`), ` +
          `and wait a minute: this address is refused until its minute has passed.\n`,
      )
    }
    return 1
  } finally {
    await flood.close()
  }
}

class UsageError extends Error {}

function integer(flag: string, raw: string, min: number): number {
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min} (got '${raw}')`)
  return n
}

function positive(flag: string, raw: string): number {
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a number > 0 (got '${raw}')`)
  return n
}

function nonNegative(flag: string, raw: string): number {
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number ≥ 0 (got '${raw}')`)
  return n
}
