/**
 * Hostile neighbours: scenario (a)'s party load (the bystanders) against partyline, once
 * quiet and once beside each attack of `hostile-attackers.ts` (a connection flood, stalled
 * readers, a frame flood) and all three together, in one run. Prints a table: the
 * bystanders' latency (p50, p99, max, send → receive, both directions), loss and
 * disconnects, the server's CPU per delivered bystander frame (its whole CPU, attacks
 * included: what the attacks cost it, the figure a noisy machine moves least), its peak RSS,
 * `/healthz` answers during the run, and what each attack met. Goal: bystander p99 within 2×
 * of the quiet run, RSS bounded by the settings. `sockets` (idle TCP connections) runs once
 * with the default HTTP connection cap and once without it (`sockets-uncapped`), side by side.
 *
 *   npm run bench:hostile    (about 4 minutes; --window <s>, --runs quiet,flood,stall,frames,all,sockets,sockets-uncapped)
 *
 * The server runs on core 0; the party generator and the attackers share core 1, the
 * attackers niced so that they take what the generator leaves (the generator's own figures,
 * CPU and loop delay, say how much they still cost it). Every loop is bounded in count and
 * time; traffic goes to 127.0.0.1 only (the attackers use other loopback source addresses
 * so that each is one address to the server).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { forEachBounded, sleep } from '../../src/flood/bounded.js'
import type { FloodReport } from '../../src/flood/flood-report.js'
import { BENCH_DIR, buildBench } from './build.js'
import { runGenerator } from './generator-process.js'
import type { AttackName } from './hostile-attackers.js'
import { scenarios } from './scenarios.js'
import { partylineUnavailable, pinnedNode, startServer } from './server-process.js'

const SERVER_CORE = 0
const LOAD_CORE = 1
const ATTACKER_NICE = 10
type RunName = 'quiet' | AttackName | 'all' | 'sockets-uncapped'
const RUNS: Readonly<Record<RunName, readonly AttackName[]>> = {
  quiet: [],
  flood: ['flood'],
  stall: ['stall'],
  frames: ['frames'],
  all: ['flood', 'stall', 'frames'],
  sockets: ['sockets'],
  'sockets-uncapped': ['sockets'],
}
/** Settings of one run on top of SETTINGS: the `sockets` attack once without the HTTP cap. */
const RUN_SETTINGS: Readonly<Partial<Record<RunName, Record<string, string>>>> = {
  'sockets-uncapped': { PARTYLINE_HTTP_CONNECTIONS_PER_ADDRESS: '1000000' },
}
/**
 * The server's settings for every run: the defaults, except what lets the bystanders' one
 * address (127.0.0.1) open 100 rooms of 8 players, which every address may then do too, a
 * total cap, and no click rate (the stall attack and the pre-fill click from one address each).
 */
const SETTINGS: Readonly<Record<string, string>> = {
  PARTYLINE_HOSTS_PER_ADDRESS: '100',
  PARTYLINE_PLAYERS_PER_ADDRESS: '800',
  PARTYLINE_JOIN_ATTEMPTS_PER_MINUTE: '30',
  PARTYLINE_MAX_CONNECTIONS: '4000',
  PARTYLINE_CLICK_RATE: '0',
}
/** Tiles owned before each run, so a full ownerships body is large (~2.7 MB) as in production. */
const PREFILL_TILES = 100_000

const { values } = parseArgs({
  options: { window: { type: 'string', default: '10' }, runs: { type: 'string', default: Object.keys(RUNS).join(',') } },
})
const runNames = values.runs.split(',') as RunName[]
for (const r of runNames) if (!(r in RUNS)) throw new Error(`unknown run ${r}; any of ${Object.keys(RUNS).join(',')}`)
const party = { ...scenarios({ quick: false, windowSeconds: Number(values.window) })[0]! }

interface RunResult {
  readonly name: RunName
  readonly report: FloodReport | undefined
  readonly error?: string
  readonly peakRssMiB: number
  readonly healthz: { ok: number; failed: number; p99Ms: number }
  readonly attacks: Record<string, Record<string, number>>
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : 0
  } catch {
    return 0
  }
}

function get(port: number, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: '127.0.0.6', agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', () => resolve(0))
    req.setTimeout(timeoutMs, () => req.destroy())
    req.end()
  })
}

async function prefill(port: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32, localAddress: '127.0.0.5' })
  await forEachBounded(PREFILL_TILES / 100, 32, async (batch) => {
    for (let i = 0; i < 100; i++) {
      const tile = batch * 100 + i
      const body = JSON.stringify({ data: [0x08, ...varint(tile), 0x12, 2, 0x66, 0x72] })
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/click', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume()
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`prefill click: HTTP ${res.statusCode}`))))
        })
        req.on('error', reject)
        req.end(body)
      })
    }
  })
  agent.destroy()
}

function varint(v: number): number[] {
  const out: number[] = []
  for (; v >= 0x80; v >>>= 7) out.push((v & 0x7f) | 0x80)
  out.push(v)
  return out
}

