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
