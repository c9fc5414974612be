/**
 * The descriptor limit: `partyline serve` runs with the soft limit raised to the hard one,
 * logs what it got, caps WebSockets below it by `PARTYLINE_FD_RESERVE`, and so keeps
 * answering `/healthz` and `/metrics` when the sockets have taken all they may. The process
 * runs under `prlimit` with a small limit, so a bounded number of sockets fills it.
 */
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { WebSocket } from 'ws'
import { connectionCap } from '../../src/transport/descriptor-limit.js'
import { until } from '../helpers/server.js'
import { attempt } from './upgrade-client.js'

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

interface Served {
  readonly child: ChildProcess
  readonly port: number
  log(): string
}

async function serveUnder(t: { teardown(fn: () => unknown): void }, nofile: string, args: string[]): Promise<Served> {
  const child = spawn('prlimit', [`--nofile=${nofile}`, process.execPath, '--import=tsx', main, 'serve', '--port', '0', '--host', '127.0.0.1', '--clickplanet', 'false', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  await until(() => /"port":\d+/.test(out), 'the listening log line', 20_000)
  return { child, port: Number(/"port":(\d+)/.exec(out)![1]), log: () => out }
}

t.test('descriptor limit - with the sockets at their cap, /healthz and /metrics still answer and upgrades get 503', async (t) => {
  const served = await serveUnder(t, '128:128', ['--fd-reserve', '64', '--hosts-per-address', '1000'])
  t.match(served.log(), /"soft":128,"hard":128,"msg":"descriptor limit"/, 'the limit is logged')
  t.match(served.log(), /"total":64,.*"msg":"connection caps"/, 'the cap is the limit less the reserve')
  const url = `ws://127.0.0.1:${served.port}/CREATE`
  const open: WebSocket[] = []
  t.teardown(() => open.forEach((ws) => ws.terminate()))
  const statuses = new Map<string, number>()
  for (let i = 0; i < 80; i++) {
    const a = await attempt(url)
    if (a.open) open.push(a.ws)
    const key = a.open ? 'open' : `${a.status} ${a.refused}`
    statuses.set(key, (statuses.get(key) ?? 0) + 1)
  }
  t.same(Object.fromEntries(statuses), { open: 64, '503 server-full': 16 })
  for (const path of ['/healthz', '/metrics', '/api/rooms']) {
    for (let i = 0; i < 5; i++) t.equal((await fetch(`http://127.0.0.1:${served.port}${path}`)).status, 200, `${path} answers while full (${i + 1})`)
  }
})

t.test('descriptor limit - the soft limit is raised to the hard one at start', async (t) => {
  const served = await serveUnder(t, '100:256', [])
  t.match(served.log(), /"soft":256,"hard":256,"msg":"descriptor limit"/)
})

t.test('descriptor limit - a total cap above what the limit allows is served with a warning naming the settings', async (t) => {
  const served = await serveUnder(t, '128:128', ['--max-connections', '500', '--fd-reserve', '64'])
  t.match(served.log(), /"level":40.*PARTYLINE_MAX_CONNECTIONS \(500\) is above the descriptor limit \(128\) less PARTYLINE_FD_RESERVE \(64\) = 64/)
  t.equal((await fetch(`http://127.0.0.1:${served.port}/healthz`)).status, 200)
})

t.test('descriptor limit - the cap: the setting, or the limit less the reserve', async (t) => {
  t.same(connectionCap(0, 256, { soft: 20000, hard: 20000 }), { total: 19744 })
  t.same(connectionCap(5000, 256, { soft: 20000, hard: 20000 }), { total: 5000 })
  t.match(connectionCap(19800, 256, { soft: 20000, hard: 20000 }), { total: 19800, warning: /above the descriptor limit/ })
  t.match(connectionCap(0, 256, { soft: 200, hard: 200 }), { total: 1, warning: /not above PARTYLINE_FD_RESERVE/ })
  t.match(connectionCap(0, 256, undefined), { total: Infinity, warning: /unknown/ })
  t.same(connectionCap(300, 256, undefined), { total: 300 })
})