async function run(name: RunName): Promise<RunResult> {
  const server = await startServer('partyline', { core: SERVER_CORE, nice: 0, env: { ...SETTINGS, ...RUN_SETTINGS[name] } })
  const port = Number(new URL(server.url).port)
  let peakRssMiB = 0
  const health: number[] = []
  let healthFailed = 0
  let sampling = true
  const sampler = (async () => {
    for (let i = 0; sampling && i < 10_000; i++) {
      peakRssMiB = Math.max(peakRssMiB, rssMiB(server.pid))
      const t0 = performance.now()
      const status = await get(port, '/healthz', 2000)
      if (status === 200) health.push(performance.now() - t0)
      else healthFailed++
      await sleep(200)
    }
  })()
  let attackers: ReturnType<typeof spawn> | undefined
  let attackOut = ''
  try {
    await prefill(port)
    const attacks = RUNS[name]
    if (attacks.length > 0) {
      // Niced: the attackers take what the generator leaves of its core, not its share of it.
      const [command, args] = pinnedNode(LOAD_CORE, ATTACKER_NICE, [join(BENCH_DIR, 'build/hostile-attackers.js'), JSON.stringify({ port, attacks, maxMs: 120_000 })])
      attackers = spawn(command, args, { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'inherit'] })
      attackers.stdout!.setEncoding('utf8').on('data', (d: string) => (attackOut += d))
      await sleep(2000) // the attacks are under way before the bystanders arrive
    }
    const outcome = await runGenerator({ ...party, system: 'partyline', url: server.url, serverPid: server.pid }, { core: LOAD_CORE, nice: 0 }, 120_000)
    const attacked = attackers
    if (attacked) {
      const exited = new Promise((r) => attacked.once('exit', r))
      attacked.kill('SIGTERM')
      await Promise.race([exited, sleep(10_000)])
      attacked.kill('SIGKILL')
    }
    const line = attackOut.split('\n').find((l) => l.startsWith('RESULT '))
    const sorted = [...health].sort((a, b) => a - b)
    return {
      name,
      report: outcome.steps[0]?.report,
      ...(outcome.error ? { error: outcome.error } : {}),
      peakRssMiB,
      healthz: { ok: health.length, failed: healthFailed, p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? NaN },
      attacks: line ? (JSON.parse(line.slice(7)) as Record<string, Record<string, number>>) : {},
    }
  } finally {
    sampling = false
    await sampler
    attackers?.kill('SIGKILL')
    await server.stop()
  }
}

const f = (n: number | undefined, d = 1): string => (n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }))

async function main(): Promise<void> {
  const missing = partylineUnavailable()
  if (missing) throw new Error(missing)
  await buildBench()
  const results: RunResult[] = []
  for (const name of runNames) {
    console.error(`hostile: run ${name}…`)
    const r = await run(name)
    results.push(r)
    console.error(`  p99 ${f(r.report?.all.p99Ms, 2)} ms, peak RSS ${f(r.peakRssMiB)} MiB${r.error ? `, ${r.error}` : ''}`)
  }
  const quiet = results.find((r) => r.name === 'quiet')
  console.log(`\n**hostile neighbours: ${party.title}, beside each attack** (window ${values.window} s)\n`)
  console.log('| run | bystander p50 ms | p99 ms | × quiet | max ms | loss | disconnects | server peak RSS MiB | × quiet | /healthz ok / failed (p99 ms) | server CPU | server µs per bystander frame | × quiet | generator CPU, loop delay p99 ms | other load (cores) |')
  console.log('|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
  for (const r of results) {
    const a = r.report?.all
    const lossPct = a ? (a.lost / Math.max(1, a.expected)) * 100 : NaN
    console.log(
      `| ${r.name} | ${f(a?.p50Ms, 2)} | ${f(a?.p99Ms, 2)} | ${quiet?.report && a ? f(a.p99Ms / quiet.report.all.p99Ms, 2) + '×' : '—'} | ${f(a?.maxMs, 1)} | ${f(lossPct, 2)} % | ${r.report?.disconnects ?? '—'} | ${f(r.peakRssMiB)} | ${quiet ? f(r.peakRssMiB / quiet.peakRssMiB, 2) + '×' : '—'} | ${r.healthz.ok} / ${r.healthz.failed} (${f(r.healthz.p99Ms, 1)}) | ${f((r.report?.server?.cpuShare ?? NaN) * 100, 0)} % | ${f(r.report?.server?.usPerFrame, 1)} | ${quiet?.report?.server && r.report?.server ? f(r.report.server.usPerFrame / quiet.report.server.usPerFrame, 2) + '×' : '—'} | ${f((r.report?.generator.cpuShare ?? NaN) * 100, 0)} %, ${f(r.report?.generator.loopDelayP99Ms, 1)} | ${f(r.report?.machine.otherCores, 2)} |`,
    )
  }
  console.log('\nWhat the attacks met:\n')
  for (const r of results) {
    for (const [attack, c] of Object.entries(r.attacks)) {
      console.log(`- ${r.name} / ${attack}: ${Object.entries(c).map(([k, v]) => `${k} × ${v}`).join(', ')}`)
    }
    if (r.error) console.log(`- ${r.name}: ${r.error}`)
  }
  console.log(`\nserver settings: ${Object.entries(SETTINGS).map(([k, v]) => `${k}=${v}`).join(' ')} (the rest default); Node ${process.version}`)
}

await main()
