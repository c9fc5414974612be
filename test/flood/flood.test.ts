/**
 * `partyline flood` as an operator runs it: a separate process playing rooms × players
 * against a real server, printing the figures (here as JSON, to check them).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { FloodReport } from '../../src/flood/flood-report.js'
import { testServer } from '../helpers/server.js'

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

function flood(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import=tsx', main, 'flood', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })))
}

t.test('flood - plays rooms × players both ways and reports every frame delivered, in order, with the server figures', async (t) => {
  const server = await testServer(t)
  const args = ['--url', server.ws, '--rooms', '2', '--players', '3', '--host-hz', '20', '--player-hz', '10', '--seconds', '1', '--warmup', '0.2']
  const { code, out, err } = await flood([...args, '--pid', String(process.pid), '--json'])
  t.equal(code, 0, err)
  const report = JSON.parse(out) as FloodReport
  t.equal(report.connections, 8, '2 hosts and 6 players')
  // 2 hosts × 20 Hz × 3 players down, 6 players × 10 Hz up, over about a second.
  t.ok(report.down.expected >= 60, `deliveries owed down: ${report.down.expected}`)
  t.ok(report.up.expected >= 30, `deliveries owed up: ${report.up.expected}`)
  for (const dir of ['down', 'up'] as const) {
    t.equal(report[dir].delivered, report[dir].expected, `${dir}: every frame arrived`)
    t.equal(report[dir].lost, 0, `${dir}: none lost`)
    t.equal(report[dir].reordered, 0, `${dir}: none reordered`)
    t.ok(report[dir].p50Ms > 0 && report[dir].p50Ms <= report[dir].p99Ms && report[dir].p99Ms <= report[dir].maxMs, `${dir}: latency percentiles in order`)
  }
  t.ok(report.server && report.server.usPerFrame > 0, 'server CPU per frame, from /proc')
  t.equal(report.disconnects, 0)

  const text = await flood(args)
  t.equal(text.code, 0, text.err)
  t.match(text.out, /host → players .* frames\/s, lost 0/, 'the human-readable table')
})

t.test('flood - a server that refuses the plan is a failed run (exit 1) that says why', async (t) => {
  const server = await testServer(t, { maxPlayers: 2 })
  const { code, err } = await flood(['--url', server.ws, '--rooms', '1', '--players', '3', '--seconds', '0.2', '--warmup', '0'])
  t.equal(code, 1)
  t.match(err, /partyline flood: .*(max_players|refused|error)/i)
})

t.test('flood - bad usage exits 2 naming the flag', async (t) => {
  for (const [args, re] of [
    [['--rooms', '0'], /--rooms must be an integer ≥ 1/],
    [['--url', 'http://127.0.0.1:1'], /--url must start with ws:\/\//],
    [['--seconds', '0'], /--seconds must be a number > 0/],
    [['--bytes', '4'], /--bytes must be an integer ≥/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ] as const) {
    const { code, err } = await flood([...args])
    t.equal(code, 2, args.join(' '))
    t.match(err, re)
  }
})

t.test('flood - a run the server refuses for its rooms-per-minute limit names the setting to raise', async (t) => {
  const server = await testServer(t, { roomsPerMinute: 2 })
  const { code, err } = await flood(['--url', server.ws, '--rooms', '3', '--players', '1', '--seconds', '0.2', '--warmup', '0'])
  t.equal(code, 1)
  t.match(err, /rate_limited/)
  t.match(err, /PARTYLINE_ROOMS_PER_MINUTE=60 npm start/, 'the setting and a value that lets this run through')
})

t.test('flood - --pid of `npm start` (a process that is not Node) follows it to the server under it, or refuses', async (t) => {
  // As `npm start` does: a non-Node parent (here a shell) whose child is the server.
  const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url))
  const shell = spawn('/bin/sh', ['-c', `"${process.execPath}" --import=tsx "${main}" serve --port 0 --host 127.0.0.1 --clickplanet false; true`], { stdio: ['ignore', 'pipe', 'ignore'] })
  t.teardown(() => {
    shell.kill('SIGKILL')
  })
  let out = ''
  shell.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const { until } = await import('../helpers/server.js')
  await until(() => /"port":\d+/.test(out), 'the server under the shell to listen', 20_000)
  const port = Number(/"port":(\d+)/.exec(out)![1])
  const run = await flood(['--url', `ws://127.0.0.1:${port}`, '--rooms', '1', '--players', '1', '--seconds', '0.5', '--warmup', '0', '--pid', String(shell.pid), '--json'])
  t.equal(run.code, 0, run.err)
  t.match(run.err, new RegExp(`--pid ${shell.pid} is not the server itself; measuring its partyline server process \\d+`))
  const report = JSON.parse(run.out) as FloodReport
  // The RSS tells the server (a Node process, well over 10 MB) from the shell (about 1 MB);
  // its CPU over half a second of one room may round to 0 ticks, but it is a number, never NaN.
  t.ok(report.server && Number.isFinite(report.server.cpuShare) && report.server.cpuShare >= 0 && report.server.rssBytes > 10e6, `the server's CPU and memory, not the shell's: ${report.server?.cpuShare}, ${report.server?.rssBytes} B`)

  // A process that is not Node and has no server under it is refused.
  const sleeper = spawn('/bin/sh', ['-c', 'sleep 30'], { stdio: 'ignore' })
  t.teardown(() => sleeper.kill('SIGKILL'))
  const refused = await flood(['--url', `ws://127.0.0.1:${port}`, '--pid', String(sleeper.pid)])
  t.equal(refused.code, 2)
  t.match(refused.err, /is not a Node process .* no partyline server runs under it/)
  const serverPid = Number(/process (\d+)/.exec(run.err)![1])
  process.kill(serverPid, 'SIGTERM')
})
