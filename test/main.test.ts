/**
 * The `partyline` command as a process: it serves, and SIGTERM closes every socket with 1012
 * and exits on its own.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { HostPeer, PlayerPeer, newSid, until } from './helpers/server.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))

t.test('main - SIGTERM closes hosts and players with 1012, refuses newcomers, and the process exits 0; logs carry no secrets', async (t) => {
  // trace: every log line the server can write is written, and none may carry a secret.
  const child = spawn(process.execPath, ['--import=tsx', main, 'serve', '--port', '0', '--host', '127.0.0.1', '--shutdown-ms', '3000', '--log-level', 'trace'], {
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

  const secrets = { name: 'room-name-7f3a', sid: newSid(24), fromPlayer: 'payload-from-player-91c2', toPlayer: 'payload-to-player-4d0e', badToken: 'wrong-token-5be1-aaaaaaaaaaaaaaaa' }
  const host = new HostPeer(server)
  const { key, token } = await host.prepare({ name: secrets.name })
  const player = new PlayerPeer(server, key, secrets.sid)
  await player.opened
  await host.message('player_joined')
  await host.message('state')
  player.send(secrets.fromPlayer)
  t.equal((await host.message('from_str')).data, secrets.fromPlayer)
  host.command({ cmd: 'to_str', data: secrets.toPlayer })
  t.equal(await player.next(), secrets.toPlayer)
  const prober = new HostPeer(server)
  await prober.opened
  prober.command({ cmd: 'resume', key, token: secrets.badToken })
  await prober.message('error')

  child.kill('SIGTERM')
  t.equal((await player.closedWith()).code, 1012, 'player closed with 1012')
  t.equal((await host.closedWith()).code, 1012, 'host closed with 1012')
  const newcomer = new HostPeer(server)
  const refused = await newcomer.opened.then(
    async () => `opened, then closed with ${(await newcomer.closedWith()).code}`,
    (err: Error) => `refused: ${err.message}`,
  )
  t.match(refused, /refused|closed with 1012/, `a connection after SIGTERM is not served (${refused})`)
  await until(() => exit !== undefined, 'process exit', 10_000)
  t.equal(exit, 0)
  t.match(out, /"msg":"room created"/, 'the logs were written')
  for (const [what, value] of Object.entries({ ...secrets, token })) t.notOk(out.includes(value), `logs do not contain the ${what}`)
})

t.test('main - unknown command exits 2 with usage', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', main, 'dance'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  t.equal(await new Promise((r) => child.on('exit', r)), 2)
  t.match(err, /unknown command "dance"/)
})
