/**
 * What a new user meets on the command line: help for each command, one line naming PORT
 * when the port is taken, a warning for a misspelled PARTYLINE_* variable, and a secret
 * setting that is refused without being echoed.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { ConfigError, loadSettings, unknownVariables } from '../src/config.js'
import { until } from './helpers/server.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))

/** Run `partyline …` to its end (bounded), with what it wrote. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import=tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const code = await new Promise<number | null>((r) => child.on('exit', r))
  clearTimeout(timer)
  return { code, out, err }
}

t.test('main - serve --help and robot --help print their usage and exit 0', async (t) => {
  const serve = await run(['serve', '--help'])
  t.equal(serve.code, 0)
  t.match(serve.out, /--max-players\s+PARTYLINE_MAX_PLAYERS/)
  const robot = await run(['robot', '--help'])
  t.equal(robot.code, 0)
  t.match(robot.out, /usage: partyline robot --target-country/)
  t.equal(robot.err, '')
})

t.test('main - a port already in use: one line naming PORT, exit 2', async (t) => {
  const blocker = createServer()
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
  t.teardown(() => blocker.close())
  const port = (blocker.address() as { port: number }).port
  const { code, err } = await run(['serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'silent'])
  t.equal(code, 2)
  t.equal(err, `partyline: port ${port} is already in use: set PORT (or --port) to a free port\n`, 'one line, no stack trace')
})

t.test('main - a misspelled PARTYLINE_ variable is named at start, with the setting it resembles', async (t) => {
  t.same(unknownVariables({ PARTYLINE_MAX_PLAYER: '4', PARTYLINE_MAX_PLAYERS: '4', PARTYLINE_WHATEVER_ELSE: '1', PATH: '/bin' }), [
    { name: 'PARTYLINE_MAX_PLAYER', suggestion: 'PARTYLINE_MAX_PLAYERS' },
    { name: 'PARTYLINE_WHATEVER_ELSE', suggestion: undefined },
  ])
  const child = spawn(process.execPath, ['--import=tsx', main, 'serve', '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PARTYLINE_HOST_GRACE: '100', PARTYLINE_CLICKPLANET: 'false' },
  })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  // The demo's address is the line after "listening": wait for it, not for the first.
  await until(() => out.includes('"demo":'), 'the server to listen and print the demo address', 20_000)
  t.match(err, /warning: PARTYLINE_HOST_GRACE is not a setting and is ignored \(did you mean PARTYLINE_HOST_GRACE_MS\?\)/)
  t.match(out, /"demo":\["http:\/\/127\.0\.0\.1:\d+\/demo"\]/, 'the demo page address is printed')
  child.kill('SIGTERM')
  await new Promise((r) => child.on('exit', r))
})

t.test('config - the admin token is empty or at least 16 characters, and a refusal never echoes it', async (t) => {
  t.equal(loadSettings({}, []).adminToken, '')
  t.equal(loadSettings({ PARTYLINE_ADMIN_TOKEN: 'a-long-enough-token' }, []).adminToken, 'a-long-enough-token')
  let caught: unknown
  try {
    loadSettings({ PARTYLINE_ADMIN_TOKEN: 'short-secret' }, [])
  } catch (e) {
    caught = e
  }
  t.ok(caught instanceof ConfigError)
  t.match((caught as Error).message, /PARTYLINE_ADMIN_TOKEN \(--admin-token\) must be empty \(admin view off\) or at least 16 characters: got 12 characters/)
  t.notMatch((caught as Error).message, /short-secret/)
})
