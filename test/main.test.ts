/**
 * The `partyline` command as a process: it serves, and SIGTERM closes every socket with 1012
 * and exits on its own.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { HostPeer, PlayerPeer, until } from './helpers/server.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))

t.test('main - SIGTERM closes hosts and players with 1012, health turns away, the process exits 0', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', main, 'serve', '--port', '0', '--host', '127.0.0.1', '--shutdown-ms', '3000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  let exit: number | null | undefined
  child.on('exit', (code) => (exit = code))
  await until(() => /"port":\d+/.test(out), 'the listening log line', 20_000)
  const port = Number(/"port":(\d+)/.exec(out)![1])
  const server = { ws: `ws://127.0.0.1:${port}` }
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200)

  const host = new HostPeer(server)
  const { key } = await host.prepare()
  const player = new PlayerPeer(server, key)
  await player.opened
  await host.message('player_joined')

  child.kill('SIGTERM')
  t.equal((await player.closedWith()).code, 1012, 'player closed with 1012')
  t.equal((await host.closedWith()).code, 1012, 'host closed with 1012')
  await until(() => exit !== undefined, 'process exit', 10_000)
  t.equal(exit, 0)
  t.notMatch(out, /"token"|"sid"/, 'logs carry no token or sid')
})

t.test('main - unknown command exits 2 with usage', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', main, 'dance'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  t.equal(await new Promise((r) => child.on('exit', r)), 2)
  t.match(err, /unknown command "dance"/)
})
